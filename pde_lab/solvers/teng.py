r"""TENG: Time-Evolving Natural Gradient (Chen, McCarran, Vizcaino, Soljačić & Luo, ICML 2024).

A network :math:`u_\theta(x)` holds the solution at the current time. A step from
:math:`t_n` to :math:`t_{n+1} = t_n + \Delta t` of :math:`u_t = F[u]` picks a target in
function space and projects it back onto the network by least squares:

.. math::

    \theta_{n+1} = \arg\min_\theta \tfrac12 \sum_j q_j \bigl(u_\theta(x_j) - \hat u(x_j)\bigr)^2,
    \qquad \hat u = u_{\theta_n} + \Delta t\, F[u_{\theta_n}] \quad \text{(TENG-Euler)},

and for TENG-Heun a second stage from the Euler result :math:`\tilde\theta`,
:math:`\hat u = u_{\theta_n} + \tfrac{\Delta t}{2}\bigl(F[u_{\theta_n}] + F[u_{\tilde\theta}]\bigr)`.
Each stage runs Gauss–Newton (natural-gradient) iterations, warm-started from the previous
parameters: :math:`\delta_S = \operatorname{lstsq}(\sqrt q\,J_S,\ \sqrt q\,(\hat u - u_\theta))`
on a random parameter subset :math:`S` redrawn every iteration (1536 columns, then 1024), no
learning rate, no damping; 7 iterations for the Euler stage, 5 for Heun's second
(:mod:`pde_lab.natural_gradient`). One safeguard beyond the paper (see ``rcond``): the
step drops the singular values of :math:`J_S` below 1e-6 relative and is halved while
halving helps, or until it gains half the decrease the linearisation predicts; the SVD is a
randomized low-rank one, since :math:`J_S` has only 30–150 singular values above 1e-15 relative.
Optionally a stage stops once its fit is good enough (``step_tolerance``) or stops
improving (``stall_ratio``). Everything in float64. :math:`F` is the problem's own ``rate``,
evaluated on the network through :class:`~pde_lab.fields.Fields`
(:class:`~pde_lab.solvers.teng_projection.Projection`).

The sample points :math:`x_j` are a fixed tensor grid with quadrature weights :math:`q_j`:
periodic axes get ``n`` nodes without the right end (weights :math:`L/n`); other axes ``n``
interior nodes (weights :math:`L/(n+1)`), since a homogeneous Dirichlet condition is built
into the network exactly. The network (the paper's ``SimplePDENet3``) embeds each
coordinate: periodic axes as :math:`a_j\cos(2\pi(x_i - x_{lo})/L_i + \varphi_j) + c_j`,
exactly periodic; other axes as :math:`a_j \hat x_i + \varphi_j` with
:math:`\hat x_i \in [-1, 1]`; then tanh, ``hidden_layers`` × [Dense(``width``), tanh],
Dense(fields), times :math:`\prod_i (1 - \hat x_i^2)` over non-periodic axes. The initial
parameters are fitted to :math:`u_0` on the grid first, by Gauss–Newton with a line search
and then Levenberg–Marquardt, to ``fit_tolerance`` (relative): no step can beat this fit.

Between steps the returned solution interpolates linearly in time between the networks at
the two neighbouring step times (exact at the step times; error :math:`\le \Delta t^2
\max|u_{tt}|/8`, below TENG-Heun's own :math:`O(\Delta t^2)` error constant).
"""

from __future__ import annotations

import dataclasses
import math
import sys
import time
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from pde_lab.conditions import Dirichlet, Periodic
from pde_lab.problem import Problem
from pde_lab.solution import Solution, Status
from pde_lab.solvers.pinn import resolve_device, resolve_dtype
from pde_lab.solvers.teng_network import TENGNetwork
from pde_lab.solvers.teng_projection import Grid, Projection
from pde_lab.solvers.time_series_field import TimeSeriesField

__all__ = ["TENG", "TENGNetwork", "TENGState", "TimeSeriesField"]


@dataclass(frozen=True)
class TENG:
    """Time-Evolving Natural Gradient for periodic / homogeneous-Dirichlet evolution problems.

    Parameters
    ----------
    scheme
        ``"heun"`` (second order) or ``"euler"`` (first order).
    dt
        Time step; shortened so that it divides the time span (paper: 0.005).
    width, hidden_layers
        The network: ``width`` embedding features (split over the axes), then
        ``hidden_layers`` tanh layers of ``width`` (paper: 40 and 5, 8,361 parameters in 2D).
    points_per_axis
        Sample grid nodes per axis; ``None``: 1024 (1D), 256 (2D, the paper's code), 48 (3D).
    iterations, heun_iterations
        Gauss–Newton iterations of the Euler (first) stage and of Heun's second (the paper: 7
        and 5). With small subsets of a small network, nonlinear rates need more: Allen–Cahn
        and Burgers 2D (1,341 parameters, 512/384-column subsets) fit their first steps 1000×
        better with 20 and 15, and their error at t = 0.1 is 24× (Allen–Cahn) and 90× (Burgers)
        smaller (``pde_lab.bench.teng.NONLINEAR_2D``).
    subset_sizes
        Random parameter subset per iteration, first then later (1536, 1024); ``None`` in
        the tuple means every parameter.
    step_tolerance
        A stage stops before its ``iterations`` once the relative L2 misfit to its target is
        at most this (0, the paper: no early stop). With a generous iteration count
        it spends Gauss–Newton iterations where the solution is hard to follow (a forming
        shock) and few where it is smooth.
    stall_ratio, stall_misfit
        A stage whose relative misfit is at most ``stall_misfit`` also stops once two
        iterations together leave its loss above ``stall_ratio`` times where it was (0, the
        paper: never): the fit has reached the network's floor. On 1D Burgers a stage falls to
        such a floor (a relative misfit of 3e-8 to 8e-8) within 2–4 iterations where the
        solution is smooth, and stays there, while ``step_tolerance`` 1e-8 is almost never met.
        Without the gate the rule also stops stages where the front forms, whose progress
        under random subsets is uneven, and costs accuracy (``pde_lab.bench.teng.BURGERS_1D``).
    fit_iterations, fit_tolerance, fit_subset_size, fit_rcond
        Initial fit to :math:`u_0`: at most ``fit_iterations`` Gauss–Newton steps with a
        line search (then Levenberg–Marquardt once they stall), until the relative L2 misfit
        on the grid is below ``fit_tolerance``; subset per step (``None``: all parameters).
    rcond
        Relative singular-value cutoff(s) of the least-squares solves in the steps. The
        paper's code uses NumPy's default (``eps * max(m, n)``) with its 8,361-parameter
        network; on the small networks affordable on a CPU the Jacobian's spectrum decays to
        ~1e-18, and such a step can leave the region where the linearisation holds, while a
        fixed coarse cutoff stops the fit short of machine precision. A tuple takes one
        (randomized) SVD per iteration; the default drops singular values below 1e-6 relative
        and shortens the step by halving while that lowers the loss (a truncated Gauss–Newton
        step is a descent direction, so some length always helps). Several cutoffs compete at
        the full step length, which favours the coarsest: of (1e-12, 1e-9, 1e-6), 1e-6 won
        every iteration measured (840 of 840 on 1D Burgers; heat 2D gave the same result to
        the last digit), while the finer SVD cost half of each iteration. A number gives one
        plain ``lstsq`` solve with the same safeguard, ``None`` the paper's unguarded full step.
    dtype, device, seed, progress, cpu_threads
        As for :class:`~pde_lab.solvers.pinn.PINN`; TENG needs ``float64``.
    """

    scheme: str = "heun"
    dt: float = 0.005
    width: int = 40
    hidden_layers: int = 5
    points_per_axis: int | None = None
    iterations: int = 7
    heun_iterations: int = 5
    subset_sizes: tuple[int | None, ...] = (1536, 1024)
    step_tolerance: float = 0.0
    stall_ratio: float = 0.0
    stall_misfit: float = 1.0
    fit_iterations: int = 2000
    fit_tolerance: float = 1e-7
    fit_subset_size: int | None = None
    rcond: float | tuple[float, ...] | None = (1e-6,)
    fit_rcond: float | None = 1e-10
    dtype: str = "float64"
    device: str | None = None
    seed: int = 0
    progress: bool | None = None
    cpu_threads: int | None = 1

    name = "teng"

    # ----------------------------------------------------------------- public
    def solve(self, problem: Problem) -> Solution:
        from tqdm.auto import tqdm

        from pde_lab.memory import PeakMemory
        from pde_lab.natural_gradient import load_parameters
        from pde_lab.training import cpu_threads

        self._check(problem)
        t0, t1 = problem.time_span
        steps = max(1, math.ceil((t1 - t0) / self.dt - 1e-9))
        solver = dataclasses.replace(self, dt=(t1 - t0) / steps)  # lands exactly on t1
        start = time.perf_counter()
        history: dict[str, list] = {"time": [], "step_loss": [], "step_iterations": []}
        device = resolve_device(self.device)
        with PeakMemory(str(device)) as memory, cpu_threads(self.cpu_threads if device.type == "cpu" else None):
            state = solver.init(problem)
            snapshots, status = [state.vector], Status.CONVERGED
            bar = tqdm(range(steps), desc=f"{self.name}-{self.scheme} {problem.name}", dynamic_ncols=True,
                       disable=not self._show_progress())
            for _ in bar:
                state = solver.step(state)
                if not (math.isfinite(state.loss) and torch.isfinite(state.vector).all()):
                    status = Status.DIVERGED
                    break
                snapshots.append(state.vector)
                history["time"].append(state.t)
                history["step_loss"].append(state.loss)
                history["step_iterations"].append(state.iterations)
                bar.set_postfix(loss=f"{state.loss:.2e}")
            bar.close()
        load_parameters(state.network, snapshots[-1])
        dt, fit = solver.dt, state.initial_fit_error
        history["fit_loss"] = state.fit_losses
        if status is Status.DIVERGED:
            message = (f"the least-squares step became NaN/inf at t = {state.t:.4g}; the solution stops at "
                       f"t = {t0 + (len(snapshots) - 1) * dt:.4g}. Try a smaller dt (now {dt:.3g}).")
        elif fit > self.fit_tolerance:
            message = (f"initial fit reached only {fit:.2e} relative L2 (fit_tolerance {self.fit_tolerance:g}); "
                       "no later step can be more accurate. Increase fit_iterations or the network size.")
        else:
            message = f"TENG-{self.scheme}: {steps} steps of dt={dt:.4g}; max step loss {max(history['step_loss']):.2e}"
        stats = {"wall_s": time.perf_counter() - start, "peak_mem_mb": memory.peak_mb, "iterations": len(snapshots) - 1,
                 "device": str(device), "dtype": str(state.vector.dtype).removeprefix("torch."), "dt": dt,
                 "parameters": int(state.vector.numel()), "sample_points": len(state.grid.points),
                 "initial_fit_rel_l2": fit}
        field = TimeSeriesField(state.network, torch.stack(snapshots), t0, dt)
        return Solution(problem, field, self.name, status, message, stats, history, state.network)

    def init(self, problem: Problem) -> TENGState:
        """The network fitted to :math:`u_0` on the sample grid, at :math:`t_0` (seeded; global RNG untouched)."""
        from tqdm.auto import tqdm

        from pde_lab.natural_gradient import flat_parameters, gauss_newton

        periodic, hard = self._check(problem)
        device, dtype = resolve_device(self.device), resolve_dtype(self.dtype)
        with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
            torch.manual_seed(self.seed)
            lower, upper = (np.asarray(b, dtype=float) for b in problem.geometry.bounds)
            network = TENGNetwork(lower, upper, periodic, len(problem.fields), self.width, self.hidden_layers, hard)
        network = network.to(device=device, dtype=dtype).requires_grad_(False)
        grid = self.sample_grid(problem, periodic, device, dtype)
        projection = Projection(network, grid, torch.Generator().manual_seed(self.seed), self.subset_sizes)
        initial = torch.as_tensor(problem.initial_condition(grid.points), dtype=dtype, device=device)
        initial = initial.reshape(len(grid.points), -1)
        if initial.shape[1] != len(problem.fields) or not torch.isfinite(initial).all():
            raise ValueError(f"initial_condition must return finite values, one column per field {problem.fields}")
        norm = projection.norm(initial)
        vector, losses, tolerance = flat_parameters(network), [], _misfit_loss(self.fit_tolerance, norm)
        bar = tqdm(total=self.fit_iterations, desc=f"{self.name} initial fit {problem.name}", dynamic_ncols=True,
                   disable=not self._show_progress())

        def report(_: int, loss: float) -> None:
            bar.update(1)
            bar.set_postfix(misfit=f"{_relative_misfit(loss, norm):.2e}", refresh=False)

        for damping in (0.0, 1e-8):  # truncated Gauss–Newton until it stalls, then Levenberg–Marquardt
            fit = gauss_newton(
                projection.residuals(initial), projection.jacobian, vector,
                iterations=self.fit_iterations - len(losses), subset_sizes=(self.fit_subset_size,), damping=damping,
                adapt_damping=damping > 0, line_search=8, tolerance=tolerance, rcond=self.fit_rcond,
                generator=projection.generator, on_iteration=report,
            )
            vector, losses = fit.vector, losses + fit.losses
            if fit.converged or not fit.finite or len(losses) >= self.fit_iterations:
                break
        bar.update(len(losses) - bar.n)  # a rejected last step of a phase reports no iteration
        bar.close()
        error = _relative_misfit(losses[-1], norm) if losses else 0.0
        return TENGState(problem, network, projection, vector, problem.time_span[0],
                         losses[-1] if losses else 0.0, error, losses)

    def _show_progress(self) -> bool:
        return sys.stderr.isatty() if self.progress is None else bool(self.progress)

    def step(self, state: TENGState) -> TENGState:
        """One TENG step of ``dt`` from ``state``; the loss is the last stage's least-squares loss, the
        iterations those of all stages."""
        problem, projection, vector, t, dt = state.problem, state.projection, state.vector, state.t, self.dt
        values = projection.values(vector)
        rate = projection.rate(problem, vector, t)
        result = self._stage(projection, values + dt * rate, vector, self.iterations)
        iterations = result.iterations
        if self.scheme == "heun" and result.finite:
            target = values + 0.5 * dt * (rate + projection.rate(problem, result.vector, t + dt))
            result = self._stage(projection, target, result.vector, self.heun_iterations)
            iterations += result.iterations
        loss = result.loss if result.finite else float("nan")
        return dataclasses.replace(state, vector=result.vector, t=t + dt, loss=loss, iterations=iterations)

    def _stage(self, projection: Projection, target: torch.Tensor, vector: torch.Tensor, iterations: int):
        """Gauss–Newton on one stage's target, with its early stops (``step_tolerance``, ``stall_ratio``)."""
        norm = projection.norm(target)
        stall = (2, self.stall_ratio, _misfit_loss(self.stall_misfit, norm)) if self.stall_ratio else None
        return projection.fit(target, vector, iterations, self.rcond, _misfit_loss(self.step_tolerance, norm), stall)

    def sample_grid(self, problem: Problem, periodic, device, dtype) -> Grid:
        """The fixed tensor grid and quadrature weights (see the module docstring)."""
        d = problem.spatial_dim
        n = self.points_per_axis or {1: 1024, 2: 256}.get(d, 48)
        lower, upper = (np.asarray(b, dtype=float) for b in problem.geometry.bounds)
        axes, weight = [], 1.0
        for i in range(d):
            length = upper[i] - lower[i]
            if periodic[i]:
                axes.append(lower[i] + length * np.arange(n) / n)
                weight *= length / n
            else:
                axes.append(lower[i] + length * np.arange(1, n + 1) / (n + 1))
                weight *= length / (n + 1)
        mesh = np.stack([a.ravel() for a in np.meshgrid(*axes, indexing="ij")], axis=1)
        points = torch.as_tensor(mesh, dtype=dtype, device=device)
        return Grid(points, torch.full((len(mesh),), math.sqrt(weight), dtype=dtype, device=device))

    # ---------------------------------------------------------------- helpers
    def check(self, problem: Problem) -> None:
        """Raise ``ValueError`` (``TypeError``) saying why this solver cannot solve ``problem``; trains nothing."""
        self._check(problem)

    def _check(self, problem: Problem) -> tuple[tuple[bool, ...], bool]:
        if not isinstance(problem, Problem):
            raise TypeError(f"TENG.solve expects a Problem, got {type(problem).__name__}")
        if not problem.is_time_dependent:
            raise ValueError(f"TENG integrates evolution problems u_t = F[u]; {problem.name!r} is steady "
                             "(use solver='pinn-ngd')")
        if problem.rate is None:
            raise ValueError(f"TENG integrates a rate u_t = F[u]; {problem.name!r} is given as a space-time residual "
                             "(e.g. with a pressure constraint), which has no explicit rate")
        if self.scheme not in ("euler", "heun"):
            raise ValueError(f"scheme must be 'euler' or 'heun', got {self.scheme!r}")
        if not (isinstance(self.dt, (int, float)) and math.isfinite(self.dt) and self.dt > 0):
            raise ValueError(f"dt must be a positive number, got {self.dt!r}")
        for name in ("step_tolerance", "stall_ratio"):
            value = getattr(self, name)
            if isinstance(value, bool) or not (isinstance(value, (int, float)) and 0 <= value < 1):
                raise ValueError(f"{name} must be a number in [0, 1), got {value!r}")
        if isinstance(self.stall_misfit, bool) or not (isinstance(self.stall_misfit, (int, float))
                                                       and self.stall_misfit > 0):
            raise ValueError(f"stall_misfit must be a positive number, got {self.stall_misfit!r}")
        for name in ("iterations", "heun_iterations", "width", "hidden_layers"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        d = problem.spatial_dim
        lower, upper = (np.asarray(b, dtype=float) for b in problem.geometry.bounds)
        probe = np.stack([a.ravel() for a in np.meshgrid(*[np.linspace(lo, hi, 5) for lo, hi in zip(lower, upper)],
                                                           indexing="ij")], axis=1)
        if not np.all(problem.geometry.contains(probe)):
            raise ValueError(f"TENG samples a box; the geometry of {problem.name!r} is not its bounding box")
        periodic = [False] * d
        dirichlet = False
        for condition in problem.boundary_conditions:
            if isinstance(condition, Periodic):
                periodic[condition.axis] = True
            elif isinstance(condition, Dirichlet) and not callable(condition.value) and condition.value == 0 \
                    and condition.where is None:
                dirichlet = True
            else:
                raise ValueError(f"TENG builds boundary conditions into the network: Periodic axes and a homogeneous "
                                 f"Dirichlet condition on the whole boundary; {condition!r} is not supported")
        if not all(periodic) and not dirichlet:
            raise ValueError(f"{problem.name!r}: every axis needs a Periodic condition or the homogeneous Dirichlet "
                             "condition u = 0, which TENG imposes exactly")
        return tuple(periodic), not all(periodic)


def _misfit_loss(misfit: float, norm: float) -> float:
    """The least-squares loss ½ (misfit · norm)² of a relative L2 ``misfit`` to a target of grid norm ``norm``."""
    return 0.5 * (misfit * norm) ** 2


def _relative_misfit(loss: float, norm: float) -> float:
    """The relative L2 misfit of a least-squares ``loss`` (the inverse of :func:`_misfit_loss`)."""
    return math.sqrt(2 * loss) / max(norm, 1e-300)


@dataclass(frozen=True)
class TENGState:
    """Where a TENG integration stands: the parameters at time ``t`` and how they got there."""

    problem: Problem
    network: nn.Module
    projection: Projection
    vector: torch.Tensor
    t: float
    loss: float
    initial_fit_error: float
    fit_losses: list[float]
    iterations: int = 0  # Gauss–Newton iterations of the last step, all stages

    @property
    def grid(self) -> Grid:
        return self.projection.grid
