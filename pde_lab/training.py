"""The optimisation loop shared by the PINN-type solvers: Adam, then L-BFGS.

Guarantees: a progress bar with the loss and ETA (on a terminal, or when asked), a
history of every loss term, and NaN/inf detection that stops, restores the last finite
parameters and reports ``Status.DIVERGED`` with a hint instead of raising.
"""

from __future__ import annotations

import contextlib
import math
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import torch

from pde_lab.solution import Status

__all__ = ["TrainResult", "train", "cpu_threads"]

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


class _NonFinite(Exception):
    pass


def _weighted(terms: dict[str, torch.Tensor], weights: dict[str, float]) -> torch.Tensor:
    return sum(weights.get(name, 1.0) * value for name, value in terms.items())


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
    progress
        Show a tqdm bar; ``None`` shows it only when stderr is a terminal.
    """
    from tqdm.auto import tqdm

    if adam_steps < 0 or lbfgs_steps < 0:
        raise ValueError("adam_steps and lbfgs_steps must be >= 0")
    if not math.isfinite(learning_rate) or learning_rate <= 0:
        raise ValueError(f"learning_rate must be positive and finite, got {learning_rate}")
    weights = dict(weights or {})
    parameters = list(parameters)
    history: dict[str, list[float]] = {"iteration": [], "loss": []}
    good = [p.detach().clone() for p in parameters]
    show = sys.stderr.isatty() if progress is None else progress
    bar = tqdm(total=adam_steps + lbfgs_steps, desc=description, disable=not show, dynamic_ncols=True)
    iteration = 0

    def record(terms: dict[str, torch.Tensor], total: torch.Tensor) -> None:
        value = float(total.detach())
        if not math.isfinite(value):
            raise _NonFinite
        history["iteration"].append(iteration)
        history["loss"].append(value)
        for name, term in terms.items():
            history.setdefault(name, []).append(float(term.detach()))

    def remember() -> None:
        if all(torch.isfinite(p).all() for p in parameters):
            with torch.no_grad():
                for saved, p in zip(good, parameters, strict=True):
                    saved.copy_(p)
        else:
            raise _NonFinite

    def diverged(stage: str) -> TrainResult:
        with torch.no_grad():
            for saved, p in zip(good, parameters, strict=True):
                p.copy_(saved)
        bar.close()
        message = (
            f"loss or parameters became NaN/inf during {stage} at iteration {iteration}; kept the last "
            f"finite parameters. Try a lower learning rate (now {learning_rate:g}) or dtype='float64'."
        )
        return TrainResult(Status.DIVERGED, message, iteration, history)

    adam = torch.optim.Adam(parameters, lr=learning_rate)
    try:
        for _ in range(adam_steps):
            adam.zero_grad(set_to_none=True)
            terms = loss_terms()
            total = _weighted(terms, weights)
            record(terms, total)
            remember()
            total.backward()
            adam.step()
            iteration += 1
            bar.update(1)
            if iteration % 20 == 0:
                bar.set_postfix(loss=f"{history['loss'][-1]:.3e}")
        remember()
    except _NonFinite:
        return diverged("Adam")

    converged = False
    if lbfgs_steps > 0:
        lbfgs = torch.optim.LBFGS(
            parameters,
            lr=1.0,
            max_iter=lbfgs_chunk,
            history_size=50,
            tolerance_grad=1e-12,
            tolerance_change=1e-15,
            line_search_fn="strong_wolfe",
        )

        def closure() -> torch.Tensor:
            lbfgs.zero_grad(set_to_none=True)
            terms = loss_terms()
            total = _weighted(terms, weights)
            if not torch.isfinite(total):
                raise _NonFinite
            total.backward()
            return total

        done = 0
        try:
            while done < lbfgs_steps:
                lbfgs.param_groups[0]["max_iter"] = min(lbfgs_chunk, lbfgs_steps - done)
                before = lbfgs.state[parameters[0]].get("n_iter", 0)
                lbfgs.step(closure)
                made = lbfgs.state[parameters[0]].get("n_iter", 0) - before
                done += max(made, 1)
                iteration += max(made, 1)
                terms = loss_terms()
                record(terms, _weighted(terms, weights))
                remember()
                bar.update(max(made, 1))
                bar.set_postfix(loss=f"{history['loss'][-1]:.3e}")
                if made < lbfgs.param_groups[0]["max_iter"]:  # stopped on its tolerances
                    converged = True
                    break
        except _NonFinite:
            return diverged("L-BFGS")
    bar.close()
    final = history["loss"][-1] if history["loss"] else float("nan")
    if converged:
        return TrainResult(Status.CONVERGED, f"L-BFGS met its tolerance; final loss {final:.3e}", iteration, history)
    message = (
        f"used the whole budget (adam_steps={adam_steps}, lbfgs_steps={lbfgs_steps}); final loss "
        f"{final:.3e}. Increase lbfgs_steps (or adam_steps) to lower it further."
    )
    return TrainResult(Status.BUDGET_EXHAUSTED, message, iteration, history)
