"""The training loop of the neural operators (:mod:`pde_lab.solvers.operator`), with checkpoints.

Adam with step decay over ``epochs`` passes through the training members in a seeded random
order; after each epoch the test error is measured and the network kept as the last finite one.
With ``checkpoint`` set, the state at the end of an epoch (network, Adam, the decay, the order's
generator, the history and the last finite network) is written atomically every
``checkpoint_every`` epochs and at the end; SIGTERM/SIGINT stop the run at the next batch and
write the state of the last finished epoch (status ``interrupted``). ``resume=True`` continues
from it and, seeded on the CPU, ends bit for bit where an uninterrupted run ends; the device may
change, any setting that changes the trained network may not.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import time
from typing import Any

import numpy as np

from pde_lab.solution import Status

__all__ = ["train_operator"]


def train_operator(solver) -> Any:
    """Train ``solver`` (an FNO or PINO with its family set) and return its ``TrainedOperator``."""
    import torch
    from tqdm.auto import tqdm

    from pde_lab.checkpoint import checkpointing_of, interrupt_flag, load_checkpoint
    from pde_lab.data.families import make_family
    from pde_lab.solvers.operator import TrainedOperator, broadcast_inputs, relative_l2
    from pde_lab.solvers.pinn import resolve_device, resolve_dtype
    from pde_lab.training import cpu_threads

    checkpointing = checkpointing_of(solver)
    family = make_family(solver.family)
    device, dtype = resolve_device(solver.device), resolve_dtype(solver.dtype)
    settings = {"batch_size": 20, **family.fno_settings}
    modes, width = solver.modes or settings["modes"], solver.width or settings["width"]
    batch_size = solver.batch_size or settings["batch_size"]
    data = solver._data(family)
    grid = tuple(len(axis) for axis, _ in family.output_axes())
    inputs = torch.as_tensor(np.ascontiguousarray(broadcast_inputs(data.inputs, grid)), dtype=dtype)
    targets = torch.as_tensor(data.targets, dtype=dtype)
    n_train = solver.n_train
    train_in, train_out = inputs[:n_train].to(device), targets[:n_train].to(device)
    test_in, test_out = inputs[n_train:].to(device), targets[n_train:].to(device)
    reduce = tuple(range(train_in.dim() - 1))
    scales = {"in_mean": train_in.mean(reduce), "in_std": train_in.std(reduce).clamp_min(1e-12),
              "out_mean": train_out.mean(reduce), "out_std": train_out.std(reduce).clamp_min(1e-12)}
    threads = solver.cpu_threads if device.type == "cpu" else None
    start = time.perf_counter()
    with cpu_threads(threads), torch.random.fork_rng(devices=[device] if device.type == "cuda" else []), \
            interrupt_flag(checkpointing is not None) as flag:
        torch.manual_seed(solver.seed)
        network = solver._network(family, inputs.shape[-1], targets.shape[-1]).to(device)
        trained = TrainedOperator(network, family, scales, Status.CONVERGED, "", {}, {})
        optimizer = torch.optim.Adam(network.parameters(), lr=solver.learning_rate, weight_decay=solver.weight_decay)
        step = solver.scheduler_step or max(1, solver.epochs // 5)
        scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=step, gamma=solver.scheduler_gamma)
        generator = torch.Generator().manual_seed(solver.seed)
        run = _Epochs(network, optimizer, scheduler, generator, checkpointing)
        fingerprint = _fingerprint(solver)
        if checkpointing is not None and checkpointing.resume:
            state = load_checkpoint(checkpointing.path, fingerprint)
            if state is not None:
                run.load(state)
                start -= state["elapsed"]
        status, message = Status.CONVERGED, ""
        disable = not (sys.stderr.isatty() if solver.progress is None else solver.progress)
        bar = tqdm(range(run.epoch, solver.epochs), disable=disable, desc=f"{solver.name} {family.name}", unit="epoch")
        for epoch in bar:
            network.train()
            order = torch.randperm(n_train, generator=generator).to(device)
            total, outcome = 0.0, "done"
            for batch in order.split(batch_size):
                if flag["signal"]:
                    outcome = "interrupted"
                    break
                a, u = train_in[batch], train_out[batch]
                prediction = network((a - scales["in_mean"]) / scales["in_std"]) * scales["out_std"] + scales["out_mean"]
                loss = sum(solver.loss_terms(family, prediction, u, a).values())
                if not torch.isfinite(loss):
                    outcome = "diverged"
                    break
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                total += float(loss.detach()) * len(batch)
            if outcome != "done":
                network.load_state_dict(run.good)
                if outcome == "interrupted":
                    run.write(fingerprint, time.perf_counter() - start)  # the last finished epoch
                    status = Status.INTERRUPTED
                    message = (f"stopped by {flag['signal']} in epoch {epoch + 1}; checkpoint of epoch {run.epoch} "
                               f"written to {checkpointing.path}. Run again with resume=True to continue.")
                else:
                    status = Status.DIVERGED
                    message = (f"non-finite loss in epoch {epoch + 1}; kept the last finite network. "
                               "Lower learning_rate (or pde_weight for PINO) or use dtype='float64'")
                break
            scheduler.step()
            network.eval()
            test = float(relative_l2(trained.predict(test_in), test_out).mean())
            run.finished(epoch + 1, total / n_train, test)
            bar.set_postfix(loss=f"{total / n_train:.3g}", test=f"{test:.3g}")
            if run.due() or epoch + 1 == solver.epochs:
                run.write(fingerprint, time.perf_counter() - start)
        bar.close()
    network.eval()
    history = run.history
    test = history["test_rel_l2"][-1] if history["test_rel_l2"] else float("nan")
    if status is Status.CONVERGED:
        message = f"trained {len(history['epoch'])} epochs on {n_train} {family.name} members; test rel L2 {test:.3g}"
    stats = {"training_wall_s": time.perf_counter() - start, "iterations": len(history["epoch"]),
             "test_rel_l2": test, "n_train": n_train, "n_test": solver.n_test,
             "n_parameters": sum(p.numel() * (2 if p.is_complex() else 1) for p in network.parameters()),
             "reference_wall_s_mean": float(np.mean(data.reference_wall_s)), "modes": modes, "width": width}
    return dataclasses.replace(trained, status=status, message=message, history=history, stats=stats)


def _fingerprint(solver) -> dict[str, str]:
    """The solver's cache key without the device: what a checkpoint must have been trained with.

    ``spectral_layout`` names the spectral weights' layout, so that a checkpoint written before the
    mode-major layout (:class:`~pde_lab.operators.fno.SpectralConv`) is refused with a clear
    message instead of failing on the tensors' shapes."""
    key = json.loads(solver.key())
    key.pop("device", None)
    return {"solver": solver.name, "key": json.dumps(key, sort_keys=True), "spectral_layout": "mode-major"}


class _Epochs:
    """What the epochs carry: the last finished epoch, its network (the last finite one) and history.

    A checkpoint holds the state at the end of the last finished epoch. Of that state, only Adam's
    and the order generator's change during an epoch (the decay steps, the history grows and the
    network is kept only at its end), so only those two are copied at each epoch's end."""

    def __init__(self, network, optimizer, scheduler, generator, checkpointing) -> None:
        self.network, self.optimizer, self.scheduler, self.generator = network, optimizer, scheduler, generator
        self.checkpointing, self.epoch, self.last_saved = checkpointing, 0, 0
        self.history: dict[str, list[float]] = {"epoch": [], "loss": [], "test_rel_l2": []}
        self._keep()

    def _keep(self) -> None:
        """Remember the network, and with checkpoints Adam's and the generator's state, as they are now."""
        import copy

        self.good = {k: v.detach().clone() for k, v in self.network.state_dict().items()}
        if self.checkpointing is not None:
            self.kept = {"optimizer": copy.deepcopy(self.optimizer.state_dict()),
                         "generator": self.generator.get_state()}

    def finished(self, epoch: int, loss: float, test: float) -> None:
        self.epoch = epoch
        for key, value in (("epoch", epoch), ("loss", loss), ("test_rel_l2", test)):
            self.history[key].append(value)
        self._keep()

    def due(self) -> bool:
        return self.checkpointing is not None and self.epoch - self.last_saved >= self.checkpointing.every

    def write(self, fingerprint: dict[str, str], elapsed: float) -> None:
        """Save the state at the end of the last finished epoch (also from within a later epoch)."""
        if self.checkpointing is None:
            return
        from pde_lab.checkpoint import save_checkpoint

        save_checkpoint(self.checkpointing.path, {
            "fingerprint": fingerprint, "epoch": self.epoch, "history": self.history,
            "network": {k: v.cpu() for k, v in self.good.items()}, "scheduler": self.scheduler.state_dict(),
            **self.kept, "elapsed": float(elapsed)})
        self.last_saved = self.epoch

    def load(self, state: dict[str, Any]) -> None:
        self.network.load_state_dict(state["network"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.generator.set_state(state["generator"])
        self.epoch = self.last_saved = int(state["epoch"])
        self.history = state["history"]
        self._keep()
