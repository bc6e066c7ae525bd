"""Causal PINN against the plain PINN at equal wall time (Allen–Cahn, Kuramoto–Sivashinsky, NS torus).

CPU scale (``device="cpu"``): a few minutes per solver and problem. The causal PINN runs
under a wall-clock budget (``time_limit``); the plain PINN (:class:`~pde_lab.solvers.pinn.PINN`,
soft periodic boundary loss, the initial-condition weight of its ``plain`` settings) gets the
same budget, split evenly between Adam and L-BFGS, with step counts calibrated by short timed
probes in the same process. Errors are relative L2 on the problems' space-time grids (201 × 201;
NS: 81² × 20 times, also reported at each time) against the spectral references.

Full scale (``device="cuda"``): the reference code's settings (:data:`PAPER_SETTINGS`) —
Allen–Cahn (target 1.4e-4), KS regular with 10 windows (3.5e-4), KS chaotic first window
t ∈ [0, 0.1] (1.5e-4) and the NS torus (error over time) — each capped at ``GPU_SECONDS``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["CPU_SETTINGS", "GPU_SECONDS", "plain_pinn_within", "run"]

#: CPU-scale settings per problem: causal settings, plain PINN settings, seconds, time horizon.
#: KS at CPU scale is its first window t in [0, 0.1] (the paper's 10 windows need ~1e5 steps each).
CPU_SETTINGS: dict[str, dict[str, Any]] = {
    "allen-cahn": dict(
        causal=dict(architecture="modified-mlp", width=64, depth=3, harmonics=10, windows=4,
                    epsilons=(1.0, 10.0, 100.0), steps_per_epsilon=100_000, check_every=200, time_chunks=16,
                    n_space=64, initial_weight=100.0, initial_in_exponent=False, decay_steps=2000),
        plain=dict(width=64, depth=3, n_interior=1024, n_boundary=128, n_initial=256, weights={"initial": 100.0}),
        seconds=300.0, t_final=1.0),
    "kuramoto-sivashinsky": dict(
        causal=dict(architecture="mlp", width=64, depth=3, harmonics=5, windows=1,
                    epsilons=(1e-2, 1e-1, 1.0, 10.0, 100.0), steps_per_epsilon=100_000, check_every=100,
                    time_chunks=16, n_space=64, initial_weight=1e3, initial_in_exponent=True, decay_steps=2000),
        plain=dict(width=64, depth=3, n_interior=1024, n_boundary=128, n_initial=256, weights={"initial": 1e3}),
        seconds=300.0, t_final=0.1),
    # KS chaotic, its first window t in [0, 0.1] (jaxpi's 1.42e-4 took an 8 x 128 modified MLP 13 min on a GPU):
    # the paper's encodings, epsilon list from 1e-3 and initial weight 1e4 in the exponent, on a 4 x 64 trunk.
    # With 2,400 s (2026-12-07): 5.34e-2 in 16,664 steps, epsilon stuck at 1e-2; plain PINN 8.59e-2.
    "kuramoto-sivashinsky-chaotic": dict(
        causal=dict(architecture="modified-mlp", width=64, depth=4, harmonics=5, windows=1,
                    temporal_powers=(-3.0, -2.0, -1.0, 0.0, 1.0, 2.0), epsilons=(1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0),
                    steps_per_epsilon=100_000, check_every=100, time_chunks=16, n_space=128, initial_weight=1e4,
                    initial_in_exponent=True, decay_steps=2000),
        plain=dict(width=64, depth=4, n_interior=2048, n_boundary=128, n_initial=256, weights={"initial": 1e4}),
        seconds=300.0, t_final=0.1),
    # NS torus (nu = 0.01) to t = 1 in 2 windows: the paper's network scaled down (4 x 128 -> 3 x 64, 8 x 64
    # points per step), its encodings, epsilon list, initial weight (in the exponent) and continuity factor;
    # errors are reported over time. Development runs (2026-12-06): 0.85-0.87 over space-time at 300 s
    # (1 or 2 windows, width 32 or 64), 0.81 at 600 s with 16 x 128 points; no epsilon was passed.
    "navier-stokes-torus": dict(
        causal=dict(architecture="modified-mlp", width=64, depth=3, harmonics=5, windows=2,
                    temporal_powers=(0.0, 1.0, 2.0), epsilons=(1e-3, 1e-2, 1e-1, 1.0), steps_per_epsilon=100_000,
                    check_every=100, time_chunks=8, n_space=64, initial_weight=1e5, initial_in_exponent=True,
                    residual_weights=(1.0, 100.0), decay_steps=2000),
        plain=dict(width=64, depth=3, n_interior=2048, n_boundary=256, n_initial=512, weights={"initial": 100.0}),
        seconds=300.0, t_final=1.0, over_time=True),
}

#: Wall-clock cap per problem at full scale on a GPU.
GPU_SECONDS = 3600.0


def _row(name: str, solution: Any, reference: Any, **extra: Any) -> dict[str, Any]:
    ok = solution.status.ok
    return {"name": name, "rel_l2": solution.error_vs(reference) if ok else None,
            "wall_s": solution.stats.get("wall_s"), "peak_mem_mb": solution.stats.get("peak_mem_mb"),
            "iterations": solution.stats.get("iterations"), "status": solution.status.value, **extra}


def plain_pinn_within(problem, seconds: float, settings: dict[str, Any], device: str):
    """The plain PINN with Adam and L-BFGS step counts calibrated to ``seconds`` in total."""
    from pde_lab import solve

    base = dict(settings, device=device, progress=False, dtype="float32")
    adam = solve(problem, "pinn", **base, adam_steps=50, lbfgs_steps=0)
    lbfgs = solve(problem, "pinn", **base, adam_steps=0, lbfgs_steps=10)
    per_adam = adam.stats["wall_s"] / 50
    per_lbfgs = lbfgs.stats["wall_s"] / max(lbfgs.stats["iterations"], 1)
    steps = dict(adam_steps=max(1, int(seconds / 2 / per_adam)), lbfgs_steps=max(1, int(seconds / 2 / per_lbfgs)))
    return solve(problem, "pinn", **base, **steps)


def _cpu(problems: dict[str, Any], fast: bool) -> dict[str, Any]:
    from pde_lab import solve

    rows, ratios = [], {}
    for key, problem in problems.items():
        causal, plain, seconds = (CPU_SETTINGS[key][k] for k in ("causal", "plain", "seconds"))
        if fast:
            causal = dict(causal, width=16, windows=2, time_chunks=4, n_space=16, check_every=10)
            plain = dict(plain, width=16, n_interior=64, n_boundary=16, n_initial=16)
            seconds = 2.0
        reference = problem.reference()
        ours = solve(problem, "causal", **causal, time_limit=seconds, device="cpu", progress=False)
        theirs = plain_pinn_within(problem, ours.stats["wall_s"], plain, "cpu")
        extra = {"causal": {"epsilon_reached": ours.history["epsilon"][-1]}, "pinn": {}}
        for name, solution in (("causal", ours), ("pinn", theirs)):
            if CPU_SETTINGS[key].get("over_time") and solution.status.ok:
                extra[name]["rel_l2_over_time"] = _over_time(solution, reference, problem)
            rows.append(_row(f"{name} {key}", solution, reference, **extra[name]))
        ratios[f"{key}_pinn_wall_over_causal_wall"] = theirs.stats["wall_s"] / ours.stats["wall_s"]
        if rows[-1]["rel_l2"] and rows[-2]["rel_l2"]:
            ratios[f"{key}_pinn_rel_l2_over_causal_rel_l2"] = rows[-1]["rel_l2"] / rows[-2]["rel_l2"]
    return {"rows": rows, "ratios": ratios}


def _gpu(device: str) -> dict[str, Any]:
    from pde_lab.solvers.causal import CausalPINN
    from problems.allen_cahn import allen_cahn
    from problems.kuramoto_sivashinsky import kuramoto_sivashinsky
    from problems.navier_stokes import torus

    targets = {"allen-cahn": (allen_cahn(), 1.4e-4), "kuramoto-sivashinsky": (kuramoto_sivashinsky(), 3.5e-4),
               "kuramoto-sivashinsky-chaotic": (kuramoto_sivashinsky("chaotic", t_final=0.1), 1.5e-4)}
    rows, ratios = [], {}
    for key, (problem, target) in targets.items():
        overrides = dict(windows=1) if key.endswith("chaotic") else {}  # its first window only
        solution = CausalPINN.paper(key, device=device, time_limit=GPU_SECONDS, progress=False,
                                    **overrides).solve(problem)
        rows.append(_row(f"causal {key}", solution, problem.reference(), target=target))
        if rows[-1]["rel_l2"]:
            ratios[f"{key}_rel_l2_over_paper_target"] = rows[-1]["rel_l2"] / target
    problem = torus(nu=0.01, t_final=1.0)
    solution = CausalPINN.paper("navier-stokes-torus", windows=2, device=device, time_limit=GPU_SECONDS,
                                progress=False).solve(problem)
    reference = problem.reference()
    rows.append(_row("causal navier-stokes-torus", solution, reference,
                     rel_l2_over_time=_over_time(solution, reference, problem)))
    return {"rows": rows, "ratios": ratios}


def _over_time(solution, reference, problem) -> list[list[float]]:
    """``[t, relative L2 at t]`` at each evaluation time of ``problem``."""
    return [[float(t), _error_at(solution, reference, problem, t)]
            for t in np.unique(problem.evaluation_points()[:, -1])]


def _error_at(solution, reference, problem, t: float) -> float:
    from pde_lab.solution import relative_error

    points = problem.evaluation_points()
    points = points[np.isclose(points[:, -1], t)]
    return relative_error(solution(points), reference(points))


def run(device: str = "cpu", fast: bool = False) -> dict[str, Any]:
    """Causal vs plain PINN at equal wall time (CPU), or the paper's settings (CUDA)."""
    if str(device).startswith("cuda") and not fast:
        return _gpu(device)
    from problems.allen_cahn import allen_cahn
    from problems.kuramoto_sivashinsky import kuramoto_sivashinsky
    from problems.navier_stokes import torus

    horizon = {key: settings["t_final"] for key, settings in CPU_SETTINGS.items()}
    grid = dict(resolution=64, dt=1e-3) if fast else {}  # coarse references keep the smoke run to seconds
    problems = {"allen-cahn": allen_cahn(t_final=horizon["allen-cahn"], **grid),
                "kuramoto-sivashinsky": kuramoto_sivashinsky(t_final=horizon["kuramoto-sivashinsky"], **grid),
                "kuramoto-sivashinsky-chaotic": kuramoto_sivashinsky(
                    "chaotic", t_final=horizon["kuramoto-sivashinsky-chaotic"], **grid),
                "navier-stokes-torus": torus(nu=0.01, t_final=0.05 if fast else horizon["navier-stokes-torus"])}
    return _cpu(problems, fast)
