"""Benchmark ``fno-speed``: one FNO forward pass against our reference solver, per sample, side by side.

Issue #8 asks the Navier–Stokes FNO (ν = 1e-3, FNO-3D) to answer a member at least 1000× faster
than our spectral reference. This bench measures only that, in about a minute, so that it also
fits a short GPU check:

- **reference**: ``problem.reference()`` of ``n_reference`` fresh members of the family (NumPy,
  one core), timed one by one; ``wall_s`` is the mean per member;
- **FNO**: the network of the ``fno`` bench at the same scale (the family's paper settings: 8
  modes, width 20), on the same members' inputs, timed per forward pass (``TrainedOperator.predict``:
  normalisation included, ``torch.no_grad``) at each batch size after one warm-up pass, the
  median of ``repeats`` passes; ``wall_s`` is per sample (the pass divided by the batch size).
  CUDA passes are synchronised before the clock is read. On the CPU the network runs on one
  torch thread, as every CPU record in BENCHMARKS.md.

The network is freshly initialised, not trained: a forward pass costs the same whatever the
weights' values (the same shapes, the same operations), and training one takes hours. Its
accuracy is the ``fno`` bench's measurement (NS at CPU scale: 9.14e-3 after 150 epochs,
BENCHMARKS.md). Sizes per device are those of :data:`pde_lab.bench.operators.SCALES`: on the
CPU 32² outputs at t = 11..20 from 64² references, on CUDA 64² at t = 11..50 from 128².
"""

from __future__ import annotations

import statistics
import time
from typing import Any

__all__ = ["BATCHES", "TARGET_SPEED_UP", "run"]

#: The issue's speed-up target for the NS FNO, per sample.
TARGET_SPEED_UP = 1000.0

#: Batch sizes timed per scale (members per forward pass).
BATCHES = {"fast": (1, 2), "cpu": (1, 10), "cuda": (1, 20, 100)}


def _timed_passes(trained, inputs, device: str, repeats: int) -> float:
    """Median wall time of ``repeats`` forward passes on ``inputs`` (after one warm-up pass)."""
    import torch

    def synchronize() -> None:
        if device.startswith("cuda"):
            torch.cuda.synchronize()

    trained.predict(inputs)  # warm-up: first-call allocations, FFT plans, kernel selection
    walls = []
    for _ in range(repeats):
        synchronize()
        start = time.perf_counter()
        trained.predict(inputs)
        synchronize()
        walls.append(time.perf_counter() - start)
    return statistics.median(walls)


def run(device: str = "cpu", fast: bool = False, family: str = "navier-stokes", n_reference: int | None = None,
        repeats: int = 5) -> dict[str, Any]:
    """Time the reference and the FNO per sample on ``family`` at the scale for ``device``."""
    import numpy as np
    import torch

    from pde_lab.bench.operators import SCALES
    from pde_lab.data.families import make_family
    from pde_lab.solution import Status
    from pde_lab.solvers.operator import FNO, TrainedOperator, broadcast_inputs
    from pde_lab.solvers.pinn import resolve_dtype
    from pde_lab.training import cpu_threads
    from pde_lab.validation import check_int

    device = str(device)
    scale = "fast" if fast else "cuda" if device.startswith("cuda") else "cpu"
    if family not in SCALES[scale]:
        raise ValueError(f"unknown family {family!r}; benchmarked: {', '.join(SCALES[scale])}")
    n_reference = check_int("n_reference", n_reference if n_reference is not None else 1 if fast else 3)
    check_int("repeats", repeats)
    family_options, solver_options = SCALES[scale][family]
    members = make_family(family, **family_options)
    solver = FNO(family=members, device=device, **{k: v for k, v in solver_options.items() if k in ("modes", "width")})
    first = solver_options["n_train"] + solver_options["n_test"]  # fresh members, as in the ``fno`` bench
    grid = tuple(len(axis) for axis, _ in members.output_axes())

    reference_walls, inputs = [], []
    for k in range(n_reference):
        problem = members.problem(first + k)
        start = time.perf_counter()
        reference = problem.reference()
        reference_walls.append(time.perf_counter() - start)
        inputs.append(broadcast_inputs(members.inputs(problem)[None], grid)[0])
    out_channels = members.targets(reference).shape[-1]
    dtype = resolve_dtype(solver.dtype)
    stacked = torch.as_tensor(np.ascontiguousarray(np.stack(inputs)), dtype=dtype)

    rows: list[dict[str, Any]] = [{"name": f"{family}-reference", "wall_s": float(np.mean(reference_walls)),
                                   "members": n_reference, "solver": reference.solver,
                                   "grid": "x".join(map(str, reference.stats.get("grid", [])))}]
    ratios: dict[str, float] = {}
    key = family.replace("-", "_")
    with cpu_threads(1 if not device.startswith("cuda") else None), torch.random.fork_rng(
            devices=[device] if device.startswith("cuda") else []):
        torch.manual_seed(0)
        network = solver._network(members, stacked.shape[-1], out_channels).to(device).eval()
        one = torch.ones((), dtype=dtype, device=device)
        trained = TrainedOperator(network, members, {"in_mean": 0 * one, "in_std": one, "out_mean": 0 * one,
                                                     "out_std": one}, Status.CONVERGED, "untrained", {}, {})
        parameters = sum(p.numel() * (2 if p.is_complex() else 1) for p in network.parameters())
        for batch in BATCHES[scale]:
            repeat = -(-batch // n_reference)  # members repeated to fill the batch
            batch_inputs = stacked.repeat(repeat, *(1,) * (stacked.dim() - 1))[:batch].to(device)
            per_sample = _timed_passes(trained, batch_inputs, device, repeats) / batch
            rows.append({"name": f"{family}-fno batch {batch}", "wall_s": per_sample, "batch": batch,
                         "grid": "x".join(map(str, grid)), "channels": [stacked.shape[-1], out_channels],
                         "parameters": parameters, "dtype": str(dtype).removeprefix("torch.")})
            ratio = rows[0]["wall_s"] / per_sample
            ratios[f"{key}_reference_wall_over_fno_wall_per_sample_batch_{batch}"] = ratio
            ratios[f"{key}_speed_up_batch_{batch}_over_target"] = ratio / TARGET_SPEED_UP
    return {"rows": rows, "ratios": ratios}
