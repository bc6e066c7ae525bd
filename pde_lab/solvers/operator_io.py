"""Saving a trained neural operator to a file and loading it back, so that training outlives the process.

An NS FNO takes an hour or more to train on a CPU; the process-wide cache of
:mod:`pde_lab.solvers.operator` forgets it at exit. ``solver.save(path)`` writes the trained
network with everything ``solve`` needs (normalisation, status, history, stats) and the
solver's cache key; ``FNO(..., weights=path)`` then loads it instead of training, after
checking that the file was trained with the same family and settings (the key), so a file is
never silently applied to a different problem family or architecture:

>>> fno = FNO(family="burgers", n_train=200, epochs=100)   # doctest: +SKIP
>>> fno.save("burgers_fno.pt")                             # doctest: +SKIP
>>> solve(problem, FNO(family="burgers", n_train=200, epochs=100, weights="burgers_fno.pt"))  # doctest: +SKIP

The file is a ``torch.save`` dictionary, written atomically like a training checkpoint and read
back with ``weights_only=True`` (tensors, numbers, strings, lists and dicts only: loading runs no
pickled code). ``device`` and ``resolution`` may differ between saving and loading; every
setting that changes the trained network may not.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from pde_lab.solution import Status

__all__ = ["FORMAT", "load_trained", "save_trained"]

#: Version of the file layout: 2 stores the spectral weights mode-major (``(*modes, in, out)``,
#: :class:`~pde_lab.operators.fno.SpectralConv`); format 1 files (``(in, out, *modes)``) are
#: converted on loading, any other version is refused.
FORMAT = 2


def save_trained(solver: Any, trained: Any, path: str | Path) -> Path:
    """Write ``trained`` (the :class:`~pde_lab.solvers.operator.TrainedOperator` of ``solver``) to ``path``,
    atomically (:func:`pde_lab.checkpoint.save_checkpoint`: an interrupted save leaves any earlier file intact)."""
    from pde_lab.checkpoint import save_checkpoint

    path = Path(path)
    if not path.parent.is_dir():
        raise FileNotFoundError(f"cannot save to {path}: folder {path.parent} does not exist")
    payload = {
        "format": FORMAT,
        "key": solver.key(),
        "network": {"in_channels": trained.model.in_channels, "out_channels": trained.model.out_channels},
        "state": {k: v.detach().cpu() for k, v in trained.model.state_dict().items()},
        "scales": {k: v.detach().cpu() for k, v in trained.scales.items()},
        "status": trained.status.value,
        "message": trained.message,
        "history": {k: [float(x) for x in v] for k, v in trained.history.items()},
        "stats": _plain(trained.stats),
    }
    save_checkpoint(path, payload)
    return path


def load_trained(solver: Any, path: str | Path, network_of) -> Any:
    """The :class:`~pde_lab.solvers.operator.TrainedOperator` saved at ``path``, on ``solver``'s device.

    ``network_of(family, in_channels, out_channels)`` builds the untrained network for
    ``solver`` (as training would); the file's weights are loaded into it. Raises
    ``FileNotFoundError`` for a missing file and ``ValueError`` for a file of another format or
    one trained with other settings (naming them).
    """
    import torch

    from pde_lab.data.families import make_family
    from pde_lab.solvers.operator import TrainedOperator
    from pde_lab.solvers.pinn import resolve_device

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"weights file {path} does not exist (write one with solver.save(path))")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # noqa: BLE001 - any unreadable file gets the same clear message
        raise ValueError(f"{path} is not a trained-operator file written by solver.save: {error}") from None
    if not isinstance(payload, dict) or payload.get("format") not in (1, FORMAT):
        found = payload.get("format") if isinstance(payload, dict) else type(payload).__name__
        raise ValueError(f"{path} has format {found!r}; this version reads formats 1 and {FORMAT}")
    saved, wanted = json.loads(payload["key"]), json.loads(solver.key())
    for key in (saved, wanted):  # the device is where the network runs, not how it was trained
        key.pop("device", None)
    differences = _differences(saved, wanted)
    if differences:
        raise ValueError(f"{path} was trained with other settings than this solver's: {'; '.join(differences)}")
    device = resolve_device(solver.device)
    family = make_family(solver.family)
    shape = payload["network"]
    with torch.random.fork_rng(devices=[]):  # building the network draws initial weights: leave the caller's RNG alone
        network = network_of(family, shape["in_channels"], shape["out_channels"])
    state = payload["state"] if payload["format"] == FORMAT else _mode_major_spectra(payload["state"])
    network.load_state_dict(state)
    network.to(device).eval()
    scales = {k: v.to(device) for k, v in payload["scales"].items()}
    stats = {**payload["stats"], "weights": str(path)}
    return TrainedOperator(network, family, scales, Status(payload["status"]), payload["message"],
                           payload["history"], stats)


def _mode_major_spectra(state: dict[str, Any]) -> dict[str, Any]:
    """A format-1 network state with its spectral weight blocks moved to the mode-major layout."""
    import re

    from pde_lab.operators.fno import mode_major

    block = re.compile(r"(^|\.)spectral\.\d+\.weights\.\d+$")
    return {k: mode_major(v) if block.search(k) else v for k, v in state.items()}


def _differences(saved: dict, wanted: dict, prefix: str = "") -> list[str]:
    """``"name: file has A, solver has B"`` for every entry where two keys differ (nested dicts by dotted name)."""
    out = []
    for name in sorted(set(saved) | set(wanted)):
        a, b = saved.get(name, "(absent)"), wanted.get(name, "(absent)")
        if isinstance(a, dict) and isinstance(b, dict):
            out += _differences(a, b, f"{prefix}{name}.")
        elif a != b:
            out.append(f"{prefix}{name}: file has {a!r}, solver has {b!r}")
    return out


def _plain(value: Any) -> Any:
    """``value`` with NumPy scalars and tuples made plain Python (what ``weights_only`` loading accepts)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value.item() if isinstance(value, np.generic) else value
