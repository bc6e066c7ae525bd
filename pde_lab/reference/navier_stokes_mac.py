r"""Lid-driven cavity by Chorin's projection on a staggered (MAC) grid, with a pluggable
pressure solver: CG, AMG-PCG or DCDM.

The incompressible Navier–Stokes equations on :math:`[0, 1]^2`,

.. math::

    \mathbf u_t + (\mathbf u\cdot\nabla)\mathbf u = -\nabla p + \nu\Delta\mathbf u, \qquad
    \nabla\cdot\mathbf u = 0,

no slip on the walls and :math:`u = U` on the lid :math:`y = 1`, are marched to a steady
state. Each step of size :math:`\Delta t`:

1. **Predictor** (explicit Euler, central differences on the staggered grid, the wall
   conditions through ghost values :math:`u_g = 2U_{wall} - u`):
   :math:`\mathbf u^* = \mathbf u^n + \Delta t\,(-(\mathbf u^n\cdot\nabla)\mathbf u^n + \nu\Delta\mathbf u^n)`.
2. **Projection:** with the face gradient :math:`G` and cell divergence :math:`D`
   (:math:`DG` is the 5-point Laplacian with zero-flux walls), solve
   :math:`A\phi = -h^2 D\mathbf u^*`, :math:`A = -h^2DG` the Neumann matrix of
   :class:`~pde_lab.linalg.poisson_fd.PoissonGrid` (singular, consistent: the constant is
   its null space), and set :math:`\mathbf u^{n+1} = \mathbf u^* - G\phi` (so
   :math:`p = \phi/\Delta t`). This is the pressure projection of a fluid solver, the
   system DCDM was designed for.

The steady state of this scheme is the second-order MAC discretisation of the steady
equations (the time step only decides the path): the tests compare the velocity at the cell
centres with the Taylor–Hood reference of ``problems.navier_stokes.cavity`` (itself within
1% of Ghia, Ghia & Shin 1982) and find first-order convergence to it, limited by the lid's
corner singularities.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from pde_lab.validation import check_int, check_positive

__all__ = ["CavityResult", "cavity", "pressure_solver"]


@dataclass
class CavityResult:
    """Face velocities ``u`` ``(n+1, n)`` and ``v`` ``(n, n+1)``, pressure ``p`` ``(n, n)``
    (zero mean), and ``stats``: steps, final time, steady residual, pressure iterations
    per step, wall times."""

    u: np.ndarray
    v: np.ndarray
    p: np.ndarray
    stats: dict[str, Any] = field(default_factory=dict)

    @property
    def n(self) -> int:
        return self.p.shape[0]

    def centres(self) -> np.ndarray:
        """Cell centres ``(n², 2)`` in C order of ``p``."""
        x = (np.arange(self.n) + 0.5) / self.n
        return np.stack(np.meshgrid(x, x, indexing="ij"), axis=-1).reshape(-1, 2)

    def velocity_at_centres(self) -> np.ndarray:
        """``(n², 2)``: the face velocities averaged to the cell centres."""
        u = 0.5 * (self.u[1:, :] + self.u[:-1, :])
        v = 0.5 * (self.v[:, 1:] + self.v[:, :-1])
        return np.stack([u.ravel(), v.ravel()], axis=1)


def pressure_solver(name: str, n: int, tol: float = 1e-8, network: Any = None,
                    max_iterations: int = 1000) -> Callable[[np.ndarray], tuple[np.ndarray, int]]:
    """``b -> (phi, iterations)`` for the Neumann cell system of an ``n × n`` cavity.

    ``name``: ``"cg"``, ``"amg"`` (pyamg V-cycle PCG, set up once) or ``"dcdm"`` (needs a
    trained 2D :class:`~pde_lab.linalg.dcdm_net.DCDMNet` as ``network``, best one with
    ``padding="replicate"`` trained on ``box_operators(2, settings, dirichlet=False)``: 10
    iterations per step at 64² where CG takes 170; iteration in float64 on the CPU). Each solve starts from zero and stops at relative residual ``tol``;
    ``b`` loses its mean first (the singular system is consistent only for mean-zero ``b``,
    which the divergence is up to rounding).
    """
    from pde_lab.linalg import PoissonGrid, dcdm, make_preconditioner, pcg

    grid = PoissonGrid((n, n), dirichlet=False)
    if name in ("cg", "amg"):
        matrix = grid.matrix()
        preconditioner = None
        if name == "amg":
            from scipy.sparse.linalg import LinearOperator

            cycle = make_preconditioner("amg", matrix)

            def mean_free_cycle(r: np.ndarray) -> np.ndarray:
                # The V-cycle on the singular system leaks into the constants (its smoother's
                # spectral estimate starts from a random vector); CG then stalls near 1e-7 in
                # about one run in three. Projecting both sides onto mean zero keeps the
                # preconditioner SPD on the range of A: 9-10 iterations at tol 1e-10, n = 24.
                z = cycle @ (r - r.mean())
                return z - z.mean()

            preconditioner = LinearOperator(matrix.shape, matvec=mean_free_cycle, dtype=float)

        def solve(b: np.ndarray) -> tuple[np.ndarray, int]:
            result = pcg(matrix, (b - b.mean()).ravel(), preconditioner, tol=tol, max_iterations=max_iterations)
            if not result.converged:
                raise RuntimeError(f"pressure solve ({name}): {result.message}")
            return result.x.reshape(n, n), result.iterations

        return solve
    if name == "dcdm":
        import torch

        from pde_lab.linalg.dcdm_net import as_direction

        if network is None or getattr(network, "dim", None) != 2:
            raise ValueError("pressure_solver('dcdm') needs a trained 2D DCDMNet as network=")
        operator = grid.operator("cpu", torch.float64)
        direction = as_direction(network, operator)

        def solve(b: np.ndarray) -> tuple[np.ndarray, int]:
            result = dcdm(operator, torch.as_tensor(b - b.mean()), direction, tol=tol, max_iterations=max_iterations)
            if not result.converged:
                raise RuntimeError(f"pressure solve (dcdm): {result.message}")
            return result.x.numpy(), result.iterations

        return solve
    raise ValueError(f"pressure solver must be 'cg', 'amg' or 'dcdm', got {name!r}")


def cavity(n: int = 32, reynolds: float = 100.0, lid: float = 1.0, pressure: str = "amg", network: Any = None,
           tol: float = 1e-8, steady_tol: float = 1e-6, t_final: float = 60.0, dt: float | None = None,
           progress: bool | None = None) -> CavityResult:
    """March the cavity on ``n × n`` cells to steady state (``max |u^{n+1} - u^n| / Δt <
    steady_tol``) or ``t_final``.

    ``dt`` defaults to 0.8 × the explicit stability limit
    :math:`\\min(h^2/(4\\nu), 2\\nu/U^2, h/U)`; ``pressure``, ``network``, ``tol``: see
    :func:`pressure_solver`.
    """
    from tqdm.auto import tqdm

    n = check_int("n", n, 4)
    check_positive("reynolds", reynolds)
    check_positive("lid", lid)
    h, nu = 1.0 / n, lid / reynolds  # unit cavity: Re = U L / nu
    limit = min(h * h / (4 * nu), 2 * nu / lid**2, h / lid)
    dt = 0.8 * limit if dt is None else float(dt)
    if not 0 < dt <= limit:
        raise ValueError(f"dt must be in (0, {limit:.3g}] (explicit stability), got {dt!r}")
    solve = pressure_solver(pressure, n, tol, network)
    u, v, phi = np.zeros((n + 1, n)), np.zeros((n, n + 1)), np.zeros((n, n))
    iterations: list[int] = []
    steps = int(np.ceil(t_final / dt))
    start, solve_s, change = time.perf_counter(), 0.0, np.inf
    bar = tqdm(range(steps), desc=f"cavity {n}² ({pressure})", disable=not progress if progress is not None else None,
               leave=False)
    for step in bar:
        u_star, v_star = _predictor(u, v, h, nu, lid, dt)
        b = -h * h * _divergence(u_star, v_star, h)
        solve_start = time.perf_counter()
        phi, count = solve(b)
        solve_s += time.perf_counter() - solve_start
        iterations.append(count)
        u_new, v_new = _project(u_star, v_star, phi, h)
        change = max(np.abs(u_new - u).max(), np.abs(v_new - v).max()) / dt
        u, v = u_new, v_new
        if step % 50 == 0:
            bar.set_postfix(change=f"{change:.1e}", refresh=False)
        if change < steady_tol:
            break
    bar.close()
    p = phi / dt
    stats = {"steps": len(iterations), "t": len(iterations) * dt, "dt": dt, "steady_change": float(change),
             "converged": bool(change < steady_tol), "pressure_iterations_mean": float(np.mean(iterations)),
             "pressure_iterations_max": int(np.max(iterations)), "wall_s": time.perf_counter() - start,
             "pressure_solve_s": solve_s, "max_divergence": float(np.abs(_divergence(u, v, h)).max()),
             "pressure": pressure}
    return CavityResult(u, v, p - p.mean(), stats)


def _divergence(u: np.ndarray, v: np.ndarray, h: float) -> np.ndarray:
    return (u[1:, :] - u[:-1, :] + v[:, 1:] - v[:, :-1]) / h


def _project(u: np.ndarray, v: np.ndarray, phi: np.ndarray, h: float) -> tuple[np.ndarray, np.ndarray]:
    """Subtract the face gradient of ``phi`` on the interior faces (walls keep zero flux)."""
    u, v = u.copy(), v.copy()
    u[1:-1, :] -= (phi[1:, :] - phi[:-1, :]) / h
    v[:, 1:-1] -= (phi[:, 1:] - phi[:, :-1]) / h
    return u, v


def _predictor(u: np.ndarray, v: np.ndarray, h: float, nu: float, lid: float, dt: float):
    """Explicit Euler of advection (central, advective form) and diffusion on the interior faces."""
    # ghost values across the walls: tangential u beyond y = 0 and y = 1 (the lid), v beyond x = 0, 1
    ug = np.concatenate([-u[:, :1], u, 2 * lid - u[:, -1:]], axis=1)  # (n+1, n+2)
    vg = np.concatenate([-v[:1, :], v, -v[-1:, :]], axis=0)  # (n+2, n+1)

    uc = u[1:-1, :]
    u_x = (u[2:, :] - u[:-2, :]) / (2 * h)
    u_y = (ug[1:-1, 2:] - ug[1:-1, :-2]) / (2 * h)
    v_at_u = 0.25 * (v[:-1, :-1] + v[1:, :-1] + v[:-1, 1:] + v[1:, 1:])
    lap_u = (u[2:, :] + u[:-2, :] + ug[1:-1, 2:] + ug[1:-1, :-2] - 4 * uc) / (h * h)

    vc = v[:, 1:-1]
    v_y = (v[:, 2:] - v[:, :-2]) / (2 * h)
    v_x = (vg[2:, 1:-1] - vg[:-2, 1:-1]) / (2 * h)
    u_at_v = 0.25 * (u[:-1, :-1] + u[1:, :-1] + u[:-1, 1:] + u[1:, 1:])
    lap_v = (v[:, 2:] + v[:, :-2] + vg[2:, 1:-1] + vg[:-2, 1:-1] - 4 * vc) / (h * h)

    u_star, v_star = u.copy(), v.copy()
    u_star[1:-1, :] = uc + dt * (-(uc * u_x + v_at_u * u_y) + nu * lap_u)
    v_star[:, 1:-1] = vc + dt * (-(u_at_v * v_x + vc * v_y) + nu * lap_v)
    return u_star, v_star
