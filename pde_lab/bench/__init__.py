"""Named benchmarks: pde_lab solvers and their peers side by side, in one process.

Each benchmark module has ``run(device: str = "cpu", fast: bool = False) -> dict`` returning
``{"rows": [...], "ratios": {...}}``; :func:`run_benchmark` adds the benchmark name, device,
date and versions (the JSON contract in DESIGN.md). ``fast=True`` is a seconds-long smoke
scale for tests; recorded numbers come from the full scale, on a quiet machine.
"""

from __future__ import annotations

import datetime
import importlib
import platform
from typing import Any

__all__ = ["BENCHMARKS", "draw_figure", "run_benchmark", "to_markdown"]

BENCHMARKS: dict[str, str] = {
    "poisson": "pde_lab.bench.peers:poisson",
    "burgers": "pde_lab.bench.peers:burgers",
    "burgers-seeds": "pde_lab.bench.peers_seeds:burgers_seeds",
    "helmholtz-balance": "pde_lab.bench.balance:helmholtz_balance",
    "derivatives": "pde_lab.bench.derivatives:run",
    "high-dim": "pde_lab.bench.high_dim:run",
    "causal": "pde_lab.bench.causal:run",
    "causal-lbfgs": "pde_lab.bench.causal_lbfgs:causal_lbfgs",
    "teng": "pde_lab.bench.teng:run",
    "teng-burgers": "pde_lab.bench.teng:burgers_1d",
    "teng-baselines": "pde_lab.bench.teng_baselines:run",
    "teng-ks": "pde_lab.bench.teng_stiff:run",
    "pinn-ngd": "pde_lab.bench.teng:pinn_ngd",
    "lpinn": "pde_lab.bench.lagrangian_gaussians:lpinn",
    "pig": "pde_lab.bench.lagrangian_gaussians:pig",
    "pig-engines": "pde_lab.bench.lagrangian_gaussians:pig_engines",
    "fno": "pde_lab.bench.operators:run",
    "fno-speed": "pde_lab.bench.operator_speed:run",
    "hc-moe": "pde_lab.bench.moe:run",
    "hc-moe-ns": "pde_lab.bench.moe_ns:run",
    "hc-moe-steps": "pde_lab.bench.moe_ns:steps",
    "dcdm": "pde_lab.bench.dcdm:run",
}


def run_benchmark(name: str, device: str = "cpu", fast: bool = False) -> dict[str, Any]:
    """Run benchmark ``name`` and return its JSON-ready record."""
    if name not in BENCHMARKS:
        raise ValueError(f"unknown benchmark {name!r}; known benchmarks: {', '.join(sorted(BENCHMARKS))}")
    module, _, function = BENCHMARKS[name].partition(":")
    result = getattr(importlib.import_module(module), function)(device=device, fast=fast)
    import torch

    device_name = torch.cuda.get_device_name(device) if str(device).startswith("cuda") else platform.processor() or "cpu"
    versions = {"python": platform.python_version(), "torch": torch.__version__}
    try:
        from importlib.metadata import version

        versions["deepxde"] = version("deepxde")
    except Exception:  # noqa: BLE001 - version lookup is informational only
        pass
    return {"benchmark": name, "device": str(device), "device_name": device_name,
            "date": datetime.date.today().isoformat(), "fast": fast, "versions": versions,
            "rows": result["rows"], "ratios": result["ratios"]}


def draw_figure(record: dict[str, Any], path: str) -> None:
    """Draw the figure of a benchmark record, for benchmarks whose module has ``figure``."""
    module = importlib.import_module(BENCHMARKS[record["benchmark"]].partition(":")[0])
    if not hasattr(module, "figure"):
        raise ValueError(f"benchmark {record['benchmark']!r} draws no figure")
    module.figure(record, path)


def to_markdown(record: dict[str, Any]) -> str:
    """A BENCHMARKS.md section for one benchmark record."""
    keys = []
    for row in record["rows"]:
        keys += [k for k in row if k not in keys]
    lines = [f"### {record['benchmark']} — {record['date']}, {record['device']} ({record['device_name']})", "",
             "| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    for row in record["rows"]:
        lines.append("| " + " | ".join(_cell(row.get(k)) for k in keys) + " |")
    lines += ["", "Ratios (measured side by side in one run): " +
              ", ".join(f"`{k}` = {_cell(v)}" for k, v in record["ratios"].items()), ""]
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3g}"
    if isinstance(value, (list, tuple)):
        return ", ".join(_cell(item) for item in value)
    return "" if value is None else str(value)
