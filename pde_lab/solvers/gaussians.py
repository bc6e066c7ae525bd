r"""PIG: physics-informed Gaussians (Kang, Oh, Hong & Park, ICLR 2025; arXiv 2412.05994).

A PINN whose network is :class:`~pde_lab.gaussian_features.GaussianNetwork`: :math:`k`
channels of :math:`N` Gaussians with trainable means, covariances and weights, on inputs
rescaled to :math:`[0, R]^D`, followed by a tiny MLP. It minimises the PINN loss

.. math::

    \mathcal{L} = w_r\,\overline{|u_t - F[u]|^2} + w_b\,\overline{|B[u] - g|^2}
        + w_0\,\overline{|u(\cdot, t_0) - u_0|^2}

(residual :math:`R[u]` for steady problems) with Adam, then L-BFGS, through the same
collocation sampling, loss terms and training loop as :class:`~pde_lab.solvers.pinn.PINN`.
Works for any input dimension, space or space-time. The error reported by ``error_vs`` is
that of the final parameters (the paper reports the best error seen during training).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from pde_lab.checkpoint import checkpointing_of
from pde_lab.loss_balance import check_loss_balance, make_balance
from pde_lab.problem import Problem
from pde_lab.solution import Solution

__all__ = ["PIG"]


@dataclass(frozen=True)
class PIG:
    """Physics-informed Gaussians, trained like a PINN.

    Parameters
    ----------
    n_gaussians, channels, covariance
        :math:`N` Gaussians per channel, :math:`k` channels (paper Helmholtz: 800 × 4),
        ``"diagonal"`` or ``"full"`` covariances.
    sigma, weight_std, box_size
        Initial Gaussian width :math:`\\sigma_0` (0.1), initial weight scale (0.01) and the
        side :math:`R` of the box the inputs are rescaled to (2: the code's :math:`[-1, 1]^2`).
    mlp_width
        Hidden width of the MLP after the embedding (16).
    adam_steps, lbfgs_steps, learning_rate
        Adam at ``learning_rate``, then L-BFGS with a strong-Wolfe line search.
    n_interior, n_boundary, n_initial, sampling, weights
        Collocation and loss weights (``"pde"``, ``"boundary"``, ``"initial"``), as for PINN.
    resample_every, lbfgs_resample_every
        Redraw every collocation point (uniformly at random, seeded) every ``resample_every``
        Adam steps, and every ``lbfgs_resample_every`` L-BFGS iterations, which are then run
        as one ``LBFGS.step`` each (its curvature history carries over); 0: fixed points. The
        paper's Helmholtz run redraws before each of its 2,001 ``LBFGS.step`` calls of
        torch's default 20 iterations (``lbfgs_resample_every=20``, ``lbfgs_steps=40020``);
        its Adam runs redraw before every step (``resample_every=1``).
    derivatives
        Derivative engine: ``"taylor"`` (hand-written jets through the Gaussians and the MLP,
        :mod:`pde_lab.derivatives.module_jets`; about 1.8x faster per step than nested autograd
        at 800 x 4 Gaussians) or ``"autograd"``.
    loss_balance, balance_every
        ``None``, or ``"grad-norm"``: the terms' weights move towards equal gradient norms every
        ``balance_every`` Adam steps (``weights`` multiply them; as for
        :class:`~pde_lab.solvers.pinn.PINN`).
    dtype, device, seed, progress, cpu_threads
        As for PINN; float64 by default, since L-BFGS drives PIG's loss very low.
    checkpoint, checkpoint_every, resume
        As for :class:`~pde_lab.solvers.pinn.PINN`: a checkpoint every ``checkpoint_every``
        iterations, at the end and on SIGTERM/SIGINT; ``resume=True`` continues from it (with a
        larger ``adam_steps``/``lbfgs_steps`` if wanted), seeded on the CPU bit for bit.
    """

    n_gaussians: int = 800
    channels: int = 4
    covariance: str = "diagonal"
    sigma: float = 0.1
    weight_std: float = 0.01
    box_size: float = 2.0
    mlp_width: int = 16
    adam_steps: int = 1000
    lbfgs_steps: int = 2000
    learning_rate: float = 1e-2
    n_interior: int = 4000
    n_boundary: int = 1000
    n_initial: int = 500
    sampling: str = "hammersley"
    resample_every: int = 0
    lbfgs_resample_every: int = 0
    weights: Mapping[str, float] = field(default_factory=dict)
    loss_balance: str | None = None
    balance_every: int = 100
    derivatives: str = "taylor"
    dtype: str = "float64"
    device: str | None = None
    seed: int = 0
    progress: bool | None = None
    cpu_threads: int | None = 1
    checkpoint: str | None = None
    checkpoint_every: int = 500
    resume: bool = False

    name = "pig"

    def check(self, problem: Problem) -> None:
        """Raise ``ValueError`` (``TypeError``) saying why this solver cannot solve ``problem``; trains nothing."""
        if not isinstance(problem, Problem):
            raise TypeError(f"PIG.solve expects a Problem, got {type(problem).__name__}")
        unknown = set(self.weights) - {"pde", "boundary", "initial"}
        if unknown:
            raise ValueError(f"unknown loss weights {sorted(unknown)}; use 'pde', 'boundary', 'initial'")
        checkpointing_of(self)
        check_loss_balance(self.loss_balance, self.balance_every)
        for name in ("resample_every", "lbfgs_resample_every"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name} must be an int >= 0 (0: fixed points), got {value!r}")

    def solve(self, problem: Problem) -> Solution:
        from pde_lab.checkpoint import BUDGET_SETTINGS, run_fingerprint
        from pde_lab.collocation import loss_terms, sample_collocation
        from pde_lab.derivatives import make_engine
        from pde_lab.gaussian_features import GaussianFeatures, GaussianNetwork
        from pde_lab.solvers.pinn import network_field, resolve_device, resolve_dtype
        from pde_lab.training import solver_run, train

        self.check(problem)
        device, dtype = resolve_device(self.device), resolve_dtype(self.dtype)
        lower, upper = (np.asarray(b, dtype=float) for b in problem.geometry.bounds)
        if problem.is_time_dependent:
            lower, upper = np.append(lower, problem.time_span[0]), np.append(upper, problem.time_span[1])

        start = time.perf_counter()
        with solver_run(device, self.cpu_threads, self.seed) as memory:
            features = GaussianFeatures(problem.input_dim, self.n_gaussians, self.channels, self.covariance,
                                        self.sigma, self.weight_std, self.box_size, lower, upper)
            network = GaussianNetwork(features, len(problem.fields), self.mlp_width).to(device=device, dtype=dtype)
            initial_means = features.means.detach().clone()
            collocation = sample_collocation(
                problem, n_interior=self.n_interior, n_boundary=self.n_boundary, n_initial=self.n_initial,
                method=self.sampling, seed=self.seed, device=device, dtype=dtype,
            )
            engine = make_engine(self.derivatives, network)
            redraw = _Redraw(problem, collocation, self, device, dtype)
            result = train(
                list(network.parameters()), lambda: loss_terms(problem, network, collocation, engine),
                adam_steps=self.adam_steps, lbfgs_steps=self.lbfgs_steps, learning_rate=self.learning_rate,
                weights=dict(self.weights), progress=self.progress, description=f"{self.name} {problem.name}",
                lbfgs_chunk=self.lbfgs_resample_every or 25,
                balance=make_balance(self.loss_balance, self.balance_every),
                before_step=redraw.adam if self.resample_every else None,
                before_chunk=redraw.lbfgs if self.lbfgs_resample_every else None,
                checkpoint=checkpointing_of(self), fingerprint=run_fingerprint(self, problem, network, BUDGET_SETTINGS),
            )
            moved = float((features.means.detach() - initial_means).norm(dim=-1).mean())
        wall = time.perf_counter() - start
        network.eval()
        stats = {
            "wall_s": wall, "peak_mem_mb": memory.peak_mb, "iterations": result.iterations,
            "device": str(device), "dtype": str(dtype).removeprefix("torch."),
            "final_loss": result.history["loss"][-1] if result.history["loss"] else None,
            "gaussians": self.channels * self.n_gaussians, "mean_displacement": moved, "redraws": redraw.count,
        }
        # a smaller evaluation batch than the PINN's: each point meets all k·N Gaussians
        evaluate = network_field(network, device, dtype, batch=max(256, 2**22 // (self.channels * self.n_gaussians)))
        return Solution(problem, evaluate, self.name, result.status, result.message, stats, result.history, network)


class _Redraw:
    """Fresh uniform collocation points (interior, boundary, initial) in place, seeded by
    ``(seed, stage, k)``: before Adam step ``k * resample_every`` and before every L-BFGS
    chunk but the first (so each stage starts on the points it was given)."""

    def __init__(self, problem: Problem, collocation, solver: PIG, device, dtype) -> None:
        self.problem, self.collocation, self.solver, self.device, self.dtype = problem, collocation, solver, device, dtype
        self.count = self.block = 0

    def adam(self, step: int) -> None:
        block = step // self.solver.resample_every  # by block, not by step: a resumed run draws its block's points
        if block != self.block:
            self.block = block
            self._draw(0, block)

    def lbfgs(self, iteration: int) -> None:
        if iteration > 0:
            self._draw(1, iteration // self.solver.lbfgs_resample_every)

    def _draw(self, stage: int, k: int) -> None:
        from pde_lab.collocation import sample_collocation

        s = self.solver
        seed = int(np.random.SeedSequence([s.seed, stage, k]).generate_state(1)[0])
        fresh = sample_collocation(self.problem, n_interior=s.n_interior, n_boundary=s.n_boundary,
                                   n_initial=s.n_initial, method="uniform", seed=seed, device=self.device,
                                   dtype=self.dtype)
        for name in ("interior", "boundary", "periodic", "initial"):
            setattr(self.collocation, name, getattr(fresh, name))
        self.count += 1
