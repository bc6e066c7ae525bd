r"""Incompressible Navier–Stokes problems in two dimensions.

Velocity–pressure form, fields ``(u, v, p)``, kinematic viscosity :math:`\nu`:

.. math::

    \mathbf u_t + (\mathbf u\cdot\nabla)\mathbf u + \nabla p - \nu\Delta\mathbf u = 0,
    \qquad \nabla\cdot\mathbf u = 0,

given as a residual (momentum x, momentum y, continuity); steady problems drop
:math:`\mathbf u_t`.

``kovasznay(reynolds=40)`` -- steady flow behind a grid (Kovasznay 1948, Proc. Camb. Phil.
Soc. 44, 58) on :math:`[-0.5, 1] \times [-0.5, 1.5]`, :math:`\nu = 1/\mathrm{Re}`, exact

.. math::

    u = 1 - e^{\lambda x}\cos 2\pi y, \quad v = \frac{\lambda}{2\pi} e^{\lambda x}\sin 2\pi y,
    \quad p = \tfrac12 (1 - e^{2\lambda x}), \quad
    \lambda = \tfrac{\mathrm{Re}}{2} - \sqrt{\tfrac{\mathrm{Re}^2}{4} + 4\pi^2};

Dirichlet ``u, v`` from it on the whole boundary and ``p`` on the outflow :math:`x = 1`
(which fixes the pressure constant), as in DeepXDE's Kovasznay example.

``cavity(reynolds=100)`` -- lid-driven cavity on :math:`[0, 1]^2`: :math:`u = 1` on the lid
:math:`y = 1` (the two top corners belong to the no-slip walls), :math:`\mathbf u = 0` on the
other walls; no closed form. Reference: Taylor–Hood P2/P1 + Newton
(:func:`pde_lab.reference.navier_stokes_fem.steady_navier_stokes`, ``h = 0.05``), within 1%
of Ghia, Ghia & Shin (1982, J. Comput. Phys. 48, 387) at the centrelines for Re = 100;
pressure of zero mean (the PDE fixes it only up to a constant).

``taylor_green(nu=0.01, t_final=1)`` -- the decaying Taylor–Green vortex on the
:math:`2\pi`-periodic square, :math:`F = e^{-2\nu t}`:

.. math::

    u = \sin x\cos y\,F, \quad v = -\cos x\sin y\,F, \quad p = \tfrac14(\cos 2x + \cos 2y)F^2.

``torus(nu=0.01, t_final=1, seed=0)`` -- decaying turbulence on the :math:`2\pi`-torus in
vorticity form, the setting of the causal PINN (Wang, Sankaran & Perdikaris 2022,
"Respecting causality is all you need for training physics-informed neural networks"):
fields ``(u, v)``, :math:`\omega = v_x - u_y`,

.. math::

    \omega_t + u\,\omega_x + v\,\omega_y - \nu\Delta\omega = 0, \qquad u_x + v_y = 0.

Initial vorticity: a seeded random Fourier sum :math:`\omega_0 = \sum_k a_k\cos k\cdot x +
b_k \sin k\cdot x` over the integer wave vectors with :math:`1 \le |k| \le 4` (one of each
pair :math:`\pm k`), :math:`a_k, b_k \sim N(0, 1)` scaled to unit RMS speed; the velocity
comes analytically from the stream function, :math:`-\Delta\psi = \omega_0`,
:math:`(u, v) = (\psi_y, -\psi_x)`, so it is divergence-free and evaluable anywhere.
(The paper draws its initial state with JAX-CFD; ours is a closed form of the same kind.)
Reference: Fourier pseudo-spectral + ETDRK4 on a 128² grid
(:func:`pde_lab.reference.navier_stokes_2d.navier_stokes_vorticity_2d`), velocities through
:func:`~pde_lab.reference.navier_stokes_2d.velocity_from_vorticity`.
"""

from __future__ import annotations

import math
import time

import numpy as np
import torch

from geometries import Rectangle
from pde_lab import Dirichlet, Periodic, Problem
from pde_lab.solution import Solution, Status
from pde_lab.validation import check_positive

#: Mesh size of the cavity reference: Ghia within 1%, Botella–Peyret extrema within 3e-5.
CAVITY_H = 0.05
#: Grid, target time step and saved instants per evaluation interval of the torus reference.
TORUS_GRID, TORUS_DT, TORUS_SAVES_PER_INTERVAL = 128, 1.5e-3, 2
#: Largest wave number and RMS speed of the torus's initial state.
TORUS_MAX_WAVENUMBER, TORUS_RMS_SPEED = 4, 1.0


def _navier_stokes(f, nu: float, unsteady: bool) -> tuple[torch.Tensor, ...]:
    """Momentum x, momentum y and continuity residuals of the velocity–pressure form."""
    momentum_x = f.u * f.u_x + f.v * f.u_y + f.p_x - nu * f.lap("u")
    momentum_y = f.u * f.v_x + f.v * f.v_y + f.p_y - nu * f.lap("v")
    if unsteady:
        momentum_x, momentum_y = f.u_t + momentum_x, f.v_t + momentum_y
    return momentum_x, momentum_y, f.div(("u", "v"))


# ------------------------------------------------------------------------------ Kovasznay
def _kovasznay_exact(points: torch.Tensor, reynolds: float) -> torch.Tensor:
    lam = reynolds / 2 - math.sqrt(reynolds**2 / 4 + 4 * math.pi**2)
    x, y = points[:, 0], points[:, 1]
    decay = torch.exp(lam * x)
    u = 1 - decay * torch.cos(2 * math.pi * y)
    v = lam / (2 * math.pi) * decay * torch.sin(2 * math.pi * y)
    return torch.stack([u, v, 0.5 * (1 - decay**2)], dim=1)


def kovasznay(reynolds: float = 40.0) -> Problem:
    """Steady Kovasznay flow on [-0.5, 1] × [-0.5, 1.5] with its exact solution (u, v, p)."""
    reynolds = check_positive("reynolds", reynolds)

    def boundary(column: int):
        return lambda points: _kovasznay_exact(points, reynolds)[:, column]

    return Problem(
        name="navier-stokes-kovasznay",
        geometry=Rectangle((-0.5, -0.5), (1.0, 1.5)),
        fields=("u", "v", "p"),
        residual=lambda f, p: _navier_stokes(f, 1 / p.reynolds, unsteady=False),
        boundary_conditions=(
            Dirichlet(boundary(0), field="u"),
            Dirichlet(boundary(1), field="v"),
            Dirichlet(boundary(2), where=_on_outflow, field="p"),
        ),
        parameters={"reynolds": reynolds},
        exact_solution=lambda points, p: _kovasznay_exact(points, p.reynolds),
        description=f"steady Navier–Stokes, Kovasznay flow at Re = {reynolds:g}; exact (u, v, p)",
    )


# ---------------------------------------------------------------------- lid-driven cavity
def _face_tolerance(points: torch.Tensor) -> float:
    """How close to a face counts as on it: a few ulps of the points' dtype (1 - 1e-8 is 1 in float32)."""
    return 16 * torch.finfo(points.dtype).eps


def _on_outflow(points: torch.Tensor) -> torch.Tensor:
    """The outflow face x = 1."""
    return points[:, 0] > 1 - _face_tolerance(points)


def _lid_speed(points: torch.Tensor) -> torch.Tensor:
    """u on the walls: 1 on the lid y = 1 without its end points, 0 elsewhere."""
    x, y = points[:, 0], points[:, 1]
    tol = _face_tolerance(points)  # a fixed 1e-10 would leave no lid at all in float32
    on_lid = (y > 1 - tol) & (x > tol) & (x < 1 - tol)
    return on_lid.to(points.dtype)


def _cavity_reference(problem: Problem) -> Solution:
    from pde_lab.memory import PeakMemory
    from pde_lab.reference.navier_stokes_fem import lid_driven_cavity_velocity, steady_navier_stokes
    from pde_lab.solvers.reference.probes import probe_matrix

    reynolds = problem.parameters.reynolds
    # Reynolds-number continuation above 100 (Newton from a Stokes guess converges up to ~400)
    continuation = tuple(1 / r for r in (100.0, 400.0, 1000.0, 3200.0) if r < reynolds)
    start = time.perf_counter()
    with PeakMemory("cpu") as memory:
        mesh = problem.geometry.mesh(CAVITY_H)
        result = steady_navier_stokes(
            mesh, 1 / reynolds, lid_driven_cavity_velocity, nu_continuation=continuation
        )
    components = [
        *result.velocity_basis.split(result.velocity_dofs),
        (result.pressure_dofs, result.pressure_basis),
    ]

    def field(points: np.ndarray) -> np.ndarray:
        return np.column_stack([probe_matrix(basis, points) @ dofs for dofs, basis in components])

    stats = {
        "wall_s": time.perf_counter() - start,
        "peak_mem_mb": memory.peak_mb,
        "iterations": len(result.residual_history) - 1,
        "device": "cpu",
        "dtype": "float64",
        "h": CAVITY_H,
        "triangles": int(mesh.t.shape[1]),
        "newton_residual": float(result.residual_history[-1]),
    }
    status = Status.CONVERGED if result.converged else Status.FAILED
    message = f"Taylor–Hood P2/P1 + Newton, h = {CAVITY_H}: {result.message}"
    return Solution(problem, field, "fem-taylor-hood", status, message, stats, {}, result)


def cavity(reynolds: float = 100.0) -> Problem:
    """Lid-driven cavity on the unit square; Taylor–Hood FEM reference (u, v, zero-mean p)."""
    reynolds = check_positive("reynolds", reynolds)
    return Problem(
        name="navier-stokes-cavity",
        geometry=Rectangle((0.0, 0.0), (1.0, 1.0)),
        fields=("u", "v", "p"),
        residual=lambda f, p: _navier_stokes(f, 1 / p.reynolds, unsteady=False),
        boundary_conditions=(Dirichlet(_lid_speed, field="u"), Dirichlet(0.0, field="v")),
        parameters={"reynolds": reynolds},
        reference_solver=_cavity_reference,
        description=f"lid-driven cavity at Re = {reynolds:g}; Taylor–Hood FEM reference (Ghia 1982)",
        gauge=("p",),  # velocity-only walls: p is known up to a constant
    )


# --------------------------------------------------------------------------- Taylor–Green
def _taylor_green_exact(points: torch.Tensor, nu: float) -> torch.Tensor:
    x, y = points[:, 0], points[:, 1]
    decay = torch.exp(-2 * nu * points[:, 2]) if points.shape[1] > 2 else torch.ones_like(x)
    u = torch.sin(x) * torch.cos(y) * decay
    v = -torch.cos(x) * torch.sin(y) * decay
    p = 0.25 * (torch.cos(2 * x) + torch.cos(2 * y)) * decay**2
    return torch.stack([u, v, p], dim=1)


def taylor_green(nu: float = 0.01, t_final: float = 1.0) -> Problem:
    """Decaying Taylor–Green vortex on the 2π-periodic square; exact (u, v, p)."""
    nu, t_final = check_positive("nu", nu), check_positive("t_final", t_final)
    return Problem(
        name="navier-stokes-taylor-green",
        geometry=Rectangle((0.0, 0.0), (2 * math.pi, 2 * math.pi)),
        fields=("u", "v", "p"),
        residual=lambda f, p: _navier_stokes(f, p.nu, unsteady=True),
        boundary_conditions=(Periodic(0), Periodic(1)),
        initial_condition=lambda points: _taylor_green_exact(points[:, :2], nu),
        time_span=(0.0, t_final),
        parameters={"nu": nu},
        exact_solution=lambda points, p: _taylor_green_exact(points, p.nu),
        description=f"Taylor–Green vortex, ν = {nu:g}, 2π-periodic; exact (u, v, p)",
        gauge=("p",),  # periodic in space: p(t) is known up to a constant at each instant
    )


# ---------------------------------------------------------------------------------- torus
def random_vortex_modes(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Wave vectors ``(m, 2)`` and coefficients ``a, b`` of the torus's initial vorticity.

    :math:`\\omega_0 = \\sum_k a_k \\cos(k\\cdot x) + b_k \\sin(k\\cdot x)` over integer
    :math:`k` with :math:`1 \\le |k| \\le` ``TORUS_MAX_WAVENUMBER`` in the upper half plane;
    the mean square speed is :math:`\\sum_k (a_k^2 + b_k^2)/(2|k|^2)`, scaled to
    ``TORUS_RMS_SPEED**2``.
    """
    top = TORUS_MAX_WAVENUMBER
    wave = np.array(
        [
            (kx, ky)
            for kx in range(top + 1)
            for ky in range(-top, top + 1)
            if (kx > 0 or ky > 0) and kx * kx + ky * ky <= top * top
        ],
        dtype=float,
    )
    a, b = np.random.default_rng(seed).standard_normal((2, len(wave)))
    mean_square = np.sum((a**2 + b**2) / (2 * np.sum(wave**2, axis=1)))
    scale = TORUS_RMS_SPEED / math.sqrt(mean_square)
    return wave, scale * a, scale * b


def _stream_velocity(seed: int):
    r""":math:`(u, v) = (\psi_y, -\psi_x)`, :math:`\psi = \sum (a\cos + b\sin)(k\cdot x)/|k|^2`."""
    wave, a, b = random_vortex_modes(seed)
    weight = 1 / np.sum(wave**2, axis=1)

    def velocity(points: torch.Tensor) -> torch.Tensor:
        k = torch.as_tensor(wave, dtype=points.dtype, device=points.device)
        phase = points[:, :2] @ k.T
        ca, cb = (
            torch.as_tensor(c * weight, dtype=points.dtype, device=points.device) for c in (a, b)
        )
        g = torch.cos(phase) * cb - torch.sin(phase) * ca  # psi_y = ky g, psi_x = kx g
        return torch.stack([g @ k[:, 1], -(g @ k[:, 0])], dim=1)

    return velocity


def _vorticity_residual(f, p) -> tuple[torch.Tensor, torch.Tensor]:
    vorticity_t = f.v_xt - f.u_yt
    vorticity_x, vorticity_y = f.v_xx - f.u_xy, f.v_xy - f.u_yy
    laplacian = f.v_xxx + f.v_xyy - f.u_xxy - f.u_yyy
    transport = vorticity_t + f.u * vorticity_x + f.v * vorticity_y - p.nu * laplacian
    return transport, f.u_x + f.v_y


def _torus_reference(problem: Problem) -> Solution:
    from pde_lab.memory import PeakMemory
    from pde_lab.reference.navier_stokes_2d import (
        kinetic_energy,
        navier_stokes_vorticity_2d,
        velocity_from_vorticity,
    )
    from pde_lab.reference.spectral_2d import wavenumbers_2d
    from pde_lab.solvers.reference.grid_field import GridField

    n, length = TORUS_GRID, 2 * math.pi
    t0, t1 = problem.time_span
    evaluation_times = np.unique(problem.evaluation_points()[:, -1])
    saves = np.linspace(0.0, t1 - t0, TORUS_SAVES_PER_INTERVAL * (len(evaluation_times) - 1) + 1)
    dt = saves[1] / math.ceil(saves[1] / TORUS_DT - 1e-9)
    axis = length * np.arange(n) / n
    start = time.perf_counter()
    with PeakMemory("cpu") as memory:
        grid = np.stack(np.meshgrid(axis, axis, indexing="ij"), axis=-1).reshape(-1, 2)
        initial = problem.initial_condition(torch.as_tensor(grid, dtype=torch.float64))
        u0, v0 = np.asarray(initial, dtype=float).reshape(n, n, 2).transpose(2, 0, 1)
        _, _, kx, ky = wavenumbers_2d(n, length)
        spectrum = 1j * kx * np.fft.rfft2(v0) - 1j * ky * np.fft.rfft2(u0)  # ω = v_x − u_y
        spectrum[0, 0] = 0.0
        omega0 = np.fft.irfft2(spectrum, s=(n, n))
        times, omega = navier_stokes_vorticity_2d(
            omega0, dt, t1 - t0, saves, length, problem.parameters.nu
        )
        u, v = velocity_from_vorticity(omega, length)
        field = GridField(
            [axis, axis], np.stack([u, v], axis=-1), times + t0, (length, length), upsample=2
        )
    energy = kinetic_energy(omega[[0, -1]], length)
    final = np.abs(np.fft.rfft2(omega[-1])) ** 2
    outer = np.hypot(kx, ky) > n / 4  # wave numbers above half the dealiased band
    stats = {
        "wall_s": time.perf_counter() - start,
        "peak_mem_mb": memory.peak_mb,
        "iterations": round((t1 - t0) / dt),
        "device": "cpu",
        "dtype": "float64",
        "grid": [n, n],
        "dt": float(dt),
        "energy_initial": float(energy[0]),
        "energy_final": float(energy[1]),
        "enstrophy_tail": float(final[outer].sum() / final.sum()),  # resolution check
    }
    status, message = (
        Status.CONVERGED,
        f"Fourier pseudo-spectral + ETDRK4, {n}² grid, dt = {dt:.3g}",
    )
    if not np.all(np.isfinite(omega)):
        status, message = Status.DIVERGED, f"{message}: non-finite vorticity; lower TORUS_DT"
    return Solution(problem, field, "spectral-vorticity", status, message, stats, {}, field)


def torus(nu: float = 1e-2, t_final: float = 1.0, seed: int = 0) -> Problem:
    """Decaying 2D turbulence on the 2π-torus in vorticity form (causal PINN); spectral reference."""
    nu, t_final = check_positive("nu", nu), check_positive("t_final", t_final)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    return Problem(
        name="navier-stokes-torus",
        geometry=Rectangle((0.0, 0.0), (2 * math.pi, 2 * math.pi)),
        fields=("u", "v"),
        residual=_vorticity_residual,
        boundary_conditions=(Periodic(0), Periodic(1)),
        initial_condition=_stream_velocity(seed),
        time_span=(0.0, t_final),
        parameters={"nu": nu},
        reference_solver=_torus_reference,
        description=f"2D turbulence on the 2π-torus, vorticity form, ν = {nu:g}, seed {seed}",
    )
