"""Benchmark ``fno``: Fourier neural operators against our references, per sample, side by side.

For each family of the FNO paper (Burgers ν = 0.1, Darcy, Navier–Stokes ν = 1e-3 with
FNO-3D) an FNO is trained with the paper's optimiser and architecture, then on fresh members
(after the training and test ones) the reference solver and one FNO forward pass (batch 1)
are timed in the same process, one after the other. Rows: the FNO (``rel_l2`` = mean test
relative L2 over ``n_test`` members, the paper's metric; ``wall_s`` = inference per sample)
and the reference (``wall_s`` per sample). Ratios: reference time over FNO time per sample
and the FNO error over the paper's (Burgers 0.0149 at s = 256, Darcy 0.0108 at s = 85,
NS FNO-3D 0.0086) and over the issue's targets (Darcy 1.1e-2, NS 1e-2; NS speed-up ≥ 1000).

Scales: ``fast`` (seconds, smoke test); on CPU a scaled-down version (sizes in ``SCALES``:
fewer epochs, Darcy at 43² from 211², NS at 32² from 64² over t = 10..20); on CUDA the
paper's sizes, except the NS reference grid (128² instead of 256²: ~20 s per sample on one
core, so the 1100 samples take ~25 min on 16 cores; 256² would take hours).
"""

from __future__ import annotations

import time
from typing import Any

__all__ = ["PAPER", "SCALES", "run"]

#: Published FNO test errors (Li et al., ICLR 2021) and the issue's targets.
PAPER = {"burgers": 0.0149, "darcy": 0.0108, "navier-stokes": 0.0086}
TARGETS = {"darcy": 1.1e-2, "navier-stokes": 1e-2}

SCALES: dict[str, dict[str, tuple[dict[str, Any], dict[str, Any]]]] = {
    # name: (family options, solver options)
    "fast": {
        "burgers": (dict(resolution=32, reference_resolution=128, grf_modes=24, dt=5e-3),
                    dict(n_train=8, n_test=4, epochs=2, modes=8, width=8, workers=1)),
        "darcy": (dict(resolution=9, reference_resolution=33),
                  dict(n_train=8, n_test=4, epochs=2, modes=4, width=8, workers=1)),
        "navier-stokes": (dict(resolution=16, reference_resolution=32, t_in=2, t_final=4, dt=1e-2),
                          dict(n_train=4, n_test=2, epochs=2, modes=4, width=8, workers=1)),
    },
    "cpu": {
        "burgers": (dict(resolution=256, reference_resolution=1024), dict(n_train=1000, n_test=100, epochs=100)),
        # Darcy: 250 epochs (2026-12-06: 1.07e-2, the target; 100 epochs gave 1.40e-2)
        "darcy": (dict(resolution=43, reference_resolution=211), dict(n_train=1000, n_test=100, epochs=250)),
        # NS: 500 members, 150 epochs (2026-12-07: 9.14e-3, the target; 100 epochs gave 1.08e-2,
        # 200 members and 100 epochs 1.88e-2)
        "navier-stokes": (dict(resolution=32, reference_resolution=64, t_in=10, t_final=20, dt=1e-2),
                          dict(n_train=500, n_test=100, epochs=150)),
    },
    "cuda": {
        "burgers": (dict(resolution=256, reference_resolution=1024), dict(n_train=1000, n_test=100, epochs=500)),
        "darcy": (dict(resolution=85, reference_resolution=421), dict(n_train=1000, n_test=100, epochs=500)),
        "navier-stokes": (dict(resolution=64, reference_resolution=128, t_in=10, t_final=50, dt=5e-3),
                          dict(n_train=1000, n_test=100, epochs=500)),
    },
}


def _family(name: str, options: dict[str, Any]):
    from pde_lab.data.families import make_family

    return make_family(name, **options)


def _case(name: str, family_options: dict, solver_options: dict, device: str, n_timing: int) -> tuple[list, dict]:
    import numpy as np
    import torch

    from pde_lab.memory import PeakMemory
    from pde_lab.solvers.operator import FNO, broadcast_inputs, relative_l2

    family = _family(name, family_options)
    solver = FNO(family=family, device=device, progress=False, **solver_options)
    trained = solver.train()
    first = solver.n_train + solver.n_test
    grid = tuple(len(axis) for axis, _ in family.output_axes())
    reference_walls, fno_walls, errors = [], [], []
    dtype = next(trained.model.parameters()).dtype
    for k in range(n_timing):
        problem = family.problem(first + k)
        start = time.perf_counter()
        reference = problem.reference()
        reference_walls.append(time.perf_counter() - start)
        inputs = torch.as_tensor(np.ascontiguousarray(broadcast_inputs(family.inputs(problem)[None], grid)),
                                 dtype=dtype, device=device)
        trained.predict(inputs)  # warm-up: first-call allocations and kernel selection
        with PeakMemory(device) as memory:
            if device.startswith("cuda"):
                torch.cuda.synchronize()
            start = time.perf_counter()
            prediction = trained.predict(inputs)
            if device.startswith("cuda"):
                torch.cuda.synchronize()
            fno_walls.append(time.perf_counter() - start)
        target = torch.as_tensor(family.targets(reference)[None], dtype=dtype, device=device)
        errors.append(float(relative_l2(prediction, target)[0]))
    fno_wall, reference_wall = float(np.mean(fno_walls)), float(np.mean(reference_walls))
    rows = [
        {"name": f"{name}-fno", "rel_l2": trained.stats["test_rel_l2"], "wall_s": fno_wall,
         "peak_mem_mb": memory.peak_mb, "training_wall_s": trained.stats["training_wall_s"],
         "iterations": trained.stats["iterations"], "n_train": solver.n_train, "grid": "x".join(map(str, grid)),
         "rel_l2_timed_members": float(np.mean(errors)), "status": trained.status.value},
        {"name": f"{name}-reference", "rel_l2": None, "wall_s": reference_wall,
         "peak_mem_mb": reference.stats.get("peak_mem_mb"), "solver": reference.solver,
         "grid": "x".join(map(str, reference.stats.get("grid", [reference.stats.get("nodes")])))},
    ]
    key = name.replace("-", "_")
    ratios = {f"{key}_reference_wall_over_fno_wall_per_sample": reference_wall / fno_wall,
              f"{key}_fno_rel_l2_over_paper": trained.stats["test_rel_l2"] / PAPER[name]}
    if name in TARGETS:
        ratios[f"{key}_fno_rel_l2_over_target"] = trained.stats["test_rel_l2"] / TARGETS[name]
    return rows, ratios


def run(device: str = "cpu", fast: bool = False, families: tuple[str, ...] = ("burgers", "darcy", "navier-stokes"),
        n_timing: int = 3) -> dict[str, Any]:
    """Train an FNO per family at the scale for ``device`` and time it against the reference."""
    scale = SCALES["fast" if fast else "cuda" if str(device).startswith("cuda") else "cpu"]
    rows: list[dict[str, Any]] = []
    ratios: dict[str, float] = {}
    for name in families:
        if name not in scale:
            raise ValueError(f"unknown family {name!r}; benchmarked: {', '.join(scale)}")
        more_rows, more_ratios = _case(name, *scale[name], str(device), 2 if fast else n_timing)
        rows += more_rows
        ratios.update(more_ratios)
    return {"rows": rows, "ratios": ratios}
