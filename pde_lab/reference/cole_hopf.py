r"""Exact and reference solutions of the 1-D viscous Burgers benchmark of Raissi et al.

.. math::

   u_t + u u_x = \nu u_{xx}, \quad x \in [-1, 1],\ t \ge 0, \qquad
   u(x, 0) = -\sin(\pi x), \quad u(\pm 1, t) = 0, \quad \nu = 0.01/\pi.

Cole–Hopf: :math:`u = -2\nu\,\theta_x/\theta` with :math:`\theta_t = \nu\theta_{xx}`. Solving the
heat equation on the line with :math:`\theta_0(y) = f(y) = \exp(-\cos(\pi y)/(2\pi\nu))` gives
(Basdevant et al., Comput. Fluids 14 (1986) 23–41)

.. math::

   u(x, t) = -\frac{\int_{\mathbb{R}} \sin(\pi(x-\eta))\, f(x-\eta)\, e^{-\eta^2/4\nu t}\,d\eta}
                    {\int_{\mathbb{R}} f(x-\eta)\, e^{-\eta^2/4\nu t}\,d\eta}.

The solution is odd and 2-periodic, so it vanishes at :math:`x = \pm 1`: the Dirichlet problem
equals the periodic one. A shock-like layer of width :math:`O(\nu)` forms at :math:`x = 0` for
:math:`t \gtrsim 1/\pi`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.special import roots_hermite

from pde_lab.reference.spectral_1d import burgers_periodic_1d
from pde_lab.validation import check_positive

#: Viscosity of the benchmark, 0.01 / pi.
BURGERS_NU: float = 0.01 / np.pi

_CHUNK = 4096


def burgers_cole_hopf(
    x: np.ndarray | float,
    t: np.ndarray | float,
    nu: float = BURGERS_NU,
    n_quad: int = 200,
) -> np.ndarray:
    r"""Evaluate the Cole–Hopf solution :math:`u(x, t)` (module docstring) by Gauss–Hermite.

    The substitution :math:`\eta = 2\sqrt{\nu t}\, z` turns both integrals into
    :math:`\int g(z) e^{-z^2} dz \approx \sum_i w_i g(z_i)` with the ``n_quad`` Hermite nodes.
    The weights :math:`w_i f(x - 2\sqrt{\nu t} z_i)` span hundreds of orders of magnitude
    (:math:`f` alone spans :math:`e^{\pm 1/(2\pi\nu)} = e^{\pm 50}`), so they are formed as
    exponentials of :math:`\log w_i - \cos(\pi y_i)/(2\pi\nu)` shifted by their maximum; the
    shift cancels in the ratio.

    Accuracy verified for ``nu = 0.01/pi`` against adaptive ``scipy.integrate.quad`` of the
    same integrals (with breakpoints at the integrand's peak), over :math:`x \in [-1, 1]` with
    points inside the layer at :math:`x = 0`: max abs. difference ~2e-15 for
    :math:`t \in [0.05, 2]` with the default ``n_quad = 200`` (80 nodes: 7e-14 at
    :math:`t = 1`, 1e-8 at :math:`t = 2`; 40 nodes: 1e-5 at :math:`t = 1`). The needed number of
    nodes grows with :math:`\sqrt{t/\nu}`; raise ``n_quad`` for much larger :math:`t` or
    smaller :math:`\nu`. Cost :math:`O(n_{quad})` per point (256 x 100 points: ~0.2 s).

    Parameters
    ----------
    x, t : array_like
        Points and times, broadcast against each other; ``t >= 0``. At ``t = 0`` the result is
        exactly :math:`-\sin(\pi x)`.
    nu : float, optional
        Viscosity :math:`\nu > 0` (default 0.01/pi).
    n_quad : int, optional
        Number of Gauss–Hermite nodes (default 200).

    Returns
    -------
    np.ndarray
        :math:`u` with the broadcast shape of ``x`` and ``t``.
    """
    check_positive("nu", nu)
    if int(n_quad) != n_quad or n_quad < 2:
        raise ValueError(f"n_quad must be an integer >= 2, got {n_quad!r}.")
    x_b, t_b = np.broadcast_arrays(np.asarray(x, dtype=float), np.asarray(t, dtype=float))
    if not (np.all(np.isfinite(x_b)) and np.all(np.isfinite(t_b))):
        raise ValueError("x and t must be finite.")
    if np.any(t_b < 0):
        raise ValueError("t must be >= 0.")
    nodes, weights = roots_hermite(int(n_quad))
    keep = weights > 0  # the outermost weights underflow to 0 for n_quad > ~ 280
    nodes, log_w = nodes[keep], np.log(weights[keep])
    x_flat, t_flat = x_b.ravel(), t_b.ravel()
    u = -np.sin(np.pi * x_flat)
    positive = np.flatnonzero(t_flat > 0)
    for start in range(0, positive.size, _CHUNK):
        idx = positive[start : start + _CHUNK]
        y = x_flat[idx, None] - 2 * np.sqrt(nu * t_flat[idx, None]) * nodes[None, :]
        exponent = log_w[None, :] - np.cos(np.pi * y) / (2 * np.pi * nu)
        weight = np.exp(exponent - exponent.max(axis=1, keepdims=True))
        u[idx] = -np.sum(np.sin(np.pi * y) * weight, axis=1) / np.sum(weight, axis=1)
    return u.reshape(x_b.shape)


def burgers_dirichlet_reference(
    nu: float = BURGERS_NU,
    nx: int = 1024,
    dt: float = 5e-4,
    t_final: float = 1.0,
    save_times: np.ndarray | None = None,
    initial_condition: Callable[[np.ndarray], np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""Burgers :math:`u_t + uu_x = \nu u_{xx}` on :math:`[-1, 1]`, :math:`u(\pm1, t) = 0`.

    Method: sine-series (odd-reflection) Fourier pseudo-spectral in space + ETDRK4 in time.
    Burgers is invariant under :math:`u(x) \mapsto -u(2c - x)`, so the odd reflection of the
    solution about :math:`x = 1` (period 4 on :math:`[-1, 3)`) solves the periodic problem and
    vanishes at :math:`x = \pm 1` for all times. The periodic problem on :math:`2 n_x` points is
    solved by :func:`pde_lab.reference.spectral_1d.burgers_periodic_1d`: spectral in space
    when the reflected data are smooth (true when all even derivatives of :math:`u_0` vanish at
    :math:`\pm 1`, e.g. :math:`u_0 = -\sin(\pi x)`; otherwise algebraic), order 4 in time.

    Accuracy for the benchmark (``nu = 0.01/pi``), relative L2 against
    :func:`burgers_cole_hopf` on the grid at :math:`t = 0.25 / 0.5 / 1`: defaults
    ``nx = 1024``, ``dt = 5e-4``: 2.8e-12 / 3.0e-8 / 2.0e-10 (~0.6 s on one core);
    ``nx = 768``: 2e-13 / 1.9e-6 / 3.7e-8; ``nx = 512``: 2e-13 / 1.2e-4 / 9.3e-6. The space
    error peaks near :math:`t = 0.5`, when the layer at :math:`x = 0` is steepest (width
    ~0.01). Cost: ``t_final/dt`` steps of four FFT pairs of length :math:`2n_x`.

    Parameters
    ----------
    nu : float, optional
        Viscosity (default 0.01/pi).
    nx : int, optional
        Number of grid intervals on :math:`[-1, 1]` (default 1024).
    dt : float, optional
        Time step; must divide every save time (default 5e-4).
    t_final : float, optional
        Final time (default 1).
    save_times : np.ndarray, optional
        Output times, default ``[0, t_final]``.
    initial_condition : callable, optional
        :math:`u_0(x)` on :math:`[-1, 1]` with :math:`u_0(\pm 1) = 0`; default
        :math:`-\sin(\pi x)`.

    Returns
    -------
    x : np.ndarray, shape (nx + 1,)
        :math:`x_j = -1 + 2j/n_x`, both endpoints included.
    times : np.ndarray, shape (n_times,)
    u : np.ndarray, shape (n_times, nx + 1)
    """
    if int(nx) != nx or nx < 2:
        raise ValueError(f"nx must be an integer >= 2, got {nx!r}.")
    u0 = initial_condition or (lambda x: -np.sin(np.pi * x))
    x_ext = -1.0 + 2.0 * np.arange(2 * nx) / nx  # [-1, 3), period 4
    inside = x_ext <= 1.0
    values = np.where(
        inside, u0(np.where(inside, x_ext, 0.0)), -u0(np.where(inside, 0.0, 2 - x_ext))
    )
    values = np.asarray(values, dtype=float)
    if abs(values[0]) > 1e-12 or abs(values[nx]) > 1e-12:
        raise ValueError("initial_condition must vanish at x = -1 and x = 1.")
    values[0] = values[nx] = 0.0
    times, u = burgers_periodic_1d(values, 4.0, nu, dt, t_final, save_times)
    return x_ext[: nx + 1], times, u[:, : nx + 1]
