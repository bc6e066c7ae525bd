"""pde_lab against DeepXDE at DeepXDE's own example settings, with the reference alongside.

``poisson``: -Δu = 2π² sin(πx) sin(πy) on the unit square (exact solution), an FNN of 3×50
tanh, Adam (lr 1e-3) then L-BFGS, as DeepXDE's Poisson examples; plus the P2 FEM reference.
``burgers``: DeepXDE's ``Burgers`` example: FNN [2] + [20]×3 + [1] tanh, 2540 interior, 80
boundary, 160 initial points, Adam 15000 (lr 1e-3) then L-BFGS, float32; error against the
Cole–Hopf solution.

Both solvers run the same Problem through the same budget in the same process, one after
the other, on one CPU thread.
"""

from __future__ import annotations

from typing import Any

__all__ = ["poisson", "burgers"]


def _row(name: str, solution: Any, reference: Any) -> dict[str, Any]:
    ok = solution.status.ok
    return {
        "name": name,
        "rel_l2": solution.error_vs(reference) if ok else None,
        "wall_s": solution.stats.get("wall_s"),
        "peak_mem_mb": solution.stats.get("peak_mem_mb"),
        "iterations": solution.stats.get("iterations"),
        "status": solution.status.value,
    }


def _pair(problem, settings: dict[str, Any], device: str, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    from pde_lab import solve

    # one-step warm-up of each solver: DeepXDE's import and torch's lazy first-use imports
    # (seconds, once per process) are paid here, before any clock starts
    warm = dict(settings, adam_steps=1, lbfgs_steps=1)
    solve(problem, "pinn", device=device, **warm)
    solve(problem, "deepxde", device=device, **warm)
    reference = problem.reference()
    rows = [_row("pde_lab-pinn", solve(problem, "pinn", device=device, **settings), reference),
            _row("deepxde", solve(problem, "deepxde", device=device, **settings), reference)]
    for name, solution in (extra or {}).items():
        rows.append(_row(name, solution, reference))
    ours, theirs = rows[0], rows[1]
    ratios = {"deepxde_wall_over_pinn_wall": theirs["wall_s"] / ours["wall_s"]}
    if ours["rel_l2"] and theirs["rel_l2"]:
        ratios["deepxde_rel_l2_over_pinn_rel_l2"] = theirs["rel_l2"] / ours["rel_l2"]
    return {"rows": rows, "ratios": ratios}


def poisson(device: str = "cpu", fast: bool = False) -> dict[str, Any]:
    from pde_lab import solve
    from problems import poisson as make

    problem = make()
    settings = dict(width=50, depth=3, adam_steps=5000, lbfgs_steps=5000, n_interior=1200, n_boundary=240,
                    dtype="float32", progress=False, seed=0)
    if fast:
        settings.update(width=16, adam_steps=50, lbfgs_steps=20, n_interior=100, n_boundary=40)
    fem = solve(problem, "fem", order=2, h=0.25 if fast else 0.05)
    return _pair(problem, settings, device, {"fem-p2": fem})


def burgers(device: str = "cpu", fast: bool = False) -> dict[str, Any]:
    from problems import burgers as make

    settings = dict(width=20, depth=3, adam_steps=15000, lbfgs_steps=5000, n_interior=2540, n_boundary=80,
                    n_initial=160, dtype="float32", progress=False, seed=0)
    if fast:
        settings.update(adam_steps=50, lbfgs_steps=10, n_interior=200)
    return _pair(make(), settings, device)
