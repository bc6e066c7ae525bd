r"""Lagrangian PINNs (Mojgani, Balajewicz & Hassanzadeh, CMAME 404:115810, 2023; arXiv 2205.02902).

For a scalar convection–diffusion problem :math:`u_t + a(u, x, t)\,u_x = D\,u_{xx}` (its
:class:`~pde_lab.transport.Transport` says which part of the rate is which), the solution is
followed along characteristics labelled by their starting point :math:`\xi`:

.. math::

    \partial_t X(\xi, t) = a\big(u(\xi, t), X, t\big), \quad X(\xi, t_0) = \xi, \qquad
    \partial_t u(\xi, t) = D\, \partial_{XX} u, \quad u(\xi, t_0) = u_0(\xi).

Two parallel branches (separate MLPs, as the paper describes) give
:math:`X = \xi + S\,\frac{t - t_0}{T}\,N_X` and :math:`u = N_u`, where :math:`S` = (largest
initial speed) × (time span :math:`T`) sets the displacement's scale so the branch output
stays :math:`O(1)` for any velocity, and :math:`X(\xi, t_0) = \xi` holds exactly (our
normalisation; the paper's X-branch outputs :math:`X` itself and penalises
:math:`\|X(\xi, t_0) - \xi\|`, which at :math:`\beta = 50` trained far more slowly here). Both
take :math:`(\cos\theta, \sin\theta, t)` with :math:`\theta = 2\pi(\xi - x_{lo})/L` on a periodic
interval, so :math:`X - \xi` is periodic (the paper's caveat that :math:`X(\xi, t_0) = \xi` cannot
hold at both ends disappears);
between walls (Dirichlet data where the velocity vanishes, e.g. Burgers with :math:`u = 0`)
they take :math:`(\xi, t)`, and :math:`X = x_{wall}`, :math:`u = g` are imposed at the walls.

The diffusion is taken along the physical coordinate by the chain rule,
:math:`\partial_X u = u_\xi / X_\xi`, :math:`\partial_{XX} u = \partial_\xi(u_\xi/X_\xi)/X_\xi`
(``diffusion_along="physical"``); the released code differentiates along the label,
:math:`u_{\xi\xi}`, exact only while characteristics translate rigidly (``"label"``).

Loss (paper): :math:`\gamma_X\|r_X\|_2 + \gamma_u\|r_u\|_2 + \gamma_{ic}\|u - u_0\|_2` (at
:math:`t_0`; the paper adds :math:`\|X - \xi\|_2`, zero here by construction) with plain,
unsquared, unaveraged norms and :math:`(\gamma_X, \gamma_u, \gamma_{ic}) = (10, 1, 1000)`, on the full tensor grid of labels
× times, minimised by Adam then L-BFGS. The answer on a fixed Eulerian grid is obtained by
evaluating :math:`(X, u)` on a fine label grid at each time and interpolating :math:`u`
linearly at :math:`x` (with :math:`X` wrapped into the period).
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from pde_lab.checkpoint import checkpointing_of
from pde_lab.loss_balance import check_loss_balance, make_balance
from pde_lab.nets import MLP
from pde_lab.problem import Problem
from pde_lab.solution import Solution
from pde_lab.validation import check_ints

__all__ = ["LagrangianPINN"]

_TERMS = ("characteristics", "state", "initial", "boundary")


@dataclass(frozen=True)
class LagrangianPINN:
    """Lagrangian PINN: one branch learns the characteristics X(ξ, t), one the state u(ξ, t).

    Parameters
    ----------
    state_width, state_depth, characteristics_width, characteristics_depth
        The two tanh MLP branches (paper: 5×50 for u, 2×50 for X).
    n_labels, n_times
        The full-batch training grid: labels ξ and times, end points included (paper 256 × 100).
    adam_steps, lbfgs_steps, learning_rate
        Adam (paper lr 0.01), then L-BFGS with a strong-Wolfe line search.
    weights
        Loss weights keyed ``"characteristics"``, ``"state"``, ``"initial"``, ``"boundary"``
        (default 10, 1, 1000, 1000).
    norm
        ``"l2"``: plain 2-norms of the residual vectors (paper); ``"mse"``: mean squares.
    diffusion_along
        ``"physical"`` (∂_XX u by the chain rule) or ``"label"`` (u_ξξ, the released code).
    n_eval_labels
        Labels per time used to interpolate back onto Eulerian points.
    loss_balance, balance_every
        ``None``, or ``"grad-norm"``: the terms' weights move towards equal gradient norms every
        ``balance_every`` Adam steps (``weights`` multiply them; as for
        :class:`~pde_lab.solvers.pinn.PINN`).
    dtype, device, seed, progress, cpu_threads, checkpoint, checkpoint_every, resume
        As for :class:`~pde_lab.solvers.pinn.PINN` (a checkpoint every ``checkpoint_every``
        iterations, at the end and on SIGTERM/SIGINT; ``resume=True`` continues from it).
    """

    state_width: int = 50
    state_depth: int = 5
    characteristics_width: int = 50
    characteristics_depth: int = 2
    n_labels: int = 256
    n_times: int = 100
    adam_steps: int = 2000
    lbfgs_steps: int = 500
    learning_rate: float = 1e-2
    weights: Mapping[str, float] = field(default_factory=dict)
    loss_balance: str | None = None
    balance_every: int = 100
    norm: str = "l2"
    diffusion_along: str = "physical"
    n_eval_labels: int = 2048
    dtype: str = "float64"
    device: str | None = None
    seed: int = 0
    progress: bool | None = None
    cpu_threads: int | None = 1
    checkpoint: str | None = None
    checkpoint_every: int = 500
    resume: bool = False

    name = "lpinn"

    def check(self, problem: Problem) -> None:
        """Raise ``ValueError`` (``TypeError``) saying why this solver cannot solve ``problem``; trains nothing."""
        from pde_lab.transport import check_consistent

        if not isinstance(problem, Problem):
            raise TypeError(f"LagrangianPINN.solve expects a Problem, got {type(problem).__name__}")
        self._check_options()
        Setting.of(problem)
        check_consistent(problem)
        checkpointing_of(self)

    def solve(self, problem: Problem) -> Solution:
        from pde_lab.checkpoint import BUDGET_SETTINGS, run_fingerprint
        from pde_lab.solvers.pinn import resolve_device, resolve_dtype
        from pde_lab.training import solver_run, train

        self.check(problem)
        setting = Setting.of(problem)
        device, dtype = resolve_device(self.device), resolve_dtype(self.dtype)
        weights = {"characteristics": 10.0, "state": 1.0, "initial": 1000.0, "boundary": 1000.0, **self.weights}

        start = time.perf_counter()
        with solver_run(device, self.cpu_threads, self.seed) as memory:
            grid = setting.training_grid(self.n_labels, self.n_times, device, dtype)
            scale = setting.displacement_scale(grid)
            network = LagrangianNetwork(setting, self.state_width, self.state_depth, self.characteristics_width,
                                        self.characteristics_depth, scale).to(device=device, dtype=dtype)
            result = train(
                list(network.parameters()),
                lambda: lagrangian_loss_terms(setting, network, grid, self.norm, self.diffusion_along),
                adam_steps=self.adam_steps, lbfgs_steps=self.lbfgs_steps, learning_rate=self.learning_rate,
                weights=weights, progress=self.progress, description=f"{self.name} {problem.name}",
                checkpoint=checkpointing_of(self), fingerprint=run_fingerprint(self, problem, network, BUDGET_SETTINGS),
                balance=make_balance(self.loss_balance, self.balance_every),
            )
        wall = time.perf_counter() - start
        network.eval()
        stats = {
            "wall_s": wall, "peak_mem_mb": memory.peak_mb, "iterations": result.iterations,
            "device": str(device), "dtype": str(dtype).removeprefix("torch."),
            "final_loss": result.history["loss"][-1] if result.history["loss"] else None,
            "displacement_scale": scale,
        }
        evaluate = eulerian_field(setting, network, self.n_eval_labels, device, dtype)
        return Solution(problem, evaluate, self.name, result.status, result.message, stats, result.history, network)

    def _check_options(self) -> None:
        check_loss_balance(self.loss_balance, self.balance_every)
        check_ints(self, ("state_width", "state_depth", "characteristics_width", "characteristics_depth",
                          "n_eval_labels"))
        for name in ("n_labels", "n_times"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 2:
                raise ValueError(f"{name} must be an int >= 2 (the grid includes both end points), got {value!r}")
        unknown = set(self.weights) - set(_TERMS)
        if unknown:
            raise ValueError(f"unknown loss weights {sorted(unknown)}; use {', '.join(map(repr, _TERMS))}")
        if self.norm not in ("l2", "mse"):
            raise ValueError(f"norm must be 'l2' (plain 2-norms, paper) or 'mse', got {self.norm!r}")
        if self.diffusion_along not in ("physical", "label"):
            raise ValueError(f"diffusion_along must be 'physical' or 'label', got {self.diffusion_along!r}")
        if not (isinstance(self.learning_rate, (int, float)) and math.isfinite(self.learning_rate)):
            raise ValueError(f"learning_rate must be a finite number, got {self.learning_rate!r}")


# ------------------------------------------------------------------ the problem's setting
@dataclass(frozen=True)
class Setting:
    """What the LPINN reads from a problem: interval, periodicity or walls, the transport."""

    problem: Problem
    lower: float
    upper: float
    periodic: bool
    walls: tuple = ()

    @classmethod
    def of(cls, problem: Problem) -> Setting:
        from pde_lab.conditions import Dirichlet, Periodic

        if problem.transport is None:
            raise ValueError(
                f"lpinn needs to know which part of the rate is convection and which diffusion; problem "
                f"{problem.name!r} has no transport= (see pde_lab.transport.Transport, e.g. problems.convection)"
            )
        if not problem.is_time_dependent or problem.spatial_dim != 1:
            raise ValueError(f"lpinn solves evolution problems in one space dimension (as in the paper); "
                             f"problem {problem.name!r} has {problem.spatial_dim} spatial dimension(s)")
        periodic = any(isinstance(c, Periodic) for c in problem.boundary_conditions)
        walls = tuple(c for c in problem.boundary_conditions if isinstance(c, Dirichlet))
        others = [c for c in problem.boundary_conditions if not isinstance(c, (Dirichlet, Periodic))]
        if others or (periodic and walls) or any(c.where is not None for c in walls):
            raise ValueError(f"lpinn handles a periodic interval or Dirichlet data on both ends; problem "
                             f"{problem.name!r} has {problem.boundary_conditions}")
        lower, upper = (float(np.asarray(b, dtype=float)[0]) for b in problem.geometry.bounds)
        return cls(problem, lower, upper, periodic, walls)

    @property
    def length(self) -> float:
        return self.upper - self.lower

    def training_grid(self, n_labels: int, n_times: int, device, dtype) -> dict:
        """The full-batch grid of labels × times (end points included) and its initial/wall rows."""
        from pde_lab.conditions import evaluate_value

        t0, t1 = self.problem.time_span
        labels, times = np.linspace(self.lower, self.upper, n_labels), np.linspace(t0, t1, n_times)
        xi, t = (a.ravel() for a in np.meshgrid(labels, times, indexing="ij"))
        points = torch.as_tensor(np.column_stack([xi, t]), dtype=dtype, device=device)
        initial = np.flatnonzero(t == t0)
        u0 = torch.as_tensor(self.problem.initial_condition(points[initial, :1]), dtype=dtype, device=device)
        if not torch.isfinite(u0).all():
            raise ValueError("initial_condition returned NaN or inf")
        grid = {"points": points.requires_grad_(True), "initial": initial, "u0": u0.reshape(-1)}
        if self.walls:
            wall = np.flatnonzero((xi == self.lower) | (xi == self.upper))
            targets = sum(evaluate_value(c.value, points[wall].detach()) for c in self.walls) / len(self.walls)
            grid.update(wall=wall, wall_x=points[wall, 0].detach(), wall_u=targets)
        return grid

    def displacement_scale(self, grid: dict) -> float:
        """Largest initial speed × time span (1 when the fluid is at rest); checks the walls are impermeable."""
        transport, parameters = self.problem.transport, self.problem.parameters
        points = grid["points"].detach()
        initial = points[grid["initial"]]
        (speed,) = transport.velocities(_physical(self.problem, initial[:, 0], initial[:, 1], grid["u0"]), parameters, 1)
        scale = float(speed.abs().max()) * (self.problem.time_span[1] - self.problem.time_span[0])
        if "wall" in grid:
            at_walls = _physical(self.problem, grid["wall_x"], points[grid["wall"], 1], grid["wall_u"])
            (wall_speed,) = transport.velocities(at_walls, parameters, 1)
            if float(wall_speed.abs().max()) > 1e-8 * max(scale, 1.0):
                raise ValueError("lpinn needs impermeable walls (velocity zero at Dirichlet boundaries, like Burgers "
                                 "with u = 0 there); characteristics entering through a boundary are not supported")
        if not math.isfinite(scale):
            raise ValueError("the transport velocity of the initial data is not finite")
        return scale if scale > 0 else 1.0


class _ValuesOnly:
    """A derivative engine for transport terms on moving points: values yes, derivatives no."""

    name = "values-only"

    def values(self, fields):
        return fields.function(fields.points)

    def partial(self, fields, index, axes):
        raise ValueError("Transport velocity and diffusion may read field values and coordinates (f.u, f.x, f.t), "
                         "not derivatives: a Lagrangian solver evaluates them on moving points")


def _physical(problem: Problem, x, t, u):
    """Fields at the physical points (x, t) carrying the values u, for the transport callables."""
    from pde_lab.fields import Fields

    return Fields(lambda _: u[:, None], torch.stack([x, t], dim=1), problem.fields, problem.coordinate_names,
                  _ValuesOnly())


# ------------------------------------------------------------------------- the network
class LagrangianNetwork(nn.Module):
    r"""Two parallel tanh branches of :math:`(\xi, t)`; output columns :math:`(X, u)`.

    :math:`X = \xi + S\,\frac{t - t_0}{T}\,N_X`; the last layer of :math:`N_X` starts at zero,
    so training starts from :math:`X = \xi` (characteristics at rest, :math:`X_\xi = 1`).
    """

    def __init__(self, setting: Setting, state_width: int, state_depth: int, characteristics_width: int,
                 characteristics_depth: int, scale: float) -> None:
        super().__init__()
        t0, t1 = setting.problem.time_span
        self.lower, self.length, self.periodic, self.scale = setting.lower, setting.length, setting.periodic, scale
        self.start, self.span = t0, t1 - t0
        box = ([-1.0, -1.0, t0], [1.0, 1.0, t1]) if setting.periodic else ([setting.lower, t0], [setting.upper, t1])
        self.state = MLP(len(box[0]), 1, state_width, state_depth, "tanh", *box)
        self.characteristics = MLP(len(box[0]), 1, characteristics_width, characteristics_depth, "tanh", *box)
        nn.init.zeros_(self.characteristics.layers[-1].weight)

    def features(self, points: torch.Tensor) -> torch.Tensor:
        """(cos θ, sin θ, t) on a periodic interval, else (ξ, t) itself."""
        if not self.periodic:
            return points
        angle = (2 * math.pi / self.length) * (points[:, 0] - self.lower)
        return torch.stack([torch.cos(angle), torch.sin(angle), points[:, 1]], dim=1)

    def forward(self, points: torch.Tensor) -> torch.Tensor:
        features = self.features(points)
        elapsed = (points[:, 1] - self.start) / self.span
        position = points[:, 0] + self.scale * elapsed * self.characteristics(features)[:, 0]
        return torch.stack([position, self.state(features)[:, 0]], dim=1)


# ---------------------------------------------------------------------------- the loss
def lagrangian_loss_terms(setting: Setting, network, grid: dict, norm: str, diffusion_along: str) -> dict:
    r"""Loss terms: :math:`r_X = X_t - a`, :math:`r_u = u_t - D\,\partial_{XX}u`, initial and wall data."""
    def size(residual):
        return torch.linalg.vector_norm(residual) if norm == "l2" else residual.square().mean()

    def derivative(value, axis):
        (row,) = torch.autograd.grad(value.sum(), points, create_graph=True)
        return row[:, axis]

    problem, points = setting.problem, grid["points"]
    out = network(points)
    position, state = out[:, 0], out[:, 1]
    physical = _physical(problem, position, points[:, 1], state)
    (velocity,) = problem.transport.velocities(physical, problem.parameters, 1)
    diffusivity = problem.transport.diffusivity(physical, problem.parameters)
    terms = {"characteristics": size(derivative(position, 1) - velocity)}
    state_rate = derivative(state, 1)
    if bool((diffusivity != 0).any()):
        state_xi = derivative(state, 0)
        if diffusion_along == "physical":
            stretch = derivative(position, 0)
            second = derivative(state_xi / stretch, 0) / stretch
        else:
            second = derivative(state_xi, 0)
        state_rate = state_rate - diffusivity * second
    terms["state"] = size(state_rate)
    first = grid["initial"]
    terms["initial"] = size(state[first] - grid["u0"])  # X(ξ, t0) = ξ holds by construction
    if "wall" in grid:
        wall = grid["wall"]
        terms["boundary"] = size(position[wall] - grid["wall_x"]) + size(state[wall] - grid["wall_u"])
    return terms


# ----------------------------------------------------------------- back to Euler's grid
def eulerian_field(setting: Setting, network, n_labels: int, device, dtype):
    """``points (n, 2) -> u (n, 1)``: at each distinct time, interpolate u linearly at x from (X, u) pairs."""
    periodic = setting.periodic
    labels = np.linspace(setting.lower, setting.upper, n_labels, endpoint=not periodic)
    per_batch = max(1, 2**18 // n_labels)

    def evaluate(points: np.ndarray) -> np.ndarray:
        x, t = points[:, 0], points[:, 1]
        times, inverse = np.unique(t, return_inverse=True)
        order = np.argsort(inverse, kind="stable")
        starts = np.searchsorted(inverse[order], np.arange(len(times) + 1))
        values = np.empty(len(points))
        for first in range(0, len(times), per_batch):
            chunk = times[first:first + per_batch]
            grid = np.column_stack([np.tile(labels, len(chunk)), np.repeat(chunk, n_labels)])
            with torch.no_grad():
                out = network(torch.as_tensor(grid, dtype=dtype, device=device)).double().cpu().numpy()
            positions, states = out[:, 0].reshape(len(chunk), -1), out[:, 1].reshape(len(chunk), -1)
            for j in range(len(chunk)):
                rows = order[starts[first + j]:starts[first + j + 1]]
                position = positions[j]
                if periodic:
                    position = setting.lower + np.mod(position - setting.lower, setting.length)
                sort = np.argsort(position, kind="stable")
                values[rows] = np.interp(x[rows], position[sort], states[j][sort],
                                         period=setting.length if periodic else None)
        return values[:, None]

    return evaluate
