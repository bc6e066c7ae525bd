r"""Chemotaxis: cells ``n`` drifting up the gradient of a chemical signal ``c``.

``keller_segel(chi=1, domain="square", t_final=0.5)`` -- the parabolic–parabolic
Keller–Segel system (Keller & Segel 1970, J. Theor. Biol. 26, 399):

.. math::

    n_t = \Delta n - \chi\nabla\cdot(n\nabla c), \qquad c_t = \Delta c - c + n,

``indirect_signalling(eps=1, tau=1, domain="square", t_final=0.5)`` -- chemotaxis driven by
an intermediate signal ``w`` ("Parabolic-elliptic and indirect-direct simplifications in
chemotaxis systems driven by indirect signalling", the project's seed abstract):

.. math::

    n_t = \Delta n - \nabla\cdot(n\nabla c), \qquad
    \varepsilon c_t = \Delta c - c + w, \qquad
    \varepsilon w_t = \tau\Delta w - w + n .

Domain: the square :math:`[-1, 1]^2` or the unit disk; homogeneous Neumann (no-flux)
conditions for every field, so :math:`\int_\Omega n` is conserved. Initial data: the smooth
positive, off-centre bump :math:`n_0 = 1 + 4 e^{-10|x - (0.1, 0.05)|^2}` (its normal
derivative on the boundary is at most 0.025, 0.2% of its largest gradient) and signals equal
to it, :math:`c_0 (= w_0) = n_0`, so that with :math:`\chi = 0` the cells follow the Neumann
heat equation and :math:`c = n` for all time. The mass (5.26 on the square, 4.40 on the
disk) stays below the 2D blow-up threshold :math:`8\pi/\chi` (:math:`4\pi/\chi` for
concentration at the boundary) for :math:`\chi \le 2`.

Reference: P2 finite elements on ``geometry.mesh(h)`` (``h = 0.1`` on the square, 0.15 on
the disk) and BDF2 with linear IMEX steps (:mod:`pde_lab.reference.chemotaxis_fem`), mass
conserved to round-off; the time step divides the instants of
``problem.evaluation_points()`` (``dt <= 1/300``), every step is saved and evaluated in time
by cubic Lagrange interpolation. Error at the defaults, against a run with ``h/2`` and
``dt/4``: about 5e-4 relative L2 over the evaluation points, at most 3e-3 of max n, in the
initial transient (BDF2 starts with one backward-Euler step); with :math:`\chi = 0` on the
square, 2e-4 against the exact cosine series.
"""

from __future__ import annotations

import functools
import math
import time

import numpy as np
import torch

from geometries import Disk, Rectangle
from pde_lab import Neumann, Problem
from pde_lab.solution import Solution, Status
from pde_lab.solvers.reference.grid_field import FEMTimeSeries

#: Mesh size per domain, element order and largest time step of the FEM references.
FEM_H, FEM_ORDER, FEM_DT = {"square": 0.1, "disk": 0.15}, 2, 1 / 300
#: Centre, height and sharpness of the initial bump.
BUMP_CENTER, BUMP_HEIGHT, BUMP_SHARPNESS = (0.1, 0.05), 4.0, 10.0
DOMAINS = {
    "square": lambda: Rectangle((-1.0, -1.0), (1.0, 1.0)),
    "disk": lambda: Disk((0.0, 0.0), 1.0),
}


def _check(name: str, value: float, allow_zero: bool = False) -> float:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or value < 0 or (value == 0 and not allow_zero):
        kind = "non-negative" if allow_zero else "positive"
        raise ValueError(f"{name} must be a {kind} finite number, got {value!r}")
    return float(value)


def _geometry(domain: str):
    if not isinstance(domain, str) or domain not in DOMAINS:
        raise ValueError(f"unknown domain {domain!r}; choose one of {sorted(DOMAINS)}")
    return DOMAINS[domain]()


def bump(x, y):
    """The initial density :math:`1 + 4 e^{-10|x - (0.1, 0.05)|^2}` (numpy or torch)."""
    exp = torch.exp if isinstance(x, torch.Tensor) else np.exp
    cx, cy = BUMP_CENTER
    return 1 + BUMP_HEIGHT * exp(-BUMP_SHARPNESS * ((x - cx) ** 2 + (y - cy) ** 2))


def _initial(n_fields: int):
    return lambda points: bump(points[:, 0], points[:, 1])[:, None].repeat(1, n_fields)


def _chemotactic_drift(f, density: str, signal: str) -> torch.Tensor:
    r""":math:`\nabla\cdot(n\nabla c) = \nabla n\cdot\nabla c + n\,\Delta c`."""
    return (f.grad(density) * f.grad(signal)).sum(dim=1) + f.d(density) * f.lap(signal)


def _no_flux(fields: tuple[str, ...]) -> tuple[Neumann, ...]:
    return tuple(Neumann(0.0, field=name) for name in fields)


def _fem_reference(problem: Problem, kernel, h: float) -> Solution:
    """Run ``kernel(mesh, t_final=, dt=, save_times=, order=, time_scheme=)``, wrap it."""
    from pde_lab.memory import PeakMemory

    t0, t1 = problem.time_span
    evaluation_times = np.unique(problem.evaluation_points()[:, -1])
    interval = (t1 - t0) / (len(evaluation_times) - 1)
    dt = interval / math.ceil(interval / FEM_DT - 1e-9)
    saves = dt * np.arange(round((t1 - t0) / dt) + 1)  # every step
    start = time.perf_counter()
    with PeakMemory("cpu") as memory:
        mesh = problem.geometry.mesh(h)
        result = kernel(
            mesh, t_final=t1 - t0, dt=dt, save_times=saves, order=FEM_ORDER, time_scheme="bdf2"
        )
        snapshots = np.stack([result.fields[name] for name in problem.fields], axis=-1)
    field = FEMTimeSeries(result.basis, result.times + t0, snapshots)
    stats = {
        "wall_s": time.perf_counter() - start,
        "peak_mem_mb": memory.peak_mb,
        "iterations": len(result.step_times) - 1,
        "device": "cpu",
        "dtype": "float64",
        "dofs": int(result.basis.N),
        "h": h,
        "order": FEM_ORDER,
        "dt": dt,
        "mass_drift": result.mass_drift,
        "min_n": float(np.min(result.min_n)),
    }
    status = Status.CONVERGED if result.status == "success" else Status.DIVERGED
    message = f"P{FEM_ORDER} FEM (h = {h}) + BDF2, dt = {dt:.3g}: {result.message}"
    return Solution(problem, field, "fem-chemotaxis", status, message, stats, {}, result)


def _keller_segel_reference(problem: Problem, h: float) -> Solution:
    from pde_lab.reference.chemotaxis_fem import keller_segel as kernel

    chi = problem.parameters.chi
    return _fem_reference(problem, lambda mesh, **steps: kernel(mesh, bump, bump, chi, **steps), h)


def _indirect_reference(problem: Problem, h: float) -> Solution:
    from pde_lab.reference.chemotaxis_fem import indirect_signalling as kernel

    p = problem.parameters
    return _fem_reference(
        problem, lambda mesh, **steps: kernel(mesh, bump, bump, bump, p.eps, p.tau, **steps), h
    )


def keller_segel(chi: float = 1.0, domain: str = "square", t_final: float = 0.5) -> Problem:
    """Keller–Segel n_t = Δn − χ∇·(n∇c), c_t = Δc − c + n, no flux; FEM reference."""
    chi, t_final = _check("chi", chi, allow_zero=True), _check("t_final", t_final)
    geometry = _geometry(domain)
    return Problem(
        name="keller-segel",
        geometry=geometry,
        fields=("n", "c"),
        rate=lambda f, p: (
            f.lap("n") - p.chi * _chemotactic_drift(f, "n", "c"),
            f.lap("c") - f.c + f.n,
        ),
        boundary_conditions=_no_flux(("n", "c")),
        initial_condition=_initial(2),
        time_span=(0.0, t_final),
        parameters={"chi": chi},
        reference_solver=functools.partial(_keller_segel_reference, h=FEM_H[domain]),
        description=f"Keller–Segel chemotaxis, χ = {chi:g}, {domain}, no flux; P2 FEM reference",
    )


def indirect_signalling(
    eps: float = 1.0, tau: float = 1.0, domain: str = "square", t_final: float = 0.5
) -> Problem:
    """Indirect-signalling chemotaxis (n, c, w) with no flux; FEM reference."""
    eps, tau, t_final = _check("eps", eps), _check("tau", tau), _check("t_final", t_final)
    geometry = _geometry(domain)
    return Problem(
        name="chemotaxis-indirect",
        geometry=geometry,
        fields=("n", "c", "w"),
        rate=lambda f, p: {
            "n": f.lap("n") - _chemotactic_drift(f, "n", "c"),
            "c": (f.lap("c") - f.c + f.w) / p.eps,
            "w": (p.tau * f.lap("w") - f.w + f.n) / p.eps,
        },
        boundary_conditions=_no_flux(("n", "c", "w")),
        initial_condition=_initial(3),
        time_span=(0.0, t_final),
        parameters={"eps": eps, "tau": tau},
        reference_solver=functools.partial(_indirect_reference, h=FEM_H[domain]),
        description=f"indirect-signalling chemotaxis, ε = {eps:g}, τ = {tau:g}, {domain}, no flux",
    )
