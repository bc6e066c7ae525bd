"""TENG beside the baselines of its paper: TDVP-RK4, OBTI-Adam and OBTI-L-BFGS (benchmark ``"teng-baselines"``).

All four use the same network, sample grid, time step and initial fit (the CPU scale of
``pde-lab bench teng``: :data:`~pde_lab.bench.teng.PERIODIC_2D`, 1,341 parameters on 48²
points, dt = 0.005) on the TENG paper's 2D periodic heat (exact solution) and Allen–Cahn
(D = 0.005, spectral reference) equations, to ``T_FINAL``; they differ only in how a step is
made. Rows give the relative L2 error at each evaluation time, the wall time and the largest
step loss; the ratios compare each baseline's final error and time with TENG's, in one process.
``figure`` draws the error over time.
"""

from __future__ import annotations

from typing import Any

__all__ = ["BASELINES", "T_FINAL", "figure", "run"]

#: The horizon: heat's error is made while its fast modes die out (t < 0.4, ``pde-lab bench teng``).
T_FINAL = 0.5

#: Each method's own options on top of the shared network, grid and step. TENG: its bench settings
#: (Allen-Cahn with NONLINEAR_2D's iterations). TDVP: RK4, singular values below 1e-8 dropped (1D heat,
#: 177 parameters, to t = 1 at dt = 0.025: 1e-4 2.7e-5, 1e-6 7.3e-7, 1e-8 4.9e-9, 1e-10 1.2e-7, 1e-12 4.4e-4).
#: OBTI: Adam 200 + 200 steps at lr 1e-4 (1D heat to t = 0.5 at dt = 0.05: lr 1e-3 5.6e-4, 1e-4 5.0e-4,
#: 1e-5 7.9e-4), and L-BFGS 50 + 50 iterations (20 + 20: 7.2e-4, 50 + 50: 2.2e-4).
BASELINES: dict[str, tuple[str, dict[str, Any]]] = {
    "teng-heun": ("teng", {}),
    "tdvp-rk4": ("tdvp", dict(scheme="rk4", rcond=1e-8)),
    "obti-adam": ("obti", dict(scheme="heun", optimizer="adam", iterations=200, heun_iterations=200,
                               learning_rate=1e-4)),
    "obti-lbfgs": ("obti", dict(scheme="heun", optimizer="lbfgs", iterations=50, heun_iterations=50)),
}

_FAST = dict(width=8, hidden_layers=1, points_per_axis=16, fit_iterations=20, dt=0.01)


def run(device: str = "cpu", fast: bool = False) -> dict[str, Any]:
    from pde_lab import solve
    from pde_lab.bench.teng import NONLINEAR_2D, PERIODIC_2D, _row
    from problems import allen_cahn_2d, heat

    shared = {k: v for k, v in PERIODIC_2D.items() if k not in ("scheme", "subset_sizes", "rcond")}
    t_final = 0.02 if fast else T_FINAL
    rows, ratios = [], {}
    for make, teng in ((heat, PERIODIC_2D), (allen_cahn_2d, NONLINEAR_2D)):
        problem = make(t_final=t_final)
        reference = problem.reference()
        found = {}
        for label, (solver, own) in BASELINES.items():
            options = {**shared, **(teng if solver == "teng" else own), **(_FAST if fast else {}),
                       "device": device, "progress": False}
            if fast and solver == "teng":
                options["subset_sizes"] = (None,)
            if fast and solver == "obti":
                options.update(iterations=5, heun_iterations=5)
            solution = solve(problem, solver, **options)
            row = _row(f"{label} {problem.name}", solution, reference, options, by_time=True)
            row["max_step_loss"] = max(solution.history["step_loss"], default=None)
            rows.append(row)
            found[label] = row
        key = problem.name.replace("-", "_")
        for label in BASELINES:
            mine, theirs = found[label], found["teng-heun"]
            if label == "teng-heun" or not (mine.get("rel_l2_final") and theirs.get("rel_l2_final")):
                continue
            name = label.replace("-", "_")
            ratios[f"{key}_{name}_rel_l2_final_over_teng"] = mine["rel_l2_final"] / theirs["rel_l2_final"]
            ratios[f"{key}_{name}_wall_over_teng"] = mine["wall_s"] / theirs["wall_s"]
    return {"rows": rows, "ratios": ratios}


def figure(record: dict[str, Any], path: str) -> None:
    """Relative L2 error against time, one panel per problem, one line per method (log scale)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    problems = list(dict.fromkeys(row["problem"] for row in record["rows"]))
    fig, axes = plt.subplots(1, len(problems), figsize=(5.2 * len(problems), 3.8), squeeze=False)
    for ax, problem in zip(axes[0], problems):
        for row in (r for r in record["rows"] if r["problem"] == problem and r.get("rel_l2_vs_time")):
            times = [float(t) for t in row["rel_l2_vs_time"]]
            ax.semilogy(times, list(row["rel_l2_vs_time"].values()), marker=".", label=row["name"].split()[0])
        ax.set(title=problem, xlabel="t", ylabel="relative L2 error")
        ax.grid(True, which="both", alpha=0.3)
        ax.locator_params(axis="x", nbins=6)
        ax.legend(fontsize=8)
    fig.suptitle(f"TENG and its paper's baselines, same network and grid ({record['date']}, {record['device']})")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
