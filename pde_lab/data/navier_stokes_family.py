r"""The Navier–Stokes family of the FNO paper: 2D vorticity on the unit torus.

:math:`\nu = 10^{-3}`, map :math:`w|_{t=1..10} \mapsto w|_{t=11..50}`. Members are written in
vorticity–stream-function form, fields ``(w, psi)``:

.. math::

    w_t + \psi_y w_x - \psi_x w_y - \nu\Delta w - f = 0, \qquad \Delta\psi + w = 0,
    \qquad f = 0.1(\sin 2\pi(x+y) + \cos 2\pi(x+y)),

on :math:`[0, 1)^2`, over :math:`(t_{in}, T]` from :math:`w(t_{in})`; the observed history
:math:`w(1), \dots, w(t_{in})` is a parameter of the member (the operator's input). The
machinery is in :mod:`pde_lab.data.families`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from pde_lab.data.families import (
    Family,
    SnapshotGrid,
    stride,
    torch_points,
)
from pde_lab.data.grf import sample_seed
from pde_lab.problem import Problem
from pde_lab.reference.navier_stokes_2d import stream_function
from pde_lab.solution import Solution, Status
from pde_lab.validation import check_int, check_positive

__all__ = ["NavierStokesFamily"]


def _vorticity_residual(f, p):
    import torch

    phase = 2 * math.pi * (f.x + f.y)
    forcing = 0.1 * (torch.sin(phase) + torch.cos(phase))
    transport = f.w_t + f.psi_y * f.w_x - f.psi_x * f.w_y - p.nu * f.lap("w") - forcing
    return transport, f.lap("psi") + f.w


@dataclass(frozen=True)
class NavierStokesFamily(Family):
    r"""2D Navier–Stokes vorticity on the unit torus, the FNO data set (module docstring).

    Parameters
    ----------
    nu
        Viscosity (paper: 1e-3, 1e-4, 1e-5).
    t_in, t_final
        Observed instants :math:`w(1..t_{in})` (the input) and the horizon; the target is
        :math:`w(t_{in}+1..T)` (paper, ν = 1e-3: 10 and 50).
    resolution, reference_resolution, dt
        Data grid (paper: 64), reference grid (paper: 256) and ETDRK4 step of
        :func:`~pde_lab.reference.navier_stokes_2d.navier_stokes_vorticity_2d`.
    seed
        Member ``i`` is seeded by ``(seed, i)``.

    Initial vorticity: :math:`w_0 \sim N(0, 7^{3/2}(-\Delta + 49 I)^{-5/2})`, scaled as the
    FNO generator (see :func:`~pde_lab.reference.navier_stokes_2d.gaussian_random_field_2d`).
    """

    nu: float = 1e-3
    t_in: int = 10
    t_final: int = 50
    resolution: int = 64
    reference_resolution: int = 256
    dt: float = 2.5e-3
    seed: int = 0

    name = "navier-stokes"
    member_name = "navier-stokes-vorticity"
    fno_settings: ClassVar[dict[str, Any]] = {"modes": 8, "width": 20, "batch_size": 10}

    def __post_init__(self) -> None:
        check_positive("nu", self.nu), check_positive("dt", self.dt), check_int("seed", self.seed, 0)
        check_int("t_in", self.t_in), check_int("t_final", self.t_final, self.t_in + 1)
        stride(check_int("reference_resolution", self.reference_resolution, 8), check_int("resolution", self.resolution, 4), True)

    def _solve(self, w0: np.ndarray, duration: float, saves: np.ndarray) -> np.ndarray:
        from pde_lab.reference.navier_stokes_2d import fno_forcing, navier_stokes_vorticity_2d

        n = w0.shape[-1]
        dt = 1.0 / math.ceil(1.0 / self.dt - 1e-9)  # divides the unit save interval
        _, omega = navier_stokes_vorticity_2d(w0 - w0.mean(), dt, duration, saves, 1.0, self.nu, fno_forcing(n, 1.0))
        return omega

    def problem(self, index: int) -> Problem:
        from pde_lab.reference.navier_stokes_2d import gaussian_random_field_2d

        alpha, tau = 2.5, 7.0
        w0 = gaussian_random_field_2d(self.reference_resolution, 1.0, alpha, tau, math.sqrt(2) * tau ** (alpha - 1),
                                      sample_seed(self.seed, index))
        history = self._solve(w0, float(self.t_in), np.arange(1.0, self.t_in + 1))
        return self.member(history)

    def member(self, history: np.ndarray) -> Problem:
        """The member observed as ``history`` = :math:`w(1..t_{in})`, shape ``(t_in, n, n)``."""
        from geometries import Rectangle
        from pde_lab.conditions import Periodic
        from pde_lab.solvers.reference.grid_field import GridField

        history = np.asarray(history, dtype=float)
        if history.ndim != 3 or history.shape[0] != self.t_in or history.shape[1] != history.shape[2]:
            raise ValueError(f"history must have shape ({self.t_in}, n, n), got {history.shape}")
        n = history.shape[-1]
        last = GridField([np.arange(n) / n] * 2, np.stack([history[-1], stream_function(history[-1], 1.0)], -1),
                         None, [1.0, 1.0], upsample=2)

        def initial(points):
            import torch

            values = last(points[:, :2].detach().cpu().double().numpy())
            return torch.as_tensor(values, dtype=points.dtype, device=points.device)

        return Problem(
            name=self.member_name, geometry=Rectangle((0.0, 0.0), (1.0, 1.0)), fields=("w", "psi"),
            residual=_vorticity_residual, boundary_conditions=(Periodic(0), Periodic(1)),
            initial_condition=initial, time_span=(float(self.t_in), float(self.t_final)),
            parameters={"nu": self.nu, "history": history}, reference_solver=self._reference,
            description=f"vorticity NS on the unit torus, ν = {self.nu:g}, FNO forcing; spectral reference",
        )

    def _reference(self, problem: Problem) -> Solution:
        import time

        from pde_lab.memory import PeakMemory
        from pde_lab.solvers.reference.grid_field import GridField

        n, (t0, t1) = self.reference_resolution, problem.time_span
        x = np.arange(n) / n
        grid = np.stack(np.meshgrid(x, x, indexing="ij"), -1).reshape(-1, 2)
        start = time.perf_counter()
        with PeakMemory("cpu") as memory:
            w0 = np.asarray(problem.initial_condition(torch_points(grid)), dtype=float)[:, 0].reshape(n, n)
            w = self._solve(w0, t1 - t0, np.arange(0.0, t1 - t0 + 0.5))
        values = np.stack([w, stream_function(w, 1.0)], -1)
        times = t0 + np.arange(len(w), dtype=float)
        dt = 1.0 / math.ceil(1.0 / self.dt - 1e-9)
        stats = {"wall_s": time.perf_counter() - start, "peak_mem_mb": memory.peak_mb,
                 "iterations": round((t1 - t0) / dt), "device": "cpu", "dtype": "float64", "grid": [n, n], "dt": dt}
        status, message = Status.CONVERGED, f"Fourier pseudo-spectral + ETDRK4, {n}² grid, dt = {dt:.3g}"
        if not np.all(np.isfinite(values)):
            status, message = Status.DIVERGED, f"{message}: non-finite vorticity; lower dt"
        field = GridField([x, x], values, times, [1.0, 1.0], upsample=2)
        return Solution(problem, field, "spectral-vorticity", status, message, stats, {},
                        SnapshotGrid((x, x), times, values))

    def inputs(self, problem: Problem, resolution: int | None = None) -> np.ndarray:
        self.check_member(problem, nu=self.nu, time_span=(float(self.t_in), float(self.t_final)))
        history = np.asarray(problem.parameters.history)
        step = stride(history.shape[-1], resolution or self.resolution, True)
        return np.moveaxis(history[:, ::step, ::step], 0, -1)  # (s, s, t_in)

    def output_axes(self, resolution: int | None = None) -> list[tuple[np.ndarray, bool]]:
        n = resolution or self.resolution
        steps = self.t_final - self.t_in
        return [(np.arange(n) / n, True), (np.arange(n) / n, True), (np.arange(1, steps + 1) / steps, False)]

    def targets(self, solution: Solution, resolution: int | None = None) -> np.ndarray:
        n = resolution or self.resolution
        data, steps = solution.model, self.t_final - self.t_in
        if isinstance(data, SnapshotGrid) and data.values.shape[0] == steps + 1:
            step = stride(data.values.shape[1], n, True)
            w = data.values[1:, ::step, ::step, 0]
        else:
            x = np.arange(n) / n
            times = np.arange(self.t_in + 1, self.t_final + 1, dtype=float)
            space = np.stack(np.meshgrid(x, x, indexing="ij"), -1).reshape(-1, 2)
            points = np.column_stack([np.tile(space, (steps, 1)), np.repeat(times, n * n)])
            w = np.asarray(solution(points))[:, 0].reshape(steps, n, n)
        return np.moveaxis(w, 0, -1)[..., None]  # (s, s, steps, 1)

    def field(self, problem: Problem, outputs: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
        from pde_lab.solvers.reference.grid_field import GridField

        w = np.moveaxis(np.asarray(outputs, dtype=float)[..., 0], -1, 0)  # (steps, s, s)
        n = w.shape[-1]
        first = self.inputs(problem, n)[..., -1]
        w = np.concatenate([first[None], w])
        values = np.stack([w, stream_function(w, 1.0)], -1)
        times = self.t_in + np.arange(len(w), dtype=float)
        return GridField([np.arange(n) / n] * 2, values, times, [1.0, 1.0], upsample=2)

    def residual(self, outputs, inputs):
        """Vorticity residual on the output grid: spectral in space, central differences in time."""
        import torch

        from pde_lab.operators.pino import vorticity_residual

        w = torch.cat([inputs[..., 0, -1:], outputs[..., 0]], dim=-1)  # prepend w(t_in)
        return vorticity_residual(w, self.nu, 1.0, 1.0)[..., 1:]
