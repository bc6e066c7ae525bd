r"""The Burgers family of the FNO paper: periodic viscous Burgers with Gaussian-random-field data.

:math:`u_t + u u_x = \nu u_{xx}` on the periodic unit interval, :math:`\nu = 0.1`,
:math:`u_0 \sim N(0, 625(-\Delta + 25I)^{-2})`, map :math:`u_0 \mapsto u(\cdot, 1)` (or the
trajectory on ``n_times`` instants, for PINO). The machinery is in :mod:`pde_lab.data.families`.
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
from pde_lab.data.grf import evaluate_periodic_1d, periodic_modes_1d, sample_seed
from pde_lab.problem import Problem
from pde_lab.solution import Solution, Status
from pde_lab.validation import check_int, check_positive

__all__ = ["BurgersFamily"]


def _burgers_rate(f, p):
    return -f.u * f.u_x + p.nu * f.u_xx


@dataclass(frozen=True)
class BurgersFamily(Family):
    r"""Periodic Burgers :math:`u_t + u u_x = \nu u_{xx}` on [0, 1) with GRF initial data.

    Parameters
    ----------
    nu, t_final
        Viscosity (paper: 0.1) and final time (1).
    resolution
        Data grid (paper: 8192 subsampled to 256 ... 8192).
    reference_resolution, dt
        Reference grid and ETDRK4 step (:func:`~pde_lab.reference.spectral_1d.burgers_periodic_1d`).
    n_times
        1: the target is :math:`u(\cdot, T)`; more: the trajectory at ``n_times`` equispaced
        instants of [0, T] (a space-time output grid, as PINO uses).
    grf_modes
        Fourier modes of :math:`u_0` (default ``reference_resolution // 4``).
    seed
        Member ``i`` is seeded by ``(seed, i)``.
    """

    nu: float = 0.1
    t_final: float = 1.0
    resolution: int = 256
    reference_resolution: int = 1024
    dt: float = 2e-3
    n_times: int = 1
    grf_modes: int | None = None
    seed: int = 0

    name = "burgers"
    member_name = "burgers-periodic"
    fno_settings: ClassVar[dict[str, Any]] = {"modes": 16, "width": 64}
    alpha, tau, sigma = 2.0, 5.0, 25.0  # u0 ~ N(0, 625 (-Δ + 25 I)^-2)

    def __post_init__(self) -> None:
        check_positive("nu", self.nu), check_positive("t_final", self.t_final), check_positive("dt", self.dt)
        check_int("n_times", self.n_times), check_int("seed", self.seed, 0)
        stride(check_int("reference_resolution", self.reference_resolution, 8), check_int("resolution", self.resolution, 4), True)
        if 2 * self.modes >= self.reference_resolution:
            raise ValueError(f"grf_modes {self.modes} must be below reference_resolution / 2")

    @property
    def modes(self) -> int:
        return self.grf_modes if self.grf_modes is not None else self.reference_resolution // 4

    def problem(self, index: int) -> Problem:
        coefficients = periodic_modes_1d(sample_seed(self.seed, index), self.modes, 1.0, self.alpha, self.tau, self.sigma)
        return self.member(coefficients)

    def member(self, coefficients: np.ndarray) -> Problem:
        """The member with initial Fourier coefficients ``coefficients`` (complex, m = 0..M)."""
        from geometries import Interval
        from pde_lab.conditions import Periodic

        coefficients = np.asarray(coefficients, dtype=complex)

        def initial(x):
            import torch

            values = evaluate_periodic_1d(coefficients, x[:, 0].detach().cpu().double().numpy())
            return torch.as_tensor(values, dtype=x.dtype, device=x.device)

        return Problem(
            name=self.member_name, geometry=Interval(0.0, 1.0), time_span=(0.0, self.t_final),
            rate=_burgers_rate, initial_condition=initial, boundary_conditions=(Periodic(0),),
            parameters={"nu": self.nu, "initial_modes": np.stack([coefficients.real, coefficients.imag], 1)},
            reference_solver=self._reference,
            description=f"u_t + u u_x = {self.nu:g} u_xx on the periodic [0,1), GRF u0; spectral reference",
        )

    def _saves(self) -> tuple[np.ndarray, int]:
        per = 100 if self.n_times == 1 else math.ceil(100 / (self.n_times - 1))
        return np.linspace(0.0, self.t_final, max(self.n_times - 1, 1) * per + 1), per

    def _reference(self, problem: Problem) -> Solution:
        import time

        from pde_lab.memory import PeakMemory
        from pde_lab.reference.spectral_1d import burgers_periodic_1d
        from pde_lab.solvers.reference.grid_field import GridField

        n, (t0, t1) = self.reference_resolution, problem.time_span
        saves, _ = self._saves()
        dt = saves[1] / math.ceil(saves[1] / self.dt - 1e-9)
        x = np.arange(n) / n
        start = time.perf_counter()
        with PeakMemory("cpu") as memory:
            u0 = np.asarray(problem.initial_condition(torch_points(x[:, None])), dtype=float).reshape(n)
            times, u = burgers_periodic_1d(u0, 1.0, problem.parameters.nu, dt, t1 - t0, saves)
        values = u[..., None]
        stats = {"wall_s": time.perf_counter() - start, "peak_mem_mb": memory.peak_mb,
                 "iterations": round((t1 - t0) / dt), "device": "cpu", "dtype": "float64", "grid": [n], "dt": dt}
        field = GridField([x], values, times + t0, [1.0], upsample=4)
        return Solution(problem, field, "spectral", Status.CONVERGED, f"ETDRK4, dt={dt:.3g}, {n} modes", stats,
                        {}, SnapshotGrid((x,), times + t0, values))

    def inputs(self, problem: Problem, resolution: int | None = None) -> np.ndarray:
        self.check_member(problem, nu=self.nu, time_span=(0.0, self.t_final))
        x = np.arange(resolution or self.resolution) / (resolution or self.resolution)
        return np.asarray(problem.initial_condition(torch_points(x[:, None])), dtype=float).reshape(-1, 1)

    def output_axes(self, resolution: int | None = None) -> list[tuple[np.ndarray, bool]]:
        n = resolution or self.resolution
        axes = [(np.arange(n) / n, True)]
        return axes + ([(np.linspace(0.0, 1.0, self.n_times), False)] if self.n_times > 1 else [])

    def _times(self) -> np.ndarray:
        return np.array([self.t_final]) if self.n_times == 1 else np.linspace(0.0, self.t_final, self.n_times)

    def targets(self, solution: Solution, resolution: int | None = None) -> np.ndarray:
        n = resolution or self.resolution
        data = solution.model
        saves, per = self._saves()
        if isinstance(data, SnapshotGrid) and data.values.shape[:2] == (len(saves), self.reference_resolution):
            step = stride(self.reference_resolution, n, True)
            picked = data.values[per::per] if self.n_times == 1 else data.values[::per]
            out = picked[:, ::step, 0].T  # (n, n_times)
        else:
            x, times = np.arange(n) / n, self._times()
            points = np.column_stack([np.tile(x, len(times)), np.repeat(times, n)])
            out = np.asarray(solution(points))[:, 0].reshape(len(times), n).T
        return out[..., None] if self.n_times > 1 else out  # (n, 1) or (n, n_times, 1)

    def field(self, problem: Problem, outputs: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
        from pde_lab.solvers.reference.grid_field import GridField

        outputs = np.asarray(outputs, dtype=float)
        n = outputs.shape[0]
        x = np.arange(n) / n
        if self.n_times > 1:
            return GridField([x], outputs[..., 0].T[..., None], self._times(), [1.0], upsample=4)
        final = GridField([x], outputs.reshape(n, 1), None, [1.0], upsample=4)
        t0, t1 = problem.time_span

        def evaluate(points: np.ndarray) -> np.ndarray:
            at_end, at_start = np.isclose(points[:, 1], t1, atol=1e-9), np.isclose(points[:, 1], t0, atol=1e-9)
            if not np.all(at_end | at_start):
                raise ValueError(f"this operator maps u0 -> u(T = {t1:g}); it answers at t = {t0:g} and t = {t1:g} "
                                 "only (train on BurgersFamily(n_times=...) for the trajectory)")
            out = np.empty((len(points), 1))
            out[at_end] = final(points[at_end, :1])
            out[at_start] = np.asarray(problem.initial_condition(torch_points(points[at_start, :1]))).reshape(-1, 1)
            return out

        return evaluate

    @property
    def has_residual(self) -> bool:
        return self.n_times >= 3

    def residual(self, outputs, inputs):
        """Burgers residual on the space-time output grid (spectral in x, central in t)."""
        from pde_lab.operators.pino import burgers_residual

        if self.n_times < 3:
            raise ValueError("PINO needs a space-time output: use BurgersFamily(n_times >= 3)")
        return burgers_residual(outputs[..., 0], self.nu, 1.0, self.t_final / (self.n_times - 1))
