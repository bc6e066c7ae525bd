"""Gradient-norm loss balancing on the Helmholtz benchmark of Wang, Teng & Perdikaris (2021).

Δu + u = q on (-1, 1)² with u = sin(πx) sin(4πy) and u = 0 on the boundary: the source is
(1 - 17π²) sin(πx) sin(4πy), so the PDE residual's gradient dwarfs the boundary term's and
a plain PINN fits the PDE inside while its boundary values drift (the paper's "gradient
pathology"; its 4 × 50 tanh network after 40,000 Adam steps: 1.8e-1 plain, 1.3e-2 with its
learning-rate annealing). Here: the same network, Adam at 1e-3 for 6,000 steps on 1,000
interior and 400 boundary points drawn afresh every step, float32, for the plain ``pinn``
and ``pinn(loss_balance="grad-norm", balance_every=10)``, at seeds 0–3, two runs at a time
(an accuracy record: its wall times are not timings).
"""

from __future__ import annotations

from typing import Any

__all__ = ["helmholtz_balance"]

SOLVERS: dict[str, dict[str, Any]] = {
    "pinn": {},
    "pinn-grad-norm": {"loss_balance": "grad-norm", "balance_every": 10},
}
SETTINGS = dict(width=50, depth=4, adam_steps=6000, lbfgs_steps=0, n_interior=1000, n_boundary=400, resample_every=1,
                dtype="float32", progress=False)
FAST = dict(width=16, depth=2, adam_steps=30, n_interior=100, n_boundary=40)


def _one(name: str, seed: int, device: str, fast: bool) -> dict[str, Any]:
    from pde_lab import solve
    from pde_lab.bench.peers import _row
    from problems import helmholtz

    settings = dict(SETTINGS, **(FAST if fast else {}), **SOLVERS[name], seed=seed)
    solution = solve(helmholtz(), "pinn", device=device, **settings)
    row = _row(name, solution, None)  # None: against the exact solution
    history = solution.history
    row.update(seed=seed, boundary_loss=history["boundary"][-1], pde_loss=history["pde"][-1],
               boundary_weight=history.get("balance_boundary", [1.0])[-1] / history.get("balance_pde", [1.0])[-1])
    return row


def helmholtz_balance(device: str = "cpu", fast: bool = False, seeds: int = 4) -> dict[str, Any]:
    from pde_lab.bench.peers_seeds import seeded_runs

    rows, summaries = seeded_runs(_one, list(SOLVERS), 1 if fast else seeds, device, fast)
    plain, balanced = summaries["pinn"], summaries["pinn-grad-norm"]
    ratios = {"plain_median_over_balanced_median": plain["median_rel_l2"] / balanced["median_rel_l2"],
              "plain_geomean_over_balanced_geomean": plain["geomean_rel_l2"] / balanced["geomean_rel_l2"],
              "balanced_worst_over_plain_best": balanced["worst_rel_l2"] / plain["best_rel_l2"]}
    return {"rows": rows + list(summaries.values()), "ratios": ratios}
