r"""Unforced 2D Navier–Stokes on the unit torus: the PI-HC-MoE benchmark (Chalapathi, Du &
Krishnapriyan, ICLR 2024, section 5.2).

Vorticity–stream-function form on :math:`[0, 1)^2`, fields ``(w, psi)``, Reynolds number
:math:`1/\nu` (paper: :math:`10^4`), :math:`t \in [0, T]` (paper: :math:`T = 5`):

.. math::

    w_t + \psi_y\,w_x - \psi_x\,w_y - \nu\,\Delta w = 0, \qquad \Delta\psi + w = 0,

so the velocity is :math:`(\psi_y, -\psi_x)`. No forcing: the flow decays slowly and
transports its initial vorticity.

Initial vorticity: a seeded zero-mean Gaussian random field with the periodic kernel of
length scale :math:`\ell` (paper: 0.8), the product over the two axes of

.. math:: k(r) = \exp\!\Big(-\frac{2\sin^2(\pi r)}{\ell^2}\Big)
          = \sum_m e^{-z} I_m(z)\, e^{2\pi i m r}, \qquad z = \ell^{-2},

so the Fourier coefficient of wave vector :math:`(m, n)` has variance
:math:`e^{-2z} I_m(z) I_n(z)` (modified Bessel :math:`I_m`); the :math:`(0, 0)` mode is
dropped (a periodic vorticity has zero mean) and :math:`|m|, |n| \le` ``INITIAL_MODES``
(the largest variance left out is 1.3e-10 at :math:`\ell = 0.8`, a standard deviation of
1e-5). The field is a closed-form Fourier sum, evaluable anywhere, and so is its stream
function :math:`\hat\psi = \hat w / (4\pi^2 |(m, n)|^2)`.
The paper's data generator is not published; its kernel's amplitude is taken as 1 here.

The parameter ``stream_function = ("psi", "w")`` says that ``psi`` is the zero-mean solution
of :math:`-\Delta\psi = w`: grid solvers (``hc-moe``) compute it by FFT instead of solving for
it, as the paper does.

Reference: Fourier pseudo-spectral + ETDRK4 (2/3 dealiasing) on a ``REFERENCE_GRID``² grid
(:func:`pde_lab.reference.navier_stokes_2d.navier_stokes_vorticity_2d`).
"""

from __future__ import annotations

import math
import time

import numpy as np
import torch

from geometries import Rectangle
from pde_lab import Periodic, Problem
from pde_lab.solution import Solution, Status
from pde_lab.validation import check_positive

__all__ = ["initial_modes", "vorticity_decay"]

#: Largest |m|, |n| of the initial Fourier sum (the first left out, e^{-2z} I_11(z) I_0(z), is 1.3e-10 at ℓ = 0.8).
INITIAL_MODES = 10
#: Reference grid, time step and saves per evaluation interval (ν = 1e-4, T = 5: 128² is within
#: 2.7e-5 of 256², 64² is 5.7e-3 off).
REFERENCE_GRID, REFERENCE_DT, REFERENCE_SAVES_PER_INTERVAL = 128, 5e-3, 2


def initial_modes(length_scale: float, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""Wave vectors ``(M, 2)`` (integers, one of each pair :math:`\pm k`) and coefficients ``a, b``:
    :math:`w_0 = \sum a\cos 2\pi k\cdot x + b\sin 2\pi k\cdot x`."""
    from scipy.special import ive

    z = 1.0 / length_scale**2
    top = INITIAL_MODES
    wave = np.array([(m, n) for m in range(top + 1) for n in range(-top, top + 1) if m > 0 or n > 0], dtype=float)
    variance = ive(np.abs(wave[:, 0]), z) * ive(np.abs(wave[:, 1]), z)
    a, b = np.random.default_rng(seed).standard_normal((2, len(wave)))
    scale = np.sqrt(2 * variance)  # the pair ±k carries twice the variance of one coefficient
    return wave, scale * a, scale * b


def _initial(length_scale: float, seed: int):
    wave, a, b = initial_modes(length_scale, seed)
    inverse_laplacian = 1.0 / (4 * math.pi**2 * np.sum(wave**2, axis=1))

    def initial(points: torch.Tensor) -> torch.Tensor:
        like = dict(dtype=points.dtype, device=points.device)
        k = torch.as_tensor(wave, **like)
        phase = 2 * math.pi * points[:, :2] @ k.T
        terms = torch.cos(phase) * torch.as_tensor(a, **like) + torch.sin(phase) * torch.as_tensor(b, **like)
        w = terms.sum(1)
        psi = terms @ torch.as_tensor(inverse_laplacian, **like)
        return torch.stack([w, psi], dim=1)

    return initial


def _residual(f, p):
    transport = f.w_t + f.psi_y * f.w_x - f.psi_x * f.w_y - p.nu * f.lap("w")
    return transport, f.lap("psi") + f.w


def _reference(problem: Problem) -> Solution:
    from pde_lab.memory import PeakMemory
    from pde_lab.reference.navier_stokes_2d import navier_stokes_vorticity_2d, stream_function
    from pde_lab.solvers.reference.grid_field import GridField

    n = REFERENCE_GRID
    t0, t1 = problem.time_span
    evaluation_times = np.unique(problem.evaluation_points()[:, -1])
    saves = np.linspace(0.0, t1 - t0, REFERENCE_SAVES_PER_INTERVAL * (len(evaluation_times) - 1) + 1)
    dt = saves[1] / math.ceil(saves[1] / REFERENCE_DT - 1e-9)
    axis = np.arange(n) / n
    start = time.perf_counter()
    with PeakMemory("cpu") as memory:
        grid = np.stack(np.meshgrid(axis, axis, indexing="ij"), -1).reshape(-1, 2)
        w0 = problem.initial_condition(torch.as_tensor(grid, dtype=torch.float64))[:, 0].numpy().reshape(n, n)
        times, w = navier_stokes_vorticity_2d(w0 - w0.mean(), dt, t1 - t0, saves, 1.0, problem.parameters.nu)
        values = np.stack([w, stream_function(w, 1.0)], axis=-1)
    spectrum = np.abs(np.fft.fft2(w[-1])) ** 2
    m = np.abs(np.fft.fftfreq(n, 1.0 / n))
    outer = np.hypot(m[:, None], m[None, :]) > n / 4  # above half the dealiased band
    stats = {"wall_s": time.perf_counter() - start, "peak_mem_mb": memory.peak_mb, "iterations": round((t1 - t0) / dt),
             "device": "cpu", "dtype": "float64", "grid": [n, n], "dt": float(dt),
             "enstrophy_tail": float(spectrum[outer].sum() / spectrum.sum())}  # resolution check
    status, message = Status.CONVERGED, f"Fourier pseudo-spectral + ETDRK4, {n}² grid, dt = {dt:.3g}"
    if not np.all(np.isfinite(values)):
        status, message = Status.DIVERGED, f"{message}: non-finite vorticity"
    field = GridField([axis, axis], values, times + t0, (1.0, 1.0), upsample=2)
    return Solution(problem, field, "spectral-vorticity", status, message, stats, {}, field)


def vorticity_decay(nu: float = 1e-4, t_final: float = 5.0, length_scale: float = 0.8, seed: int = 0) -> Problem:
    """Unforced vorticity on the unit torus from a periodic-kernel random field (PI-HC-MoE's NS)."""
    for name, value in (("nu", nu), ("t_final", t_final), ("length_scale", length_scale)):
        check_positive(name, value)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    return Problem(
        name="navier-stokes-decay",
        geometry=Rectangle((0.0, 0.0), (1.0, 1.0)),
        fields=("w", "psi"),
        residual=_residual,
        boundary_conditions=(Periodic(0), Periodic(1)),
        initial_condition=_initial(float(length_scale), seed),
        time_span=(0.0, float(t_final)),
        parameters={"nu": float(nu), "length_scale": float(length_scale), "seed": seed,
                    "stream_function": ("psi", "w")},
        reference_solver=_reference,
        description=f"unforced vorticity on the unit torus, ν = {nu:g}, periodic-kernel GRF ℓ = {length_scale:g}, "
                    f"seed {seed}; spectral reference",
    )
