r"""Exponential time-differencing targets for TENG on a periodic grid (``scheme="etd1"``, ``"etd2"``, ``"etdrk4"``).

TENG's Euler and Heun targets are explicit: a mode of the linear part with symbol
:math:`\lambda_k` is stable only for :math:`\Delta t\,|\lambda_k| \lesssim 2`. Each step's fit error
lives on the whole sample grid, up to its Nyquist wavenumber, so a fourth-order term such as
Kuramoto–Sivashinsky's :math:`-\gamma u_{xxxx}` (:math:`\lambda_k = -\gamma k^4`, about
:math:`-8\cdot10^6` at :math:`k = 200`) makes those fit errors grow at any practical step.

Split the rate as :math:`F[u] = Lu + N(u)` with :math:`L` the linear, constant-coefficient part,
diagonal in the grid's Fourier modes (its symbol read off the problem's own rate, as the spectral
reference does: :func:`~pde_lab.solvers.reference.spectral.linear_symbol`), and integrate
:math:`L` exactly. With :math:`\varphi_1(z) = (e^z - 1)/z`, :math:`\varphi_2(z) = (e^z - 1 - z)/z^2`
and :math:`h = \Delta t`:

* ``etd1`` (exponential Euler): :math:`\hat u = e^{hL}u_n + h\varphi_1(hL)N(u_n) = u_n + h\varphi_1(hL)F[u_n]`;
* ``etd2`` (Cox–Matthews ETD2RK): the ``etd1`` target :math:`a` first, then
  :math:`a + h\varphi_2(hL)\,(N(u_a) - N(u_n))`, with :math:`N(u_a) - N(u_n) = F[u_a] - F[u_n] - L(u_a - u_n)`
  at the network :math:`u_a` fitted to :math:`a`. Second order.
* ``etdrk4`` (Cox–Matthews ETDRK4, as Kassam & Trefethen write it):
  with :math:`Q = \tfrac h2\varphi_1(hL/2)` the stage targets
  :math:`a = u_n + QF[u_n]`, :math:`b = e^{hL/2}u_n + QN(u_a)`,
  :math:`c = e^{hL/2}u_a + Q(2N(u_b) - N(u_n))`, and the step's
  :math:`e^{hL}u_n + h[(\varphi_1 - 3\varphi_2 + 4\varphi_3)N(u_n) + 2(\varphi_2 - 2\varphi_3)(N(u_a) + N(u_b))
  + (4\varphi_3 - \varphi_2)N(u_c)]`, each stage's network fitted before the next target is
  made. Fourth order; four fits per step. Its weights are the spectral reference's
  (:func:`pde_lab.reference.etdrk4.etdrk4_coefficients`).

All three are exact when :math:`F` is linear (up to the fits).

:math:`F` is TENG's as before (the network's exact derivatives); only the functions of
:math:`hL` act on grid values, by FFT. A stiff mode is damped by :math:`e^{h\lambda_k}` instead of
amplified, so the step is limited by the nonlinear part's time scale, not by the grid's highest
wavenumber. The grid must be TENG's periodic one (every axis periodic: uniform nodes without the
right end), and :math:`L` may not change in time (checked at both ends of the time span).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from pde_lab.problem import Problem

__all__ = ["EXPONENTIAL", "ExponentialTargets", "check_periodic_grid", "phi_functions"]

#: The exponential schemes, first to fourth order.
EXPONENTIAL = ("etd1", "etd2", "etdrk4")


def phi_functions(z: torch.Tensor, count: int = 2) -> tuple[torch.Tensor, ...]:
    r""":math:`\varphi_1, \dots, \varphi_{count}` of a complex tensor, to rounding:
    :math:`\varphi_k(z) = \bigl(e^z - \sum_{j<k} z^j/j!\bigr)/z^k`. By the closed forms for
    :math:`|z| > 2` (at most one digit of cancellation there), and near 0, where they cancel, as the
    first row of :math:`\exp` of the :math:`(k+1)\times(k+1)` matrix with :math:`z` in its corner
    and ones on its superdiagonal (scaling and squaring)."""
    z = torch.as_tensor(z).to(torch.complex128)
    flat = z.reshape(-1)
    small = flat.abs() <= 2
    safe = torch.where(small, torch.full_like(flat, 4.0), flat)
    phis, remainder, power = [], torch.expm1(safe), safe
    for k in range(1, count + 1):  # remainder: e^z - sum_{j<k} z^j / j!
        phis.append(remainder / power)
        remainder, power = remainder - power / math.factorial(k), power * safe
    if small.any():
        blocks = flat.new_zeros(int(small.sum()), count + 1, count + 1)
        blocks[:, 0, 0] = flat[small]
        for j in range(count):
            blocks[:, j, j + 1] = 1
        first_row = torch.linalg.matrix_exp(blocks)[:, 0]
        for k in range(1, count + 1):
            phis[k - 1][small] = first_row[:, k]
    return tuple(phi.reshape(z.shape) for phi in phis)


class ExponentialTargets:
    """The exponential schemes' targets of one problem on TENG's periodic sample grid, for a step ``dt``.

    Grid values are ``(n_points, n_fields)`` in the grid's ``"ij"`` order (points ordered as
    :meth:`~pde_lab.solvers.evolution.NetworkEvolution.sample_grid` makes them).
    """

    def __init__(self, problem: Problem, points: torch.Tensor, points_per_axis: int, dt: float,
                 solver: str = "TENG") -> None:
        from pde_lab.reference.etdrk4 import etdrk4_coefficients
        from pde_lab.solvers.reference.spectral import grid_rate, linear_symbol

        d, n_fields = problem.spatial_dim, len(problem.fields)
        self.shape = (points_per_axis,) * d
        lower, upper = (np.asarray(b, dtype=float) for b in problem.geometry.bounds)
        mesh = points.detach().cpu().numpy()
        rate = grid_rate(problem, mesh, self.shape, tuple(upper - lower))
        t0, t1 = problem.time_span
        symbol = linear_symbol(lambda v: rate(v, t0), n_fields, self.shape, solver)
        later = linear_symbol(lambda v: rate(v, t1), n_fields, self.shape, solver)
        if np.abs(later - symbol).max() > 1e-8 * (1 + np.abs(symbol).max()):
            raise ValueError(f"{solver}'s exponential schemes need a linear part that does not change in time")
        h, device = float(dt), points.device
        phi1, phi2 = phi_functions(h * torch.as_tensor(symbol), 2)
        # ETDRK4's E, E2, Q and the update weights h(φ1 - 3φ2 + 4φ3), h(φ2 - 2φ3), h(4φ3 - φ2): the
        # reference's own (contour integrals), which agree with these φ to rounding
        weights = etdrk4_coefficients(symbol, h)
        multipliers = {"L": torch.as_tensor(symbol), "phi1": phi1, "phi2": phi2,
                       **{name: torch.as_tensor(getattr(weights, field)) for name, field in
                          (("E", "exp_full"), ("E2", "exp_half"), ("Q", "q"), ("f1", "f1"), ("f2", "f2"), ("f3", "f3"))}}
        self.dt, self.multipliers = h, {k: v.to(device) for k, v in multipliers.items()}
        self.symbol = self.multipliers["L"]  # (fields, *shape)
        self.stiffness = float(h * np.abs(symbol.real).max())  # h max|Re λ|: explicit Euler needs ≲ 2

    def apply(self, name: str, values: torch.Tensor) -> torch.Tensor:
        """The diagonal operator ``name`` (``"L"``, ``"phi1"``, ``"E"``, ...) on grid values, by FFT."""
        spatial = tuple(range(1, len(self.shape) + 1))
        grid = values.T.reshape(values.shape[1], *self.shape)
        out = torch.fft.ifftn(self.multipliers[name] * torch.fft.fftn(grid, dim=spatial), dim=spatial).real
        return out.reshape(values.shape[1], -1).T.to(values.dtype)

    def linear(self, values: torch.Tensor) -> torch.Tensor:
        """:math:`Lu` of grid values, by FFT."""
        return self.apply("L", values)

    def step(self, scheme: str, values: torch.Tensor, rate: torch.Tensor, fit) -> None:
        """Run ``scheme``'s stages from the grid values and rate of :math:`u_n`. ``fit(target, c, last)``
        fits the network to a stage's ``target`` and returns the fitted network's grid values and rate
        at :math:`t_n + c h` (``None`` for the ``last`` stage, or where the fit broke down, which ends
        the step)."""
        h, apply = self.dt, self.apply
        if scheme == "etd1":
            fit(values + h * apply("phi1", rate), 1.0, True)
            return
        if scheme == "etd2":
            first = values + h * apply("phi1", rate)
            stage = fit(first, 1.0, False)
            if stage is not None:
                change = stage[1] - rate - self.linear(stage[0] - values)
                fit(first + h * apply("phi2", change), 1.0, True)
            return
        if scheme != "etdrk4":
            raise ValueError(f"unknown exponential scheme {scheme!r}")
        n_u = rate - self.linear(values)  # N = F - L u, here and at each fitted stage below
        a = fit(values + apply("Q", rate), 0.5, False)
        if a is None:
            return
        n_a = a[1] - self.linear(a[0])
        b = fit(apply("E2", values) + apply("Q", n_a), 0.5, False)
        if b is None:
            return
        n_b = b[1] - self.linear(b[0])
        c = fit(apply("E2", a[0]) + apply("Q", 2 * n_b - n_u), 1.0, False)
        if c is None:
            return
        n_c = c[1] - self.linear(c[0])
        fit(apply("E", values) + apply("f1", n_u) + 2 * apply("f2", n_a + n_b) + apply("f3", n_c), 1.0, True)


def check_periodic_grid(periodic: tuple[bool, ...], solver: str, scheme: str) -> None:
    """``ValueError`` unless every axis is periodic (the exponential schemes' FFT needs TENG's periodic grid)."""
    if not all(periodic):
        raise ValueError(f"{solver}'s scheme {scheme!r} applies exp(dt L) by FFT on the sample grid, which needs "
                         "Periodic conditions on every axis; use scheme='heun' for Dirichlet problems")
