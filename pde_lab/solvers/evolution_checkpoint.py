"""Checkpoints of the network time steppers (:mod:`pde_lab.solvers.evolution`: TENG, OBTI, TDVP).

A run of thousands of Gauss–Newton steps takes hours on a CPU. Its checkpoint holds what the
steps carry: the parameters after every step so far (the returned solution interpolates through
them), the time, the history, the initial fit's record and the state of the generator that draws
the parameter subsets; a resumed run skips the initial fit and, seeded on the CPU, ends bit for bit
where an uninterrupted run ends. The file is written atomically
(:func:`pde_lab.checkpoint.save_checkpoint`) every ``checkpoint_every`` steps, at the end and on
SIGTERM/SIGINT. ``device`` may change on resume; any other setting may not, as the step count
follows from ``dt`` and the horizon.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import torch

from pde_lab.checkpoint import Checkpointing, load_checkpoint, run_fingerprint, save_checkpoint

__all__ = ["IGNORED", "SavedSteps"]

#: Settings that may change between a checkpoint and its resumption.
IGNORED = {"progress", "checkpoint", "checkpoint_every", "resume", "cpu_threads", "device"}


class SavedSteps:
    """Writes and reads the checkpoint of one time-stepping run; inert when ``checkpointing`` is ``None``."""

    def __init__(self, solver, problem, checkpointing: Checkpointing | None) -> None:
        self.solver, self.problem, self.checkpointing = solver, problem, checkpointing
        self.last = 0

    @property
    def resuming(self) -> bool:
        """Whether a checkpoint will be read (so the initial fit can be skipped)."""
        return self.checkpointing is not None and self.checkpointing.resume and Path(self.checkpointing.path).exists()

    def due(self, done: int) -> bool:
        return self.checkpointing is not None and done - self.last >= self.checkpointing.every

    def write(self, state, snapshots: list[torch.Tensor], history: dict[str, list], elapsed: float) -> None:
        """Save the run after ``len(snapshots) - 1`` steps."""
        if self.checkpointing is None:
            return
        save_checkpoint(self.checkpointing.path, {
            "fingerprint": run_fingerprint(self.solver, self.problem, state.network, IGNORED),
            "snapshots": torch.stack(snapshots).cpu(), "history": history, "t": state.t, "loss": state.loss,
            "iterations": state.iterations, "initial_fit_error": state.initial_fit_error,
            "fit_losses": list(state.fit_losses), "generator": state.projection.generator.get_state(),
            "sketch_rank": state.projection.sketch_rank, "elapsed": float(elapsed)})
        self.last = len(snapshots) - 1

    def load(self, state) -> tuple[Any, list[torch.Tensor], dict[str, list], float] | None:
        """``(state, snapshots, history, elapsed)`` from the checkpoint, or ``None`` when not resuming."""
        if not self.resuming:
            return None
        saved = load_checkpoint(self.checkpointing.path, run_fingerprint(self.solver, self.problem, state.network,
                                                                         IGNORED))
        if saved is None:
            return None
        snapshots = list(saved["snapshots"].to(device=state.vector.device, dtype=state.vector.dtype))
        state.projection.generator.set_state(saved["generator"])
        state.projection.sketch_rank = int(saved.get("sketch_rank", 64))  # absent before 2026-12-07
        state = dataclasses.replace(state, vector=snapshots[-1], t=float(saved["t"]), loss=float(saved["loss"]),
                                    iterations=int(saved["iterations"]),
                                    initial_fit_error=float(saved["initial_fit_error"]),
                                    fit_losses=[float(x) for x in saved["fit_losses"]])
        self.last = len(snapshots) - 1
        return state, snapshots, saved["history"], float(saved["elapsed"])
