r"""Neural time stepping on a fixed grid: what TENG and its baselines share.

A network :math:`u_\theta(x)` holds the solution of :math:`u_t = F[u]` at the current time,
and a step moves :math:`\theta_n \to \theta_{n+1}`. The solvers differ only in how they make
that step (:meth:`NetworkEvolution.step`):

* :class:`~pde_lab.solvers.teng.TENG`: Gauss–Newton projection of an Euler/Heun target;
* :class:`~pde_lab.solvers.obti.OBTI`: the same target, minimised by Adam or L-BFGS;
* :class:`~pde_lab.solvers.tdvp.TDVP`: :math:`\dot\theta = \operatorname{lstsq}(J, F[u_\theta])`
  integrated by a Runge–Kutta method.

Everything else is here. The sample points :math:`x_j` are a fixed tensor grid with quadrature
weights :math:`q_j`: periodic axes get ``n`` nodes without the right end (weights :math:`L/n`);
other axes ``n`` interior nodes (weights :math:`L/(n+1)`), since a homogeneous Dirichlet
condition is built into the network exactly. The network
(:class:`~pde_lab.solvers.teng_network.TENGNetwork`, the TENG paper's ``SimplePDENet3``)
embeds each coordinate: periodic axes as :math:`a_j\cos(2\pi(x_i - x_{lo})/L_i + \varphi_j) + c_j`,
exactly periodic; other axes as :math:`a_j \hat x_i + \varphi_j` with :math:`\hat x_i \in [-1, 1]`;
then tanh, ``hidden_layers`` × [Dense(``width``), tanh], Dense(fields), times
:math:`\prod_i (1 - \hat x_i^2)` over non-periodic axes. The initial parameters are fitted to
:math:`u_0` on the grid first, by Gauss–Newton with a line search and then
Levenberg–Marquardt, to ``fit_tolerance`` (relative): no step can beat this fit.

Between steps the returned solution interpolates in time through the networks at the four
nearest step times (cubic Lagrange, :class:`~pde_lab.solvers.time_series_field.TimeSeriesField`):
exact at the step times, error :math:`O(\Delta t^4)` between them.
"""

from __future__ import annotations

import dataclasses
import math
import sys
import time
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch
from torch import nn

from pde_lab.checkpoint import checkpointing_of
from pde_lab.conditions import Dirichlet, Periodic
from pde_lab.problem import Problem
from pde_lab.solution import Solution, Status
from pde_lab.solvers.exponential_targets import EXPONENTIAL, ExponentialTargets, check_periodic_grid
from pde_lab.solvers.pinn import resolve_device, resolve_dtype
from pde_lab.solvers.teng_network import TENGNetwork
from pde_lab.solvers.teng_projection import Grid, Projection
from pde_lab.solvers.time_series_field import TimeSeriesField
from pde_lab.validation import check_ints

__all__ = ["EvolutionState", "NetworkEvolution"]


@dataclass(frozen=True)
class NetworkEvolution:
    """Options shared by the network time steppers (see the subclasses for the step itself).

    Parameters
    ----------
    scheme
        The time-stepping scheme (each subclass lists its own).
    dt
        Time step; shortened so that it divides the time span.
    width, hidden_layers
        The network: ``width`` embedding features (split over the axes), then
        ``hidden_layers`` tanh layers of ``width`` (TENG's paper: 40 and 5, 8,361 parameters in 2D).
    points_per_axis
        Sample grid nodes per axis; ``None``: 1024 (1D), 256 (2D, the TENG paper's code), 48 (3D).
    fit_iterations, fit_tolerance, fit_subset_size, fit_rcond
        Initial fit to :math:`u_0`: at most ``fit_iterations`` Gauss–Newton steps with a
        line search (then Levenberg–Marquardt once they stall), until the relative L2 misfit
        on the grid is below ``fit_tolerance``; subset per step (``None``: all parameters).
    dtype, device, seed, progress, cpu_threads
        As for :class:`~pde_lab.solvers.pinn.PINN`; these solvers need ``float64``.
    checkpoint, checkpoint_every, resume
        Checkpoint file, written atomically every ``checkpoint_every`` steps, at the end and on
        SIGTERM/SIGINT (which stop the run with status ``interrupted``); ``resume=True`` continues
        from it without refitting :math:`u_0`, seeded on the CPU bit for bit as if never stopped
        (:mod:`pde_lab.solvers.evolution_checkpoint`; ``device`` may change on resume).
    """

    scheme: str = "heun"
    dt: float = 0.005
    width: int = 40
    hidden_layers: int = 5
    points_per_axis: int | None = None
    fit_iterations: int = 2000
    fit_tolerance: float = 1e-7
    fit_subset_size: int | None = None
    fit_rcond: float | None = 1e-10
    dtype: str = "float64"
    device: str | None = None
    seed: int = 0
    progress: bool | None = None
    cpu_threads: int | None = 1
    checkpoint: str | None = None
    checkpoint_every: int = 100
    resume: bool = False

    name = "evolution"
    #: The schemes a subclass offers.
    schemes: ClassVar[tuple[str, ...]] = ("euler", "heun", "etd1", "etd2", "etdrk4")

    # ----------------------------------------------------------------- public
    def solve(self, problem: Problem) -> Solution:
        from tqdm.auto import tqdm

        from pde_lab.checkpoint import interrupt_flag
        from pde_lab.memory import PeakMemory
        from pde_lab.natural_gradient import load_parameters
        from pde_lab.solvers.evolution_checkpoint import SavedSteps
        from pde_lab.training import cpu_threads

        self._check(problem)
        t0, t1 = problem.time_span
        steps = max(1, math.ceil((t1 - t0) / self.dt - 1e-9))
        solver = dataclasses.replace(self, dt=(t1 - t0) / steps)  # lands exactly on t1
        saved = SavedSteps(self, problem, checkpointing_of(self))
        start = time.perf_counter()
        history: dict[str, list] = {"time": [], "step_loss": [], "step_iterations": []}
        device = resolve_device(self.device)
        with PeakMemory(str(device)) as memory, cpu_threads(self.cpu_threads if device.type == "cpu" else None), \
                interrupt_flag(self.checkpoint is not None) as flag:
            state = solver.init(problem, fit=not saved.resuming)
            snapshots, status = [state.vector], Status.CONVERGED
            resumed = saved.load(state)
            if resumed is not None:
                state, snapshots, history, elapsed = resumed
                start -= elapsed
            bar = tqdm(range(len(snapshots) - 1, steps), desc=f"{self.name}-{self.scheme} {problem.name}",
                       dynamic_ncols=True, disable=not self._show_progress())
            for _ in bar:
                if flag["signal"]:
                    status = Status.INTERRUPTED
                    break
                state = solver.step(state)
                if not (math.isfinite(state.loss) and torch.isfinite(state.vector).all()):
                    status = Status.DIVERGED
                    break
                snapshots.append(state.vector)
                history["time"].append(state.t)
                history["step_loss"].append(state.loss)
                history["step_iterations"].append(state.iterations)
                bar.set_postfix(loss=f"{state.loss:.2e}")
                if saved.due(len(snapshots) - 1):
                    saved.write(state, snapshots, history, time.perf_counter() - start)
            bar.close()
            if status is not Status.DIVERGED:
                saved.write(state, snapshots, history, time.perf_counter() - start)
        load_parameters(state.network, snapshots[-1])
        dt, fit = solver.dt, state.initial_fit_error
        history["fit_loss"] = state.fit_losses
        label = f"{type(self).__name__}-{self.scheme}"
        if status is Status.INTERRUPTED:
            message = (f"{label}: stopped by {flag['signal']} at t = {state.t:.4g} after {len(snapshots) - 1} of "
                       f"{steps} steps; checkpoint written to {self.checkpoint}. Run again with resume=True "
                       "(--resume) to continue.")
        elif status is Status.DIVERGED:
            message = (f"{label}: the step became NaN/inf at t = {state.t:.4g}; the solution stops at "
                       f"t = {t0 + (len(snapshots) - 1) * dt:.4g}. Try a smaller dt (now {dt:.3g}).")
        elif fit > self.fit_tolerance:
            message = (f"initial fit reached only {fit:.2e} relative L2 (fit_tolerance {self.fit_tolerance:g}); "
                       "no later step can be more accurate. Increase fit_iterations or the network size.")
        else:
            message = f"{label}: {steps} steps of dt={dt:.4g}; max step loss {max(history['step_loss']):.2e}"
        stats = {"wall_s": time.perf_counter() - start, "peak_mem_mb": memory.peak_mb, "iterations": len(snapshots) - 1,
                 "device": str(device), "dtype": str(state.vector.dtype).removeprefix("torch."), "dt": dt,
                 "parameters": int(state.vector.numel()), "sample_points": len(state.grid.points),
                 "initial_fit_rel_l2": fit}
        field = TimeSeriesField(state.network, torch.stack(snapshots), t0, dt)
        return Solution(problem, field, self.name, status, message, stats, history, state.network)

    def init(self, problem: Problem, fit: bool = True) -> EvolutionState:
        """The network fitted to :math:`u_0` on the sample grid, at :math:`t_0` (seeded; global RNG untouched);
        ``fit=False`` leaves it at its initialisation (a resumed run loads its parameters)."""
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
        projection = Projection(network, grid, torch.Generator().manual_seed(self.seed), self._subset_sizes())
        initial = torch.as_tensor(problem.initial_condition(grid.points), dtype=dtype, device=device)
        initial = initial.reshape(len(grid.points), -1)
        if initial.shape[1] != len(problem.fields) or not torch.isfinite(initial).all():
            raise ValueError(f"initial_condition must return finite values, one column per field {problem.fields}")
        norm = projection.norm(initial)
        vector, losses, tolerance = flat_parameters(network), [], misfit_loss(self.fit_tolerance, norm)
        bar = tqdm(total=self.fit_iterations, desc=f"{self.name} initial fit {problem.name}", dynamic_ncols=True,
                   disable=not self._show_progress())

        def report(_: int, loss: float) -> None:
            bar.update(1)
            bar.set_postfix(misfit=f"{relative_misfit(loss, norm):.2e}", refresh=False)

        for damping in (0.0, 1e-8) if fit else ():  # truncated Gauss–Newton until it stalls, then Levenberg–Marquardt
            phase = gauss_newton(
                projection.residuals(initial), projection.jacobian, vector,
                iterations=self.fit_iterations - len(losses), subset_sizes=(self.fit_subset_size,), damping=damping,
                adapt_damping=damping > 0, line_search=8, tolerance=tolerance, rcond=self.fit_rcond,
                generator=projection.generator, on_iteration=report,
            )
            vector, losses = phase.vector, losses + phase.losses
            if phase.converged or not phase.finite or len(losses) >= self.fit_iterations:
                break
        bar.update(len(losses) - bar.n)  # a rejected last step of a phase reports no iteration
        bar.close()
        error = relative_misfit(losses[-1], norm) if losses else 0.0
        exponential = None
        if self.scheme in EXPONENTIAL:
            exponential = ExponentialTargets(problem, grid.points, self._points_per_axis(problem), self.dt,
                                             type(self).__name__)
        return EvolutionState(problem, network, projection, vector, problem.time_span[0],
                              losses[-1] if losses else 0.0, error, losses, exponential=exponential)

    def step(self, state: EvolutionState) -> EvolutionState:
        """One step of ``dt`` from ``state`` (each subclass makes it its own way)."""
        raise NotImplementedError(f"{type(self).__name__} does not define its step")

    def _target_step(self, state: EvolutionState, stage) -> EvolutionState:
        """One step by fitting targets (TENG, OBTI): the Euler target
        :math:`u_{\\theta_n} + \\Delta t F[u_{\\theta_n}]`, then for Heun
        :math:`u_{\\theta_n} + \\tfrac{\\Delta t}{2}(F[u_{\\theta_n}] + F[u_{\\tilde\\theta}])` from the first
        stage's :math:`\\tilde\\theta`; the exponential schemes (``etd1``, ``etd2``, ``etdrk4``) take the
        targets of :mod:`pde_lab.solvers.exponential_targets` (``state.exponential``) instead.
        ``stage(projection, target, vector, iterations)`` fits one target and returns
        ``(vector, loss, iterations)``, the loss NaN where the fit broke down (no later stage then).
        The first stage takes the subclass's ``iterations``, the later ones ``heun_iterations``; the
        step's loss is the last stage's, its iterations those of all stages."""
        problem, projection, vector, t, dt = state.problem, state.projection, state.vector, state.t, self.dt
        values = projection.values(vector)
        rate = projection.rate(problem, vector, t)
        loss, iterations, stages = float("nan"), 0, 0

        def fit(target: torch.Tensor, fraction: float, last: bool):
            """Fit one stage's target; the fitted network's grid values and rate at t + fraction dt,
            or None after the last stage or a broken fit (which ends the step)."""
            nonlocal vector, loss, iterations, stages
            vector, loss, taken = stage(projection, target, vector, self.heun_iterations if stages else self.iterations)
            iterations, stages = iterations + taken, stages + 1
            if last or not math.isfinite(loss):
                return None
            return projection.values(vector), projection.rate(problem, vector, t + fraction * dt)

        if state.exponential is not None:
            state.exponential.step(self.scheme, values, rate, fit)
        else:  # the paper's explicit targets
            first = fit(values + dt * rate, 1.0, self.scheme == "euler")
            if first is not None:
                fit(values + 0.5 * dt * (rate + first[1]), 1.0, True)
        return dataclasses.replace(state, vector=vector, t=t + dt, loss=loss, iterations=iterations)

    def sample_grid(self, problem: Problem, periodic, device, dtype) -> Grid:
        """The fixed tensor grid and quadrature weights: periodic axes get ``n`` nodes without the right
        end (weights :math:`L/n`); other axes ``n`` interior nodes (weights :math:`L/(n+1)`), since the
        homogeneous Dirichlet condition is built into the network exactly."""
        d, n = problem.spatial_dim, self._points_per_axis(problem)
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

    def _points_per_axis(self, problem: Problem) -> int:
        """``points_per_axis``, or its default for the problem's dimension."""
        return self.points_per_axis or {1: 1024, 2: 256}.get(problem.spatial_dim, 48)

    def _subset_sizes(self) -> tuple[int | None, ...]:
        """The parameter subsets of the projection's Gauss–Newton fits in the steps (all parameters here)."""
        return (None,)

    def _check_options(self) -> None:
        """Raise ``ValueError`` for a bad option of the subclass's own (none here)."""

    def _show_progress(self) -> bool:
        return sys.stderr.isatty() if self.progress is None else bool(self.progress)

    def _check(self, problem: Problem) -> tuple[tuple[bool, ...], bool]:
        solver = type(self).__name__
        if not isinstance(problem, Problem):
            raise TypeError(f"{solver}.solve expects a Problem, got {type(problem).__name__}")
        if not problem.is_time_dependent:
            raise ValueError(f"{solver} integrates evolution problems u_t = F[u]; {problem.name!r} is steady "
                             "(use solver='pinn-ngd')")
        if problem.rate is None:
            raise ValueError(f"{solver} integrates a rate u_t = F[u]; {problem.name!r} is given as a space-time "
                             "residual (e.g. with a pressure constraint), which has no explicit rate")
        if self.scheme not in self.schemes:
            raise ValueError(f"scheme must be one of {', '.join(map(repr, self.schemes))}, got {self.scheme!r}")
        if not (isinstance(self.dt, (int, float)) and math.isfinite(self.dt) and self.dt > 0):
            raise ValueError(f"dt must be a positive number, got {self.dt!r}")
        check_ints(self, ("width", "hidden_layers"))
        checkpointing_of(self)
        self._check_options()
        d = problem.spatial_dim
        lower, upper = (np.asarray(b, dtype=float) for b in problem.geometry.bounds)
        probe = np.stack([a.ravel() for a in np.meshgrid(*[np.linspace(lo, hi, 5) for lo, hi in zip(lower, upper)],
                                                           indexing="ij")], axis=1)
        if not np.all(problem.geometry.contains(probe)):
            raise ValueError(f"{solver} samples a box; the geometry of {problem.name!r} is not its bounding box")
        periodic = [False] * d
        dirichlet = False
        for condition in problem.boundary_conditions:
            if isinstance(condition, Periodic):
                periodic[condition.axis] = True
            elif isinstance(condition, Dirichlet) and not callable(condition.value) and condition.value == 0 \
                    and condition.where is None:
                dirichlet = True
            else:
                raise ValueError(f"{solver} builds boundary conditions into the network: Periodic axes and a "
                                 f"homogeneous Dirichlet condition on the whole boundary; {condition!r} is not "
                                 "supported")
        if not all(periodic) and not dirichlet:
            raise ValueError(f"{problem.name!r}: every axis needs a Periodic condition or the homogeneous Dirichlet "
                             f"condition u = 0, which {solver} imposes exactly")
        if self.scheme in EXPONENTIAL:
            check_periodic_grid(tuple(periodic), solver, self.scheme)
        return tuple(periodic), not all(periodic)


def unit_interval(name: str, value) -> None:
    """Raise ``ValueError`` unless ``value`` is a number in [0, 1) (a bool is not)."""
    if isinstance(value, bool) or not (isinstance(value, (int, float)) and 0 <= value < 1):
        raise ValueError(f"{name} must be a number in [0, 1), got {value!r}")


def misfit_loss(misfit: float, norm: float) -> float:
    """The least-squares loss ½ (misfit · norm)² of a relative L2 ``misfit`` to a target of grid norm ``norm``."""
    return 0.5 * (misfit * norm) ** 2


def relative_misfit(loss: float, norm: float) -> float:
    """The relative L2 misfit of a least-squares ``loss`` (the inverse of :func:`misfit_loss`)."""
    return math.sqrt(2 * loss) / max(norm, 1e-300)


@dataclass(frozen=True)
class EvolutionState:
    """Where a network time stepper stands: the parameters at time ``t`` and how they got there."""

    problem: Problem
    network: nn.Module
    projection: Projection
    vector: torch.Tensor
    t: float
    loss: float
    initial_fit_error: float
    fit_losses: list[float]
    iterations: int = 0  # optimizer iterations (or rate solves) of the last step, all stages
    exponential: ExponentialTargets | None = None  # the exponential schemes' functions of dt L

    @property
    def grid(self) -> Grid:
        return self.projection.grid
