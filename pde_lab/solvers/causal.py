r"""Causal physics-informed training (Wang, Sankaran & Perdikaris, "Respecting causality is all
you need for training physics-informed neural networks", arXiv 2203.07404; CMAME 421, 2024).

For :math:`u_t = F[u]` on :math:`[t_0, t_1] \times \Omega`, each step draws :math:`M` sorted
times :math:`t_1 < \dots < t_M` and :math:`N` spatial points, and minimises

.. math::

    \mathcal L = \frac1M\sum_{i=1}^M w_i \mathcal L_i + \lambda_{ic}\mathcal L_{ic} [+ \mathcal L_{bc}],
    \qquad \mathcal L_i = \frac1N\sum_j |u_t - F[u]|^2(x_j, t_i),\qquad
    w_i = e^{-\varepsilon \sum_{k<i}\mathcal L_k}

with the weights detached (:mod:`pde_lab.causal_weights`; ``initial_in_exponent`` adds
:math:`\lambda_{ic}\mathcal L_{ic}` inside the exponent as in the paper's KS/NS code). The
causality strength :math:`\varepsilon` steps through ``epsilons`` once
:math:`\min_i w_i > 0.99` (checked every ``check_every`` steps; at most
``steps_per_epsilon`` each). Adam, learning rate :math:`10^{-3}\cdot 0.9^{s/5000}`; the
optimiser state carries over between :math:`\varepsilon`'s. Optionally (``lbfgs_steps``, not in the
paper) each window ends with float64 L-BFGS on the same loss at fixed points
(:mod:`pde_lab.solvers.causal_refine`).

*Time marching*: the span is cut into ``windows``; each gets a freshly initialised network
(same seed), trained on its window widened by ``window_overlap``, with the previous
window's prediction at its end time as initial condition.

*Networks* (:mod:`pde_lab.architectures`): periodic axes of the problem (``Periodic``
conditions) are embedded exactly, so their boundary losses are dropped; other conditions
enter as a soft penalty. Modified MLP or plain MLP trunk, optional temporal encoding and
random Fourier features.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from pde_lab.checkpoint import checkpointing_of
from pde_lab.loss_balance import check_loss_balance
from pde_lab.problem import Problem
from pde_lab.solution import Solution, Status
from pde_lab.solvers.causal_checkpoint import SavedRun as _Saved
from pde_lab.solvers.causal_points import as_columns as _as_columns
from pde_lab.solvers.causal_points import at_time as _at_time
from pde_lab.solvers.causal_points import embedded_axes as _embedded_axes
from pde_lab.solvers.causal_points import seeded_generator as _generator
from pde_lab.solvers.causal_points import space_pool as _space_pool
from pde_lab.solvers.causal_settings import PAPER_SETTINGS
from pde_lab.solvers.pinn import resolve_device, resolve_dtype
from pde_lab.validation import check_bools, check_int, check_ints, check_positives

__all__ = ["PAPER_SETTINGS", "CausalPINN"]


@dataclass(frozen=True)
class CausalPINN:
    """Causal PINN with time marching, exact periodic embedding and the modified MLP.

    Parameters
    ----------
    architecture, width, depth, activation
        Trunk: ``"modified-mlp"`` or ``"mlp"``, hidden width, number of hidden layers.
    harmonics, trainable_harmonics, cross_harmonics
        Periodic embedding: :math:`M` harmonics per periodic axis; learned amplitudes; the mixed
        harmonics :math:`\\cos, \\sin(\\mathbf k \\cdot \\boldsymbol\\omega \\mathbf x)` of two or more
        periodic axes (the paper's NS embedding; they span its products :math:`\\cos(kx)\\cos(ly)`, ...).
    temporal_powers
        Temporal encoding :math:`[10^j (t - t_{start})]_j`; ``()`` for none.
    fourier_features, fourier_scale
        Random Fourier features on the embedding (``0``: none).
    windows, window_overlap
        Time-marching windows, and how far (fraction of a window) each is widened past its end.
    epsilons, tolerance, steps_per_epsilon, check_every
        The :math:`\\varepsilon` schedule: advance when :math:`\\min w > ` ``tolerance`` at a
        check, or after ``steps_per_epsilon`` steps at one :math:`\\varepsilon`.
    causal
        ``False`` sets all :math:`w_i = 1` (the ablation; the schedule then only counts steps).
    time_chunks, n_space, resample
        :math:`M` times × :math:`N` spatial points per step, redrawn every step (``resample``)
        or fixed (an evenly spaced time grid and one fixed spatial draw).
    n_initial, initial_weight, initial_in_exponent
        Initial-condition points per step, :math:`\\lambda_{ic}`, and the KS/NS variant.
    resample_initial
        ``True`` (default): the initial state (the previous window's end state) is evaluated once
        on the whole spatial pool (:math:`\\max(16N, 4096)` points), and each step draws ``n_initial``
        of them afresh, at no extra cost per step. ``False``: ``n_initial`` points drawn once and
        fixed for the run; a high-frequency embedding can fit them and oscillate in between
        (Allen–Cahn, 20 harmonics, 300 s: 1.11e-1 fixed against 1.42e-2 redrawn; NS torus: 0.21
        against 1.9e-2 at t = 0; BENCHMARKS.md).
    boundary_weight, n_boundary
        Soft penalty for non-periodic boundary conditions, and its points per window.
    loss_balance, balance_every
        ``None``, or ``"grad-norm"`` (the jaxpi re-implementation's default): every
        ``balance_every`` steps the weights of the causal residual, initial and boundary terms
        move towards equal gradient norms (:class:`~pde_lab.loss_balance.GradNormBalance`,
        momentum 0.9); ``initial_weight`` and ``boundary_weight`` multiply them, and the
        exponent of the causal weights takes the balanced :math:`\\lambda_{ic}`.
    residual_weights
        Per-residual factors in :math:`\\mathcal L_i` (NS: continuity ×100); ``None`` = 1.
    learning_rate, decay_rate, decay_steps
        Adam with :math:`\\eta_s = \\eta\\, r^{s/S}`.
    lbfgs_steps, lbfgs_points, lbfgs_dtype, lbfgs_share
        After each window's Adam phase, up to ``lbfgs_steps`` L-BFGS iterations on the same loss at
        ``lbfgs_points`` fixed points (spread over the ``time_chunks``), in ``lbfgs_dtype`` (``None``:
        ``dtype``), the causal weights recomputed every 20 iterations
        (:mod:`pde_lab.solvers.causal_refine`). With ``time_limit``, Adam stops at ``1 - lbfgs_share``
        of each window's budget and L-BFGS gets the rest. ``0`` (default): Adam only, as the paper.
        On a CPU at 600 s, against Adam alone side by side: 1.2–2.7x lower error on Allen–Cahn and
        1.0–5.5x on KS's first window (four pairs each; BENCHMARKS.md). The refined networks stay in
        ``lbfgs_dtype``.
    time_limit
        Wall-clock budget in seconds for the whole solve (shared equally by the remaining
        windows), or ``None``.
    checkpoint, checkpoint_every, resume
        Checkpoint file (:mod:`pde_lab.solvers.causal_checkpoint`), written atomically at the first
        check after every ``checkpoint_every`` steps, after each window and on SIGTERM/SIGINT
        (which stop the run with status ``interrupted``); with ``resume=True`` the run continues
        from it, seeded on the CPU bit for bit as if never stopped. ``steps_per_epsilon``,
        ``time_limit`` and ``device`` may change on resume; they apply to the windows not yet
        finished, and a resumed ``time_limit`` counts the seconds already trained.
    dtype, device, seed, progress, cpu_threads, derivatives
        As for :class:`~pde_lab.solvers.pinn.PINN`; ``derivatives="taylor"``: hand-written
        jets through the embedding and the modified MLP (:mod:`pde_lab.derivatives.module_jets`;
        a KS residual training step 1.8x faster than nested reverse mode, width 256, 2,048 points).
    """

    architecture: str = "modified-mlp"
    width: int = 128
    depth: int = 4
    activation: str = "tanh"
    harmonics: int = 5
    trainable_harmonics: bool = False
    cross_harmonics: bool = False
    temporal_powers: tuple[float, ...] = ()
    fourier_features: int = 0
    fourier_scale: float = 1.0
    windows: int = 1
    window_overlap: float = 0.01
    epsilons: tuple[float, ...] = (1e-2, 1e-1, 1.0, 1e1, 1e2)
    tolerance: float = 0.99
    steps_per_epsilon: int = 5000
    check_every: int = 1000
    causal: bool = True
    time_chunks: int = 32
    n_space: int = 64
    resample: bool = True
    n_initial: int = 256
    resample_initial: bool = True
    initial_weight: float = 1e3
    initial_in_exponent: bool = True
    boundary_weight: float = 1.0
    n_boundary: int = 256
    residual_weights: tuple[float, ...] | None = None
    loss_balance: str | None = None
    balance_every: int = 100
    learning_rate: float = 1e-3
    decay_rate: float = 0.9
    decay_steps: int = 5000
    lbfgs_steps: int = 0
    lbfgs_points: int = 8192
    lbfgs_dtype: str | None = "float64"
    lbfgs_share: float = 0.25
    time_limit: float | None = None
    checkpoint: str | None = None
    checkpoint_every: int = 1000
    resume: bool = False
    dtype: str = "float32"
    device: str | None = None
    seed: int = 0
    progress: bool | None = None
    cpu_threads: int | None = 1
    derivatives: str = "taylor"

    name = "causal"

    @classmethod
    def paper(cls, problem_name: str, **overrides: Any) -> CausalPINN:
        """The reference code's settings for ``problem_name`` (see ``PAPER_SETTINGS``), with overrides."""
        if problem_name not in PAPER_SETTINGS:
            raise ValueError(f"no paper settings for {problem_name!r}; known: {', '.join(sorted(PAPER_SETTINGS))}")
        return cls(**{**PAPER_SETTINGS[problem_name], **overrides})

    def __post_init__(self) -> None:
        check_ints(self, ("width", "depth", "harmonics", "windows", "steps_per_epsilon", "check_every",
                          "time_chunks", "n_space", "n_initial", "n_boundary", "decay_steps", "checkpoint_every"))
        check_loss_balance(self.loss_balance, self.balance_every)
        check_int("lbfgs_steps", self.lbfgs_steps, minimum=0)
        check_int("lbfgs_points", self.lbfgs_points, minimum=self.time_chunks)
        if self.lbfgs_dtype not in (None, "float32", "float64"):
            raise ValueError(f"lbfgs_dtype must be None, 'float32' or 'float64', got {self.lbfgs_dtype!r}")
        if not 0 < self.lbfgs_share < 1:
            raise ValueError(f"lbfgs_share must lie in (0, 1), got {self.lbfgs_share!r}")
        check_positives(self, ("initial_weight", "boundary_weight", "learning_rate", "decay_rate"))
        check_bools(self, ("trainable_harmonics", "cross_harmonics", "causal", "resample", "resample_initial",
                           "initial_in_exponent", "resume"))
        if not 0 <= self.window_overlap < 1:
            raise ValueError(f"window_overlap must lie in [0, 1), got {self.window_overlap!r}")
        if self.time_limit is not None and not self.time_limit > 0:
            raise ValueError(f"time_limit must be positive seconds or None, got {self.time_limit!r}")
        from pde_lab.causal_weights import EpsilonSchedule

        EpsilonSchedule(tuple(self.epsilons), self.tolerance)  # validates the schedule

    # ------------------------------------------------------------------ solve
    def check(self, problem: Problem) -> None:
        """Raise ``ValueError`` (``TypeError``) saying why this solver cannot solve ``problem``; trains nothing."""
        if not isinstance(problem, Problem):
            raise TypeError(f"CausalPINN.solve expects a Problem, got {type(problem).__name__}")
        if not problem.is_time_dependent or problem.initial_condition is None:
            raise ValueError(f"the causal PINN orders residuals in time; problem {problem.name!r} is steady. "
                             "Use solver='pinn' for steady problems.")
        periodic = len(_embedded_axes(problem)) if self.cross_harmonics else 0
        if self.cross_harmonics and (self.trainable_harmonics or periodic < 2):
            raise ValueError(f"cross_harmonics needs two or more periodic axes (problem {problem.name!r} has "
                             f"{periodic}) and trainable_harmonics=False")
        checkpointing_of(self)
        if self.residual_weights is not None and len(self.residual_weights) != len(problem.fields):
            raise ValueError(f"residual_weights has {len(self.residual_weights)} entries; the problem has "
                             f"{len(problem.fields)} residuals ({', '.join(problem.fields)})")

    def solve(self, problem: Problem) -> Solution:
        import torch

        from pde_lab.checkpoint import interrupt_flag
        from pde_lab.solvers.causal_window import HISTORY_KEYS, CausalWindow
        from pde_lab.training import solver_run

        self.check(problem)
        device, dtype = resolve_device(self.device), resolve_dtype(self.dtype)
        checkpointing = checkpointing_of(self)
        periodic = _embedded_axes(problem)
        t0, t1 = problem.time_span
        edges = np.linspace(t0, t1, self.windows + 1)
        history: dict[str, list] = {key: [] for key in HISTORY_KEYS}
        networks, reports, jumps = [], [], []  # jumps: relative jump of the solution at each window boundary
        with solver_run(device, self.cpu_threads) as memory, interrupt_flag(checkpointing is not None) as flag:
            pool = _space_pool(problem, max(16 * self.n_space, 4096), self.seed, device, dtype)
            initial_points = pool if self.resample_initial else \
                pool[torch.randperm(len(pool), generator=_generator(self.seed + 1))[:self.n_initial]]
            target = _as_columns(problem.initial_condition(initial_points), len(problem.fields)).to(device, dtype)
            saved = _Saved(self, problem, periodic, edges, device, dtype, checkpointing)
            state = saved.load(networks, reports, jumps, history)
            start = time.perf_counter() - (state["elapsed"] if state else 0.0)
            for index in range(len(networks), self.windows):
                if index:  # hand over: the previous window's end state is this window's initial condition
                    target = _evaluate(networks[-1], _at_time(initial_points, edges[index])).to(dtype)
                budget = None if self.time_limit is None else \
                    (self.time_limit - (time.perf_counter() - start)) / (self.windows - index)
                run = CausalWindow(self, problem, (edges[index], edges[index + 1]), periodic, pool, initial_points,
                                   target, index, device, dtype)
                if state and state["current"] is not None:
                    run.load_state_dict(state["current"])
                    saved.last_step = run.iterations  # the next checkpoint counts from the saved one
                    state = None

                def save(run=run) -> None:
                    saved.write(networks, reports, jumps, history, time.perf_counter() - start, run)

                report = run.train(budget, history, flag, saved.every(run, save))
                if report["status"] is Status.INTERRUPTED:
                    save()  # the finished windows and this one's state
                networks.append(run.network)
                reports.append(report)
                if index:
                    mine = _evaluate(run.network, _at_time(initial_points, edges[index])).to(dtype)
                    jumps.append(float((mine - target).norm() / target.norm().clamp_min(1e-30)))
                if report["status"] in (Status.INTERRUPTED, Status.DIVERGED):
                    break
                saved.write(networks, reports, jumps, history, time.perf_counter() - start)  # a finished window
        wall = time.perf_counter() - start
        status, message = _outcome(reports, self)
        stats = {
            "wall_s": wall, "peak_mem_mb": memory.peak_mb, "iterations": len(history["loss"]),
            "device": str(device), "dtype": str(dtype).removeprefix("torch."), "windows": len(networks),
            "window_edges": edges[: len(networks) + 1].tolist(), "window_jumps": jumps,
            "window_steps": [r["steps"] for r in reports], "epsilons_resolved": [r["resolved"] for r in reports],
            "window_lbfgs_steps": [r.get("lbfgs_steps", 0) for r in reports],
            "window_dtypes": [str(next(n.parameters()).dtype).removeprefix("torch.") for n in networks],
            "final_loss": history["loss"][-1] if history["loss"] else None,
        }
        return Solution(problem, _marching_field(networks, edges, device), self.name, status, message,
                        stats, history, networks[0] if len(networks) == 1 else networks)

    def _network(self, problem, span, periodic, device, dtype):
        import torch

        from pde_lab.architectures import CausalNetwork

        lower, upper = (np.asarray(b, dtype=float) for b in problem.geometry.bounds)
        torch.manual_seed(self.seed)  # the same initialisation in every window, as the reference code
        network = CausalNetwork(
            np.append(lower, span[0]), np.append(upper, span[1]), len(problem.fields), width=self.width,
            depth=self.depth, activation=self.activation, architecture=self.architecture, periodic_axes=periodic,
            harmonics=self.harmonics, trainable_harmonics=self.trainable_harmonics,
            cross_harmonics=self.cross_harmonics, temporal_powers=self.temporal_powers,
            fourier_features=self.fourier_features, fourier_scale=self.fourier_scale,
            generator=_generator(self.seed + 3))
        return network.to(device=device, dtype=dtype)


# ---------------------------------------------------------------------- helpers
def _evaluate(network, points):
    """``network`` at ``points``, cast to the network's dtype (float64 after an L-BFGS refinement)."""
    import torch

    with torch.no_grad():
        return network(points.to(next(network.parameters()).dtype))


def _marching_field(networks, edges, device, batch: int = 65536):
    """Evaluate window ``i`` on :math:`t \\in [t_i, t_{i+1})` (the last window includes its end), each in its dtype."""
    import torch

    inner = np.asarray(edges[1:len(networks)])

    def evaluate(points: np.ndarray) -> np.ndarray:
        which = np.searchsorted(inner, points[:, -1], side="right")
        out = None
        with torch.no_grad():
            for index, network in enumerate(networks):
                rows = np.flatnonzero(which == index)
                for chunk in np.array_split(rows, max(1, math.ceil(len(rows) / batch))):
                    if not len(chunk):
                        continue
                    values = _evaluate(network, torch.as_tensor(points[chunk], device=device)).double().cpu().numpy()
                    if out is None:
                        out = np.zeros((len(points), values.shape[1]))
                    out[chunk] = values
        return out

    return evaluate


def _outcome(reports: list[Mapping[str, Any]], solver: CausalPINN) -> tuple[Status, str]:
    if reports and reports[-1]["status"] is Status.INTERRUPTED:
        return Status.INTERRUPTED, (f"stopped by {reports[-1]['signal']} in window {len(reports)} at its step "
                                    f"{reports[-1]['steps']}; checkpoint written to {solver.checkpoint}. "
                                    "Run again with resume=True (--resume) to continue.")
    if any(r["status"] is Status.DIVERGED for r in reports):
        window = next(i for i, r in enumerate(reports) if r["status"] is Status.DIVERGED)
        return Status.DIVERGED, (f"loss became NaN/inf in window {window + 1}; kept its last checked parameters. "
                                 f"Try a lower learning_rate (now {solver.learning_rate:g}) or dtype='float64'.")
    if all(r["status"] is Status.CONVERGED for r in reports):
        if not solver.causal:
            return Status.BUDGET_EXHAUSTED, (f"ablation without causal weights: ran the full "
                                             f"{len(solver.epsilons) * solver.steps_per_epsilon} steps per window")
        return Status.CONVERGED, (f"every window resolved all ε up to {solver.epsilons[-1]:g} "
                                  f"(min causal weight > {solver.tolerance})")
    unresolved = [f"window {i + 1} reached ε = {r['epsilon']:g}" for i, r in enumerate(reports)
                  if r["status"] is not Status.CONVERGED]
    return Status.BUDGET_EXHAUSTED, ("causal weights not resolved at every ε (" + "; ".join(unresolved[:3]) +
                                     "). Increase steps_per_epsilon or time_limit.")
