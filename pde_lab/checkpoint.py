"""Checkpoints for long training runs: atomic files, checked on resume, written on SIGTERM/SIGINT.

A checkpoint holds the optimisation state (parameters, optimizer states, iteration
counters, history) plus a *fingerprint* of the run (solver, problem, hyperparameters,
parameter shapes). Resuming with a different run is refused, so a resumed run continues
exactly where the interrupted one stopped and, seeded on CPU, ends bit for bit where an
uninterrupted run would.
"""

from __future__ import annotations

import contextlib
import os
import signal
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import Any

from pde_lab.validation import check_int

__all__ = ["BUDGET_SETTINGS", "Checkpointing", "checkpointing_of", "save_checkpoint", "load_checkpoint", "interrupt_flag",
           "run_fingerprint"]

VERSION = 1

#: Settings of a :func:`pde_lab.training.train` run that may change on resume: they extend the
#: budget or only change how the run is shown and saved.
BUDGET_SETTINGS = frozenset({"progress", "checkpoint", "checkpoint_every", "resume", "cpu_threads", "adam_steps",
                             "lbfgs_steps"})


@dataclass(frozen=True)
class Checkpointing:
    """Where and how often to checkpoint a run.

    Parameters
    ----------
    path
        The checkpoint file (written atomically: temporary file, then rename).
    every
        Iterations between checkpoints (also written on SIGTERM/SIGINT and at the end).
    resume
        Continue from ``path`` if it exists (it must belong to the same run).
    """

    path: str | PathLike
    every: int = 500
    resume: bool = False

    def __post_init__(self) -> None:
        check_int("checkpoint every", self.every)
        folder = Path(self.path).parent
        if not folder.is_dir():
            raise ValueError(f"cannot write checkpoint {self.path}: folder {folder} does not exist")


def checkpointing_of(solver: Any) -> Checkpointing | None:
    """The :class:`Checkpointing` of a solver with ``checkpoint``, ``checkpoint_every`` and ``resume``
    fields (``None`` without a path); ``ValueError`` for ``resume=True`` without a path, a bad
    ``checkpoint_every`` or a folder that does not exist."""
    if solver.resume and solver.checkpoint is None:
        raise ValueError("resume=True needs a checkpoint path")
    return None if solver.checkpoint is None else Checkpointing(solver.checkpoint, solver.checkpoint_every,
                                                                solver.resume)


def run_fingerprint(solver: Any, problem: Any, network: Any, ignored: set[str]) -> dict[str, str]:
    """What must match for a checkpoint to be resumed: solver and problem names, the problem's
    parameters, the solver's settings (all dataclass fields but ``ignored``) and the parameter shapes."""
    import dataclasses

    settings = {f.name: _described(getattr(solver, f.name)) for f in dataclasses.fields(solver) if f.name not in ignored}
    parameters = {k: v if isinstance(v, (int, float, str, bool)) else getattr(v, "__qualname__", type(v).__name__)
                  for k, v in problem.parameters.items()}
    return {"solver": solver.name, "problem": problem.name, "parameters": repr(sorted(parameters.items())),
            "settings": repr(sorted(settings.items())),
            "shapes": repr([tuple(p.shape) for p in network.parameters()])}


def _described(value: Any) -> str:
    """A setting as the fingerprint records it: a function by its qualified name (its ``repr``
    holds a memory address, which differs between processes), anything else by ``repr``."""
    if callable(value) and hasattr(value, "__qualname__") and not isinstance(value, type):
        return f"{getattr(value, '__module__', '')}.{value.__qualname__}"
    return repr(value)


def save_checkpoint(path: str | PathLike, state: dict[str, Any]) -> None:
    """Write ``state`` atomically with ``torch.save``."""
    import torch

    path = Path(path)
    handle, temporary = tempfile.mkstemp(prefix=".pde_lab-", suffix=".ckpt", dir=path.parent)
    os.close(handle)
    try:
        torch.save({"version": VERSION, **state}, temporary)
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)


def load_checkpoint(path: str | PathLike, fingerprint: dict[str, Any]) -> dict[str, Any] | None:
    """The state saved at ``path`` for this run, ``None`` if there is no file.

    Raises ``ValueError`` for an unreadable (corrupted, truncated) file or one written by a
    different run.
    """
    import torch

    path = Path(path)
    if not path.exists():
        return None
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # noqa: BLE001 - any unpickling failure means the file is unusable
        raise ValueError(f"cannot read checkpoint {path}: {type(error).__name__}: {error}") from None
    if not isinstance(state, dict) or state.get("version") != VERSION:
        raise ValueError(f"cannot read checkpoint {path}: not a pde_lab checkpoint (version {VERSION})")
    if state.get("fingerprint") != fingerprint:
        theirs = state.get("fingerprint", {})
        differing = sorted(k for k in set(theirs) | set(fingerprint) if theirs.get(k) != fingerprint.get(k))
        raise ValueError(
            f"checkpoint {path} belongs to a different run (differs in {', '.join(differing)}); "
            "delete it or resume with the same problem and settings"
        )
    return state


@contextlib.contextmanager
def interrupt_flag(enabled: bool = True) -> Iterator[dict[str, Any]]:
    """Turn SIGTERM/SIGINT into a flag the training loop polls (main thread only).

    The loop writes a checkpoint and stops cleanly when ``flag["signal"]`` is set; the
    previous handlers are restored on exit.
    """
    flag: dict[str, Any] = {"signal": None}
    if not enabled or threading.current_thread() is not threading.main_thread():
        yield flag
        return

    def handler(number, frame) -> None:  # noqa: ARG001 - signal handler signature
        flag["signal"] = signal.Signals(number).name

    previous = {s: signal.signal(s, handler) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield flag
    finally:
        for number, old in previous.items():
            signal.signal(number, old)
