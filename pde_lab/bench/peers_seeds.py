"""The plain PINN against DeepXDE on DeepXDE's ``Burgers`` example, over many seeds.

One seed says little here: at DeepXDE's settings (FNN [2] + [20]×3 + [1] tanh, float32,
2540 interior + 80 boundary + 160 initial points, Adam 15000 at lr 1e-3, then L-BFGS 5000)
the relative L2 error against the Cole–Hopf solution spreads over more than a decade from
seed to seed, for both libraries, and in float32 L-BFGS sometimes stops within a few
iterations of Adam's end (its line search finds no decrease). So each solver runs at seeds
0–7 and the record compares medians and geometric means, and counts the stalled runs (fewer
iterations than the budget).

Solvers: pde_lab's ``pinn`` as it is by default, the same with ``residual_on_boundary=True``
(the PDE also enforced on the boundary and initial points, as DeepXDE does), the same with
``lbfgs_dtype="float64"`` (float32 Adam, float64 L-BFGS), and DeepXDE.
Runs go two at a time, one thread each (a worker pool of ``min(cpu_count, 2)`` processes):
this is an accuracy record; its wall times are not timings of record.
"""

from __future__ import annotations

import math
import os
import statistics
from collections.abc import Callable, Sequence
from typing import Any

from pde_lab.bench.peers import _row

__all__ = ["burgers_seeds", "SOLVERS", "seeded_runs"]

SOLVERS: dict[str, tuple[str, dict[str, Any]]] = {
    "pde_lab-pinn": ("pinn", {}),
    "pde_lab-pinn-closure": ("pinn", {"residual_on_boundary": True}),
    "pde_lab-pinn-lbfgs64": ("pinn", {"lbfgs_dtype": "float64"}),
    "deepxde": ("deepxde", {}),
}
SETTINGS = dict(width=20, depth=3, adam_steps=15000, lbfgs_steps=5000, n_interior=2540, n_boundary=80,
                n_initial=160, dtype="float32", progress=False)
FAST = dict(adam_steps=40, lbfgs_steps=10, n_interior=200)


def _one(name: str, seed: int, device: str, fast: bool) -> dict[str, Any]:
    from pde_lab import solve
    from problems import burgers

    solver, extra = SOLVERS[name]
    settings = dict(SETTINGS, **(FAST if fast else {}), **extra, seed=seed)
    problem = burgers()
    row = _row(name, solve(problem, solver, device=device, **settings), problem.reference())
    stalled = row["iterations"] < settings["adam_steps"] + settings["lbfgs_steps"]
    return {"name": name, "seed": seed, **row, "lbfgs_stalled": stalled}


def _summary(name: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    mine = [row for row in rows if row["name"] == name]
    errors = [row["rel_l2"] for row in mine if row["rel_l2"] is not None]
    return {"name": f"{name} (seeds {mine[0]['seed']}-{mine[-1]['seed']})", "median_rel_l2": statistics.median(errors),
            "geomean_rel_l2": math.exp(statistics.fmean(math.log(e) for e in errors)),
            "best_rel_l2": min(errors), "worst_rel_l2": max(errors),
            "stalled_runs": sum(row.get("lbfgs_stalled", False) for row in mine), "runs": len(mine)}


def seeded_runs(one: Callable[[str, int, str, bool], dict[str, Any]], names: Sequence[str], seeds: int, device: str,
                fast: bool) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]:
    """``one(name, seed, device, fast)`` for every name and seed ``0 .. seeds-1``, two at a time on
    the CPU (one per worker process); the rows sorted by name and seed, and each name's summary."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    jobs = [(name, seed) for seed in range(seeds) for name in names]
    workers = max(1, min(2, os.cpu_count() or 1)) if device == "cpu" else 1
    with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = [pool.submit(one, name, seed, device, fast) for name, seed in jobs]
        rows = [future.result() for future in futures]
    rows.sort(key=lambda row: (list(names).index(row["name"]), row["seed"]))
    return rows, {name: _summary(name, rows) for name in names}


def burgers_seeds(device: str = "cpu", fast: bool = False, seeds: int = 8) -> dict[str, Any]:
    rows, summaries = seeded_runs(_one, list(SOLVERS), 2 if fast else seeds, device, fast)
    theirs = summaries["deepxde"]
    ratios = {}
    for name in (name for name in SOLVERS if name != "deepxde"):
        label = name.removeprefix("pde_lab-").replace("-", "_")
        ratios[f"deepxde_median_over_{label}_median"] = theirs["median_rel_l2"] / summaries[name]["median_rel_l2"]
        ratios[f"deepxde_geomean_over_{label}_geomean"] = theirs["geomean_rel_l2"] / summaries[name]["geomean_rel_l2"]
    return {"rows": rows + list(summaries.values()), "ratios": ratios}
