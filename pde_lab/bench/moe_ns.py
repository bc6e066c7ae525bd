"""PI-HC-MoE on unforced 2D Navier–Stokes (Chalapathi et al., ICLR 2024, Table 1, NS row), at
CPU scale, beside the single global hard constraint and the soft constraint.

The family is :func:`problems.vorticity_decay.vorticity_decay` (ν = 1e-4, periodic-kernel
initial vorticity with length scale 0.8): one basis network per method is trained on members
1000, 1001, ... with the same budget, then solves held-out members 0, 1, ... without
retraining; ``rel_l2`` is the mean relative L2 error of the vorticity against the spectral
reference (128², ETDRK4). The MoE uses the paper's ``[1, 2, 2]`` split (``K = 4`` blocks in
x and y) with ``m`` PDE rows each, the global constraint the same basis and ``K m`` rows.
``step_s`` is the mean wall time of a training step in this run; the ratio
``global_step_s_over_moe_step_s`` is the paper's speed-up. The row ``w(t) = w0`` is the
trivial prediction that nothing moves: a method has learned the dynamics only where it is
below that row.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["STEP_COUNT", "STEP_ROWS", "run", "steps"]

#: CPU scale: horizon T = 2 (paper 5) on a 32 × 32 × 17 grid (paper 64³), 32 basis functions
#: (paper 64), an FNO of width 16 with 4 layers and 8 × 8 × 6 modes (paper 64, 8, 8³),
#: 128 training members (paper 4,000). On this grid the exact solution's own residual is 7.7% of
#: |w_t| at T = 2 and 28% at T = 5 (the product and the Laplacian of an under-resolved field),
#: which is why the horizon is shortened. As in the paper, the initial vorticity is built into the
#: field (``exact_initial``), so on the torus there are no initial or boundary rows at all, and
#: the inner solve's tolerance is the paper's NS 1e-7.
FULL = dict(t_final=2.0, grid=(32, 32, 17), basis=32, constraint_points=1000, experts=(2, 2, 1), batch=2,
            steps=400, train_instances=128, backbone="fno", width=16, depth=4, modes=(8, 8, 6),
            lm_tolerance=1e-7, learning_rate=1e-3, exact_initial=True)
FAST = dict(t_final=1.0, grid=(8, 8, 5), basis=4, constraint_points=20, experts=(2, 2, 1), batch=1, steps=2,
            train_instances=2, backbone="fno", width=4, depth=1, modes=(2, 2, 2),
            lm_tolerance=1e-7, learning_rate=1e-3, exact_initial=True)


def run(device: str = "cpu", fast: bool = False) -> dict[str, Any]:
    from pde_lab.bench.moe import three_methods
    from problems.vorticity_decay import vorticity_decay

    settings = dict(FAST if fast else FULL)
    t_final = settings.pop("t_final")
    n_test = 2 if fast else 8
    tests = [vorticity_decay(seed=s, t_final=t_final) for s in range(n_test)]
    experts, points = settings.pop("experts"), settings.pop("constraint_points")

    def family(i: int):
        return vorticity_decay(seed=1000 + i, t_final=t_final)

    rows, ratios = three_methods(tests, family, settings, experts, points, device, field="w")
    persistence = [_persistence_error(p) for p in tests]
    rows.append({"name": "w(t) = w0", "rel_l2": float(np.mean(persistence)), "rel_l2_std": float(np.std(persistence))})
    return {"rows": rows, "ratios": ratios}


#: ``hc-moe-steps``: rows per expert m timed (the global constraint gets K m), and steps per timing.
STEP_ROWS = (250, 1000, 4000)
STEP_COUNT = 15


def steps(device: str = "cpu", fast: bool = False) -> dict[str, Any]:
    """Seconds per training step of PI-HC-MoE (K = 4 experts, m rows each) against the global PI-HC
    (K m rows), both with the bench's basis network (N = 32) and grid, for each m in :data:`STEP_ROWS`:
    the paper's speed-up (NS, batch 2: 2.1x at 1e2 sampled points, 12.8x at 1e4). Each method trains
    ``STEP_COUNT`` steps twice, in the order MoE, global, global, MoE in this process, and ``step_s``
    is the mean of its two runs. The basis trains on 4 members, so that after the first steps every
    step reuses their encodings and times the solves, the loss and the backward pass only."""
    from pde_lab.solvers.moe import HCMoE
    from problems.vorticity_decay import vorticity_decay

    settings = dict(FAST if fast else FULL, steps=2 if fast else STEP_COUNT, train_instances=2 if fast else 4)
    t_final, experts = settings.pop("t_final"), settings.pop("experts")
    settings.pop("constraint_points")
    test = vorticity_decay(seed=0, t_final=t_final)

    def family(i: int):
        return vorticity_decay(seed=1000 + i, t_final=t_final)

    def solved(mode: str, points: int, **change: Any) -> dict[str, Any]:
        solver = HCMoE(mode=mode, constraint_points=points, family=family, device=device, progress=False,
                       **(dict(experts=experts) if mode == "moe" else {}), **{**settings, **change})
        return solver.solve(test).stats

    ms = (20,) if fast else STEP_ROWS
    for mode in ("moe", "global"):  # warm-up: first-call costs (allocations, FFT plans, CUDA kernels) untimed
        solved(mode, ms[0], steps=1)
    rows, ratios = [], {}
    for m in ms:
        points = {"moe": m, "global": int(np.prod(experts)) * m}
        runs: dict[str, list] = {"moe": [], "global": []}
        for mode in ("moe", "global", "global", "moe"):  # ABBA: a drift of the machine's speed cancels
            runs[mode].append(solved(mode, points[mode]))
        for mode, (first, second) in runs.items():
            rows.append({"name": f"pi-hc-{mode}, m = {m}", "constraint_rows": points[mode],
                         "step_s": (first["step_s"] + second["step_s"]) / 2,
                         "step_s_runs": [first["step_s"], second["step_s"]],
                         "mean_lm_iterations": (first["mean_lm_iterations"] + second["mean_lm_iterations"]) / 2,
                         "peak_mem_mb": max(first["peak_mem_mb"], second["peak_mem_mb"]),
                         "iterations": first["iterations"]})
        ratios[f"global_step_s_over_moe_step_s_m_{m}"] = rows[-1]["step_s"] / rows[-2]["step_s"]
    return {"rows": rows, "ratios": ratios}


def _persistence_error(problem) -> float:
    """Relative L2 error of the trivial prediction w(x, t) = w0(x): what a method must beat."""
    import torch

    points = problem.evaluation_points()
    reference = problem.reference()(points)[:, 0]
    initial = problem.initial_condition(torch.as_tensor(points[:, :2]))[:, 0].numpy()
    return float(np.linalg.norm(initial - reference) / np.linalg.norm(reference))
