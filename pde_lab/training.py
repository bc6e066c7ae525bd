"""The optimisation loop shared by the PINN-type solvers: Adam, then L-BFGS.

Guarantees: a progress bar with the loss and ETA (on a terminal, or when asked), a
history of every loss term, NaN/inf detection that stops, restores the last finite
parameters and reports ``Status.DIVERGED`` with a hint instead of raising, and optional
checkpoints (every N iterations, at the end, on SIGTERM/SIGINT) that a resumed run
continues from exactly.
"""

from __future__ import annotations

import contextlib
import math
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from pde_lab.checkpoint import Checkpointing, interrupt_flag, load_checkpoint, save_checkpoint
from pde_lab.loss_balance import GradNormBalance
from pde_lab.solution import Status
from pde_lab.validation import check_positive

__all__ = ["TrainResult", "train", "cpu_threads", "solver_run"]

LossTerms = Callable[[], dict[str, torch.Tensor]]


@dataclass
class TrainResult:
    status: Status
    message: str
    iterations: int
    history: dict[str, list[float]] = field(default_factory=dict)


@contextlib.contextmanager
def cpu_threads(count: int | None) -> Iterator[None]:
    """Run the block with ``count`` torch intra-op CPU threads, then restore the previous count.

    Small networks gain nothing from intra-op parallelism, and on a loaded machine
    OpenMP's spinning threads make them 10-30x slower (measured here on 2 cores:
    32 s with 2 threads, 0.9 s with 1). ``None`` leaves torch's setting alone.
    """
    if count is None:
        yield
        return
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ValueError(f"cpu_threads must be a positive int or None, got {count!r}")
    previous = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


@contextlib.contextmanager
def solver_run(device: torch.device, threads: int | None, seed: int | None = None) -> Iterator[Any]:
    """The frame of one solve: peak memory measured, RNG forked (and seeded), CPU threads set.

    ``threads`` applies on the CPU only (see :func:`cpu_threads`); the global RNG state (and
    the device's, on CUDA) is restored afterwards, so a solve never disturbs its caller's
    random stream. Yields the :class:`~pde_lab.memory.PeakMemory` meter.
    """
    from pde_lab.memory import PeakMemory

    with PeakMemory(str(device)) as memory, cpu_threads(threads if device.type == "cpu" else None), \
            torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        if seed is not None:
            torch.manual_seed(seed)
        yield memory


class _NonFinite(Exception):
    pass


def train(
    parameters: Sequence[torch.nn.Parameter],
    loss_terms: LossTerms,
    *,
    adam_steps: int,
    lbfgs_steps: int,
    learning_rate: float = 1e-3,
    weights: dict[str, float] | None = None,
    progress: bool | None = None,
    description: str = "training",
    lbfgs_chunk: int = 25,
    checkpoint: Checkpointing | None = None,
    fingerprint: dict[str, Any] | None = None,
    schedule: Callable[[int], float] | None = None,
    before_step: Callable[[int], None] | None = None,
    before_chunk: Callable[[int], None] | None = None,
    clip_norm: float | None = None,
    generators: Sequence[torch.Generator] = (),
    observe: Callable[[], dict[str, float]] | None = None,
    before_lbfgs: Callable[[], None] | None = None,
    balance: GradNormBalance | None = None,
) -> TrainResult:
    """Minimise ``sum_k weights[k] * loss_terms()[k]`` over ``parameters``.

    Parameters
    ----------
    parameters
        Tensors to optimise (modified in place).
    loss_terms
        Returns a dict of scalar loss terms; called once per Adam step and per L-BFGS
        function evaluation.
    adam_steps, lbfgs_steps
        Budgets; L-BFGS (strong-Wolfe line search) runs after Adam, in chunks of
        ``lbfgs_chunk`` iterations so progress and divergence are checked in between.
        When L-BFGS stops short of its budget (its line search finds no decrease, common in
        float32 right after Adam, or a tolerance is met) it is started afresh (memory
        cleared, a steepest-descent first step); the run stops only when a fresh start
        gets the loss no lower than the previous one did.
    progress
        Show a tqdm bar; ``None`` shows it only when stderr is a terminal.
    checkpoint, fingerprint
        Write the state every ``checkpoint.every`` iterations, at the end and on
        SIGTERM/SIGINT (then stop with ``Status.INTERRUPTED``); with ``checkpoint.resume``,
        continue from the file, which must carry the same ``fingerprint``.
    schedule
        Adam's learning rate at step ``k`` is ``learning_rate * schedule(k)`` (a function of
        the step count only, so a resumed run follows the same schedule).
    before_step
        Called with the Adam step count before every Adam step (e.g. to draw fresh
        collocation points); L-BFGS sees the points of the last Adam step unless
        ``before_chunk`` redraws them.
    before_chunk
        Called with the L-BFGS iteration count before every L-BFGS chunk (one
        ``LBFGS.step``): redrawing points there is the PIG paper's protocol (fresh points
        for each ``LBFGS.step`` of 20 iterations; the curvature history carries over).
    generators
        Random generators ``loss_terms`` draws from (e.g. to pick instances): their states are
        part of the checkpoint, so a resumed run draws what an uninterrupted one would.
    observe
        Called after each recorded loss (every Adam step, every L-BFGS chunk): its values are
        appended to the history under their names, so a checkpoint keeps them (e.g. hc-moe's
        Levenberg–Marquardt iterations per step).
    before_lbfgs
        Called once, before L-BFGS's first iteration, and when a run resumes in its L-BFGS
        stage before the checkpoint's parameters are loaded: e.g. to widen the network and
        the points to float64 after float32 Adam (it may change the parameters' dtype in
        place, ``p.data = p.data.double()``; they must stay the same tensor objects).
    balance
        A :class:`~pde_lab.loss_balance.GradNormBalance`: during Adam, every ``balance.every``
        steps, the terms' weights move towards equal gradient norms (the ``weights`` above
        multiply them); L-BFGS keeps the last ones. The history gets ``balance_<term>``.
    clip_norm
        Scale each Adam step's gradient down to this global 2-norm when it is larger
        (``torch.nn.utils.clip_grad_norm_``); ``None`` does not clip.
    """
    if adam_steps < 0 or lbfgs_steps < 0:
        raise ValueError("adam_steps and lbfgs_steps must be >= 0")
    check_positive("learning_rate", learning_rate)
    if clip_norm is not None:
        check_positive("clip_norm", clip_norm)
    run = _Run(list(parameters), loss_terms, dict(weights or {}), checkpoint, dict(fingerprint or {}))
    run.schedule, run.before_step, run.before_chunk = schedule, before_step, before_chunk
    run.clip_norm, run.generators, run.observe = clip_norm, list(generators), observe
    run.before_lbfgs, run.balance = before_lbfgs, balance
    with interrupt_flag(checkpoint is not None) as flag:
        return run.execute(adam_steps, lbfgs_steps, learning_rate, lbfgs_chunk, progress, description, flag)


class _Run:
    """The state of one optimisation: parameters, optimizers, counters, history."""

    def __init__(self, parameters, loss_terms, weights, checkpoint, fingerprint) -> None:
        self.parameters, self.loss_terms, self.weights = parameters, loss_terms, weights
        self.checkpoint, self.fingerprint = checkpoint, fingerprint
        self.history: dict[str, list[float]] = {"iteration": [], "loss": []}
        self.good = [p.detach().clone() for p in parameters]
        self.iteration = self.adam_done = self.lbfgs_done = 0
        self.last_saved = 0
        self.restart_loss: float | None = None  # the loss when L-BFGS was last started afresh
        self.restarts = 0
        self.schedule: Callable[[int], float] | None = None
        self.clip_norm: float | None = None
        self.before_step: Callable[[int], None] | None = None
        self.before_chunk: Callable[[int], None] | None = None
        self.generators: list[torch.Generator] = []
        self.observe: Callable[[], dict[str, float]] | None = None
        self.before_lbfgs: Callable[[], None] | None = None
        self.in_lbfgs = False  # whether before_lbfgs has been called
        self.balance: GradNormBalance | None = None

    # ------------------------------------------------------------------ pieces
    def total(self, adam_step: int | None = None) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
        terms = self.loss_terms()
        if self.balance is not None and adam_step is not None and self.balance.due(adam_step):
            self.balance.update(terms, self.parameters)
        return terms, sum(self.weight(name) * value for name, value in terms.items())

    def weight(self, name: str) -> float:
        return self.weights.get(name, 1.0) * (1.0 if self.balance is None else self.balance.weight(name))

    def record(self, terms: dict[str, torch.Tensor], total: torch.Tensor) -> None:
        value = float(total.detach())
        if not math.isfinite(value):
            raise _NonFinite
        self.history["iteration"].append(self.iteration)
        self.history["loss"].append(value)
        for name, term in terms.items():
            self.history.setdefault(name, []).append(float(term.detach()))
        if self.balance is not None:
            self.balance.record(self.history, terms)
        for name, observed in (self.observe() if self.observe is not None else {}).items():
            self.history.setdefault(name, []).append(float(observed))

    def remember(self) -> None:
        if not all(torch.isfinite(p).all() for p in self.parameters):
            raise _NonFinite
        with torch.no_grad():
            for saved, p in zip(self.good, self.parameters, strict=True):
                saved.copy_(p)

    def save(self, adam, lbfgs) -> None:
        if self.checkpoint is None:
            return
        save_checkpoint(self.checkpoint.path, {
            "fingerprint": self.fingerprint, "iteration": self.iteration, "adam_done": self.adam_done,
            "lbfgs_done": self.lbfgs_done, "parameters": [p.detach().cpu() for p in self.parameters],
            "adam": adam.state_dict(), "lbfgs": None if lbfgs is None else lbfgs.state_dict(),
            "history": self.history, "generators": [g.get_state() for g in self.generators],
            "lbfgs_restart": (self.restart_loss, self.restarts),
            "balance": None if self.balance is None else self.balance.state_dict(),
        })
        self.last_saved = self.iteration

    def restore(self, adam, lbfgs) -> None:
        if self.checkpoint is None or not self.checkpoint.resume:
            return
        state = load_checkpoint(self.checkpoint.path, self.fingerprint)
        if state is None:
            return
        if state["lbfgs"] is not None:
            self.enter_lbfgs()  # the saved parameters (and L-BFGS's state) are in L-BFGS's dtype
        with torch.no_grad():
            for p, saved in zip(self.parameters, state["parameters"], strict=True):
                p.copy_(saved)
        adam.load_state_dict(state["adam"])
        if state["lbfgs"] is not None:
            lbfgs.load_state_dict(state["lbfgs"])
        self.iteration, self.adam_done, self.lbfgs_done = state["iteration"], state["adam_done"], state["lbfgs_done"]
        self.history = state["history"]
        self.restart_loss, self.restarts = state.get("lbfgs_restart", (None, 0))
        if self.balance is not None and state.get("balance") is not None:
            self.balance.load_state_dict(state["balance"])
        for generator, saved in zip(self.generators, state.get("generators", []), strict=False):
            generator.set_state(saved)
        self.last_saved = self.iteration
        self.remember()
        if self.before_step is not None and self.adam_done > 0:  # the points of the last Adam step, which a
            self.before_step(self.adam_done - 1)                  # run resumed in L-BFGS goes on with

    def enter_lbfgs(self) -> None:
        """Call ``before_lbfgs`` once; the last good parameters are kept in the dtype it leaves."""
        if self.in_lbfgs:
            return
        self.in_lbfgs = True
        if self.before_lbfgs is not None:
            self.before_lbfgs()
            self.good = [p.detach().clone() for p in self.parameters]

    def restart(self, lbfgs) -> bool:
        """After L-BFGS stopped short: clear its memory and go on, unless the last fresh start got nowhere."""
        loss = self.history["loss"][-1]
        if self.restart_loss is not None and not loss < self.restart_loss:
            return False
        self.restart_loss = loss
        self.restarts += 1
        lbfgs.state.clear()  # the next step is L-BFGS's first: steepest descent, no curvature pairs
        return True

    def due(self) -> bool:
        return self.checkpoint is not None and self.iteration - self.last_saved >= self.checkpoint.every

    # ------------------------------------------------------------------- loop
    def execute(self, adam_steps, lbfgs_steps, learning_rate, lbfgs_chunk, progress, description, flag) -> TrainResult:
        from tqdm.auto import tqdm

        adam = torch.optim.Adam(self.parameters, lr=learning_rate)
        lbfgs = torch.optim.LBFGS(self.parameters, lr=1.0, max_iter=lbfgs_chunk, history_size=50,
                                  tolerance_grad=1e-12, tolerance_change=1e-15, line_search_fn="strong_wolfe")
        self.restore(adam, lbfgs)
        show = sys.stderr.isatty() if progress is None else progress
        bar = tqdm(total=adam_steps + lbfgs_steps, initial=self.iteration, desc=description, disable=not show,
                   dynamic_ncols=True)
        converged, stage = False, "Adam"
        try:
            while self.adam_done < adam_steps:
                if flag["signal"]:
                    return self.interrupted(flag["signal"], adam, None, bar)
                if self.before_step is not None:
                    self.before_step(self.adam_done)
                if self.schedule is not None:
                    for group in adam.param_groups:
                        group["lr"] = learning_rate * float(self.schedule(self.adam_done))
                adam.zero_grad(set_to_none=True)
                terms, total = self.total(self.adam_done)
                self.record(terms, total)
                self.remember()
                total.backward()
                if self.clip_norm is not None:
                    torch.nn.utils.clip_grad_norm_(self.parameters, self.clip_norm)
                adam.step()
                self.adam_done += 1
                self.iteration += 1
                bar.update(1)
                if self.iteration % 20 == 0:
                    bar.set_postfix(loss=f"{self.history['loss'][-1]:.3e}")
                if self.due():
                    self.save(adam, None)
            self.remember()
            stage = "L-BFGS"
            if lbfgs_steps:
                self.enter_lbfgs()

            def closure() -> torch.Tensor:
                lbfgs.zero_grad(set_to_none=True)
                _, total = self.total()
                if not torch.isfinite(total):
                    raise _NonFinite
                total.backward()
                return total

            while self.lbfgs_done < lbfgs_steps:
                if flag["signal"]:
                    return self.interrupted(flag["signal"], adam, lbfgs, bar)
                chunk = min(lbfgs_chunk, lbfgs_steps - self.lbfgs_done)
                if self.before_chunk is not None:
                    self.before_chunk(self.lbfgs_done)
                # max_eval is torch's 1.25 * max_iter by default: line searches would end a chunk
                # early and it would read as convergence. Only the iteration count or a tolerance may.
                lbfgs.param_groups[0]["max_iter"], lbfgs.param_groups[0]["max_eval"] = chunk, 25 * chunk
                before = lbfgs.state[self.parameters[0]].get("n_iter", 0)
                lbfgs.step(closure)
                made = max(lbfgs.state[self.parameters[0]].get("n_iter", 0) - before, 1)
                self.lbfgs_done += made
                self.iteration += made
                self.record(*self.total())
                self.remember()
                bar.update(made)
                bar.set_postfix(loss=f"{self.history['loss'][-1]:.3e}")
                if made < chunk and not self.restart(lbfgs):  # stopped short, and a fresh start did too
                    converged = True
                    break
                if self.due():
                    self.save(adam, lbfgs)
        except _NonFinite:
            return self.diverged(stage, learning_rate, bar)
        bar.close()
        self.save(adam, lbfgs if lbfgs_steps else None)
        final = self.history["loss"][-1] if self.history["loss"] else float("nan")
        restarts = f" ({self.restarts} fresh start{'s' * (self.restarts != 1)} of L-BFGS)" if self.restarts else ""
        if converged:
            return TrainResult(Status.CONVERGED, f"L-BFGS stopped making progress{restarts}: a fresh start got the loss "
                               f"no lower; final loss {final:.3e}", self.iteration, self.history)
        message = (f"used the whole budget (adam_steps={adam_steps}, lbfgs_steps={lbfgs_steps}){restarts}; final "
                   f"loss {final:.3e}. Increase lbfgs_steps (or adam_steps) to lower it further.")
        return TrainResult(Status.BUDGET_EXHAUSTED, message, self.iteration, self.history)

    def diverged(self, stage: str, learning_rate: float, bar) -> TrainResult:
        with torch.no_grad():
            for saved, p in zip(self.good, self.parameters, strict=True):
                p.copy_(saved)
        bar.close()
        if self.iteration == 0 and not self.history["loss"]:  # the very first loss: not the optimiser's doing
            message = ("the loss is NaN/inf at the initial parameters, before any step: the PDE, a condition's value "
                       "or a parameter gives NaN/inf at some points (a division by zero, the log or square root of "
                       "a negative number, ...). Check them on the problem's points.")
        else:
            message = (f"loss or parameters became NaN/inf during {stage} at iteration {self.iteration}; kept the "
                       f"last finite parameters. Try a lower learning rate (now {learning_rate:g}) or dtype='float64'.")
        return TrainResult(Status.DIVERGED, message, self.iteration, self.history)

    def interrupted(self, name: str, adam, lbfgs, bar) -> TrainResult:
        bar.close()
        self.save(adam, lbfgs)
        message = (f"stopped by {name} at iteration {self.iteration}; checkpoint written to "
                   f"{self.checkpoint.path}. Run again with resume=True (--resume) to continue.")
        return TrainResult(Status.INTERRUPTED, message, self.iteration, self.history)
