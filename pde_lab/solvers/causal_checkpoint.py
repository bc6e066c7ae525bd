"""Checkpoints of a causal PINN run (:mod:`pde_lab.solvers.causal`): the finished windows and the
state of the window in training, so that a run stopped by SIGTERM/SIGINT, a crash or the end of a
machine's lease continues where it stopped, and seeded on the CPU ends bit for bit where an
uninterrupted run ends.

The file (:func:`pde_lab.checkpoint.save_checkpoint`, atomic) holds the run's fingerprint, the
finished windows' parameters and reports, the window boundary jumps, the history, the seconds
trained so far, and :meth:`~pde_lab.solvers.causal_window.CausalWindow.state_dict` of the current
window (``None`` between windows; in its L-BFGS refinement, the network is saved in the refinement's
dtype). Settings that only extend the run (``steps_per_epsilon``, ``time_limit``, ``lbfgs_steps``,
``lbfgs_share``) and the device may differ on resume; any other difference is refused.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pde_lab.checkpoint import Checkpointing, load_checkpoint, run_fingerprint, save_checkpoint
from pde_lab.solution import Status

__all__ = ["IGNORED", "SavedRun"]

#: Settings that may change between a checkpoint and its resumption.
IGNORED = {"progress", "checkpoint", "checkpoint_every", "resume", "cpu_threads", "steps_per_epsilon",
           "time_limit", "device", "lbfgs_steps", "lbfgs_share"}


class SavedRun:
    """Writes and reads one run's checkpoint; does nothing when ``checkpointing`` is ``None``."""

    def __init__(self, solver, problem, periodic, edges, device, dtype, checkpointing: Checkpointing | None) -> None:
        self.solver, self.problem, self.periodic, self.edges = solver, problem, periodic, edges
        self.device, self.dtype, self.checkpointing = device, dtype, checkpointing
        self.fingerprint: dict[str, str] = {}
        if checkpointing is not None:
            network = solver._network(problem, (edges[0], edges[1]), periodic, device, dtype)
            self.fingerprint = run_fingerprint(solver, problem, network, IGNORED)
        self.last_step = 0

    def every(self, run, save: Callable[[], None]) -> Callable[[], None] | None:
        """``run``'s ``on_check``: ``save`` once ``checkpoint_every`` of its steps have passed since the last."""
        if self.checkpointing is None:
            return None

        def on_check() -> None:
            if run.iterations - self.last_step >= self.checkpointing.every:
                save()

        return on_check

    def write(self, networks: list, reports: list, jumps: list, history: dict, elapsed: float,
              current=None) -> None:
        """Save the finished windows (``networks``, ``reports``, ``jumps``) and ``current``'s state."""
        if self.checkpointing is None:
            return
        save_checkpoint(self.checkpointing.path, {
            "fingerprint": self.fingerprint,
            "networks": [{k: v.detach().cpu() for k, v in n.state_dict().items()} for n in networks],
            "reports": [{**r, "status": r["status"].value} for r in reports], "jumps": list(jumps),
            "history": history, "elapsed": float(elapsed),
            "current": None if current is None else current.state_dict()})
        self.last_step = 0 if current is None else current.iterations

    def load(self, networks: list, reports: list, jumps: list, history: dict) -> dict[str, Any] | None:
        """Fill the lists and ``history`` from the checkpoint if resuming; return its state (or ``None``)."""
        if self.checkpointing is None or not self.checkpointing.resume:
            return None
        state = load_checkpoint(self.checkpointing.path, self.fingerprint)
        if state is None:
            return None
        for index, parameters in enumerate(state["networks"]):
            span = (self.edges[index], self.edges[index + 1])
            stop = span[1] + self.solver.window_overlap * (span[1] - span[0])
            network = self.solver._network(self.problem, (span[0], stop), self.periodic, self.device, self.dtype)
            network.to(next(iter(parameters.values())).dtype)  # float64 after an L-BFGS refinement
            network.load_state_dict(parameters)
            networks.append(network.eval())
        reports.extend({**r, "status": Status(r["status"])} for r in state["reports"])
        jumps.extend(state["jumps"])
        history.clear()
        history.update(state["history"])
        return state  # the caller sets last_step once the current window is restored
