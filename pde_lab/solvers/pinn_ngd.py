r"""PINN trained by energy natural gradient descent (Müller & Zeinhofer, ICML 2023).

The PINN loss of a steady problem :math:`R[u] = 0` in :math:`\Omega`, :math:`B[u] = g` on
:math:`\partial\Omega`, is a sum of squares of residual rows,

.. math::

    L(\theta) = \frac12 \lVert r(\theta) \rVert^2, \qquad
    r = \Bigl( \sqrt{\tfrac{w_r}{N_r}}\, R[u_\theta](x_i),\;
               \sqrt{\tfrac{w_b}{N_b}}\, \bigl(B[u_\theta](y_j) - g(y_j)\bigr) \Bigr),

(half the :class:`~pde_lab.solvers.pinn.PINN` loss). Energy natural gradient preconditions
the gradient with the Gram matrix :math:`G = J^\top J` of the linearised residual,
:math:`J = \partial r / \partial\theta` — for a linear PDE exactly the Gauss–Newton matrix —
so each step solves the damped least-squares problem
:math:`\min_\delta \lVert J\delta + r\rVert^2 + \lambda\lVert\delta\rVert^2` and takes the best
:math:`\theta + \eta\delta` on the grid :math:`\eta \in \{1, \frac12, \dots, 2^{-K}\}`
(searched from the previous iteration's :math:`\eta`, both ways; Levenberg–Marquardt
adaptation of :math:`\lambda`; :mod:`pde_lab.natural_gradient`). The
Jacobian rows are differentiated through the residual with ``vmap(jacrev(...))`` and the
Taylor-mode derivative engine, in float64.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import torch

from pde_lab.checkpoint import checkpointing_of
from pde_lab.conditions import Dirichlet, Neumann
from pde_lab.problem import Problem
from pde_lab.solution import Solution, Status
from pde_lab.solvers.pinn import network_field, resolve_device, resolve_dtype
from pde_lab.validation import check_ints, check_non_negative

__all__ = ["PINNNGD"]


@dataclass(frozen=True)
class PINNNGD:
    """Steady PINN with Gauss–Newton / energy-natural-gradient steps.

    Parameters
    ----------
    width, depth, activation
        The MLP (:class:`~pde_lab.nets.MLP`, inputs rescaled to :math:`[-1, 1]`).
    iterations
        Natural-gradient steps (fewer if ``tolerance`` is met).
    n_interior, n_boundary, sampling
        Collocation points, fixed for the run (:func:`pde_lab.collocation.sample_collocation`).
    weights
        Loss weights ``"pde"``, ``"boundary"`` (default 1).
    damping
        Initial Tikhonov :math:`\\lambda`, adapted as Levenberg–Marquardt.
    line_search
        ``K``: step sizes :math:`2^{-k}`, ``k = 0..K``, the best is kept.
    tolerance
        Stop once the loss :math:`\\frac12\\lVert r\\rVert^2` is at or below it.
    rcond
        Relative cutoff of the least-squares solve (``None``: ``eps * max(m, n)``); a tuple
        tries each truncation from one SVD and keeps the best step (damping then unused).
    derivatives
        Engine for the residual's derivatives; it must work under ``torch.func``
        (``"taylor"``, ``"forward-laplacian"``), not ``"autograd"``.
    checkpoint, checkpoint_every, resume
        Checkpoint file, written atomically every ``checkpoint_every`` iterations, at the end and on
        SIGTERM/SIGINT (the run then stops with status ``interrupted``); it holds the parameters,
        the damping, the line search's start, the history and the time spent. With ``resume=True``
        the run continues from it and ends bit for bit where an uninterrupted run ends (seeded, on
        the CPU); ``iterations`` may grow on resume.
    dtype, device, seed, progress, cpu_threads
        As for :class:`~pde_lab.solvers.pinn.PINN`; Gauss–Newton wants ``float64``.
    """

    width: int = 32
    depth: int = 2
    activation: str = "tanh"
    iterations: int = 500
    n_interior: int = 900
    n_boundary: int = 200
    sampling: str = "hammersley"
    weights: Mapping[str, float] = field(default_factory=dict)
    damping: float = 1e-6
    line_search: int = 20
    tolerance: float = 1e-24
    rcond: float | tuple[float, ...] | None = None
    derivatives: str = "taylor"
    dtype: str = "float64"
    device: str | None = None
    seed: int = 0
    progress: bool | None = None
    cpu_threads: int | None = 1
    checkpoint: str | None = None
    checkpoint_every: int = 50
    resume: bool = False

    name = "pinn-ngd"

    def solve(self, problem: Problem) -> Solution:
        from tqdm.auto import tqdm

        from pde_lab.checkpoint import BUDGET_SETTINGS, interrupt_flag, load_checkpoint, run_fingerprint
        from pde_lab.collocation import sample_collocation
        from pde_lab.derivatives import make_engine
        from pde_lab.natural_gradient import flat_parameters, gauss_newton, load_parameters
        from pde_lab.nets import MLP
        from pde_lab.training import solver_run

        self._check(problem)
        checkpointing = checkpointing_of(self)
        device, dtype = resolve_device(self.device), resolve_dtype(self.dtype)
        lower, upper = (np.asarray(b, dtype=float) for b in problem.geometry.bounds)
        start = time.perf_counter()
        with solver_run(device, self.cpu_threads, self.seed) as memory, \
                interrupt_flag(checkpointing is not None) as flag:
            network = MLP(problem.input_dim, len(problem.fields), self.width, self.depth, self.activation,
                          lower, upper).to(device=device, dtype=dtype).requires_grad_(False)
            collocation = sample_collocation(problem, n_interior=self.n_interior, n_boundary=self.n_boundary,
                                             n_initial=1, method=self.sampling, seed=self.seed, device=device,
                                             dtype=dtype)
            blocks = _blocks(problem, collocation, make_engine(self.derivatives, network), dict(self.weights))
            run = _Run(flat_parameters(network), self.damping)
            fingerprint = run_fingerprint(self, problem, network, BUDGET_SETTINGS | {"iterations"})
            if checkpointing is not None and checkpointing.resume:
                saved = load_checkpoint(checkpointing.path, fingerprint)
                if saved is not None:
                    run = _Run.restored(saved, device, dtype)
                    start -= run.elapsed
            show = sys.stderr.isatty() if self.progress is None else self.progress
            bar = tqdm(total=self.iterations, initial=run.done, desc=f"{self.name} {problem.name}",
                       disable=not show, dynamic_ncols=True)

            def record(iteration: int, loss: float) -> None:
                run.history["iteration"].append(run.done + iteration + 1)
                run.history["loss"].append(loss)
                bar.update(1)
                bar.set_postfix(loss=f"{loss:.3e}")

            def residuals(v):
                return torch.cat([b.residuals(network, v) for b in blocks])

            def jacobian(v, columns):
                return torch.cat([b.jacobian(network, v, columns) for b in blocks])

            # without a checkpoint one call does all iterations; with one, a call per checkpoint_every
            chunk = self.iterations if checkpointing is None else checkpointing.every
            result = None
            while run.done < self.iterations or result is None:
                result = gauss_newton(
                    residuals, jacobian, run.vector, iterations=min(chunk, self.iterations - run.done),
                    damping=run.damping, adapt_damping=True, line_search=self.line_search, tolerance=self.tolerance,
                    rcond=self.rcond,
                    warm_line_search=True, on_iteration=record, should_stop=lambda: flag["signal"] is not None,
                    line_search_start=run.line_search_start, sketch_rank=run.sketch_rank,
                )
                run.advance(result)
                if checkpointing is not None and result.finite:
                    run.save(checkpointing.path, fingerprint, time.perf_counter() - start)
                if result.stopped or result.converged or result.stalled or not result.finite:
                    break
            bar.close()
            load_parameters(network, result.vector)
        final = run.history["loss"][-1] if run.history["loss"] else result.loss
        if result.stopped:
            status, message = Status.INTERRUPTED, (
                f"stopped by {flag['signal']} after {run.done} of {self.iterations} iterations; checkpoint written "
                f"to {self.checkpoint}. Run again with resume=True (--resume) to continue.")
        elif not result.finite:
            status, message = Status.DIVERGED, (f"the loss became NaN/inf at iteration {run.done}; "
                                                "try a larger damping or dtype='float64'")
        elif result.converged:
            status, message = Status.CONVERGED, f"loss {final:.3e} <= tolerance {self.tolerance:g}"
        else:
            status, message = Status.BUDGET_EXHAUSTED, (f"used all {self.iterations} iterations; final loss "
                                                        f"{final:.3e}. Increase iterations to lower it further.")
        stats = {"wall_s": time.perf_counter() - start, "peak_mem_mb": memory.peak_mb,
                 "iterations": run.done, "device": str(device), "dtype": str(dtype).removeprefix("torch."),
                 "final_loss": final, "parameters": int(result.vector.numel())}
        return Solution(problem, network_field(network, device, dtype), self.name, status, message, stats,
                        run.history, network)

    def check(self, problem: Problem) -> None:
        """Raise ``ValueError`` (``TypeError``) saying why this solver cannot solve ``problem``; trains nothing."""
        self._check(problem)

    def _check(self, problem: Problem) -> None:
        if not isinstance(problem, Problem):
            raise TypeError(f"PINNNGD.solve expects a Problem, got {type(problem).__name__}")
        if problem.is_time_dependent:
            raise ValueError(f"pinn-ngd solves steady problems; {problem.name!r} is an evolution problem "
                             "(use solver='teng' to integrate it in time)")
        for condition in problem.boundary_conditions:
            if not isinstance(condition, (Dirichlet, Neumann)):
                raise ValueError(f"pinn-ngd supports Dirichlet and Neumann conditions, not {condition!r}")
        unknown = set(self.weights) - {"pde", "boundary"}
        if unknown:
            raise ValueError(f"unknown loss weights {sorted(unknown)}; use 'pde', 'boundary'")
        check_ints(self, ("iterations", "n_interior", "n_boundary", "width", "depth"))
        if self.derivatives == "autograd":
            raise ValueError("pinn-ngd differentiates residuals with torch.func; use derivatives='taylor' "
                             "or 'forward-laplacian' (nested autograd does not compose with vmap)")
        check_non_negative("damping", self.damping)
        checkpointing_of(self)


@dataclass
class _Run:
    """What the Gauss–Newton loop carries from one call to the next, and between processes."""

    vector: torch.Tensor
    damping: float
    line_search_start: int = 0
    sketch_rank: int = 64
    done: int = 0
    elapsed: float = 0.0
    history: dict[str, list] = field(default_factory=lambda: {"iteration": [], "loss": []})

    def advance(self, result) -> None:
        self.vector, self.damping, self.done = result.vector, result.damping, self.done + result.iterations
        self.line_search_start, self.sketch_rank = result.line_search_start, result.sketch_rank

    def save(self, path, fingerprint, elapsed: float) -> None:
        from pde_lab.checkpoint import save_checkpoint

        save_checkpoint(path, {"fingerprint": fingerprint, "vector": self.vector.cpu(), "damping": self.damping,
                               "line_search_start": self.line_search_start, "sketch_rank": self.sketch_rank,
                               "done": self.done, "elapsed": elapsed, "history": self.history})

    @classmethod
    def restored(cls, saved: dict, device, dtype) -> _Run:
        return cls(saved["vector"].to(device=device, dtype=dtype), float(saved["damping"]),
                   int(saved["line_search_start"]), int(saved["sketch_rank"]), int(saved["done"]),
                   float(saved["elapsed"]), saved["history"])


@dataclass
class _Block:
    """Residual rows ``scale * (body(points) - target)`` of one loss term."""

    body: object
    points: torch.Tensor
    target: torch.Tensor | None
    scale: float

    def residuals(self, network, vector):
        from pde_lab.natural_gradient import pointwise_values

        values = pointwise_values(network, self.body, vector, self.points)
        values = values if self.target is None else values - self.target[:, None]
        return self.scale * values.reshape(-1)

    def jacobian(self, network, vector, columns):
        from pde_lab.natural_gradient import pointwise_jacobian

        return self.scale * pointwise_jacobian(network, self.body, vector, self.points, columns, chunk_size=4096)


def _blocks(problem: Problem, collocation, engine, weights: dict[str, float]) -> list[_Block]:
    from pde_lab.collocation import field_residuals
    from pde_lab.fields import Fields

    def interior(network, points):
        f = Fields(network, points, problem.fields, problem.coordinate_names, engine)
        return torch.stack(field_residuals(problem, f), dim=1)

    n_r = len(collocation.interior)
    blocks = [_Block(interior, collocation.interior, None, math.sqrt(weights.get("pde", 1.0) / n_r))]
    n_b = sum(len(points) for _, points, _, _ in collocation.boundary)
    for condition, points, normals, target in collocation.boundary:
        index = problem.fields.index(condition.field or problem.fields[0])
        scale = math.sqrt(weights.get("boundary", 1.0) / n_b)
        if isinstance(condition, Dirichlet):
            blocks.append(_Block(lambda network, x, i=index: network(x)[:, i], points, target, scale))
        else:  # Neumann: the normals ride along as extra columns of the points
            d = points.shape[1]

            def flux(network, x, i=index, d=d):
                f = Fields(network, x[:, :d], problem.fields, problem.coordinate_names, engine)
                return (f.grad(problem.fields[i]) * x[:, d:]).sum(dim=1)

            blocks.append(_Block(flux, torch.cat([points, normals], dim=1), target, scale))
    return blocks
