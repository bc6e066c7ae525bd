"""The causal PINN with and without its float64 L-BFGS refinement, at equal wall time.

`pde-lab bench causal-lbfgs`: the bench ``causal``'s CPU settings (``CPU_SETTINGS``) for Allen–Cahn
(t ∈ [0, 1], 4 windows) and KS regular's first window (t ∈ [0, 0.1]), ``time_limit = 600`` s, as
``causal`` (Adam only, the paper's training) and ``causal-lbfgs`` (``lbfgs_steps``: the last 25% of
each window's time goes to float64 L-BFGS at 8,192 fixed points; :mod:`pde_lab.solvers.causal_refine`).
The two runs of a problem and seed go side by side, one process per core (a pool of two workers,
:func:`pde_lab.bench.peers_seeds.seeded_runs`), so their ratio is measured under the same load.
Time-budgeted runs scatter (up to 2.5× between runs here), hence seeds 0 and 1.
"""

from __future__ import annotations

from typing import Any

__all__ = ["causal_lbfgs"]

SECONDS = 600.0
PROBLEMS = ("allen-cahn", "kuramoto-sivashinsky")
SOLVERS: dict[str, dict[str, Any]] = {
    "causal": {},
    "causal-lbfgs": {"lbfgs_steps": 10**6, "lbfgs_share": 0.25},
}
FAST = dict(width=16, windows=2, time_chunks=4, n_space=16, check_every=10, lbfgs_points=256)


def _one(name: str, seed: int, device: str, fast: bool) -> dict[str, Any]:
    from pde_lab import solve
    from pde_lab.bench.causal import CPU_SETTINGS
    from pde_lab.bench.peers import _row
    from problems.allen_cahn import allen_cahn
    from problems.kuramoto_sivashinsky import kuramoto_sivashinsky

    solver, key = name.split(" ")
    problem = allen_cahn() if key == "allen-cahn" else kuramoto_sivashinsky(t_final=CPU_SETTINGS[key]["t_final"])
    settings = dict(CPU_SETTINGS[key]["causal"], **(FAST if fast else {}), **SOLVERS[solver], seed=seed)
    solution = solve(problem, "causal", time_limit=2.0 if fast else SECONDS, device=device, progress=False, **settings)
    row = _row(name, solution, problem.reference())
    row.update(seed=seed, adam_steps=sum(solution.stats["window_steps"]),
               lbfgs_steps=sum(solution.stats["window_lbfgs_steps"]),
               largest_window_jump=max(solution.stats["window_jumps"], default=None))
    return row


def causal_lbfgs(device: str = "cpu", fast: bool = False, seeds: int = 2) -> dict[str, Any]:
    from pde_lab.bench.peers_seeds import seeded_runs

    names = [f"{solver} {key}" for key in PROBLEMS for solver in SOLVERS]  # the pairs run side by side
    rows, summaries = seeded_runs(_one, names, 1 if fast else seeds, device, fast)
    ratios = {}
    for key in PROBLEMS:
        plain, refined = summaries[f"causal {key}"], summaries[f"causal-lbfgs {key}"]
        ratios[f"{key}_causal_median_over_causal_lbfgs_median"] = plain["median_rel_l2"] / refined["median_rel_l2"]
    return {"rows": rows + list(summaries.values()), "ratios": ratios}
