"""TENG on Kuramoto–Sivashinsky: explicit against exponential targets (benchmark ``"teng-ks"``).

The causal-PINN paper's regular KS (:func:`problems.kuramoto_sivashinsky.kuramoto_sivashinsky`,
:math:`u_t = -5uu_x - 0.5u_{xx} - 0.005u_{xxxx}` on :math:`[-1, 1]`, t ∈ [0, 1]; spectral
reference) with one network, grid, step and initial fit (:data:`KS_1D`), stepped by the TENG
paper's Heun targets and by the exponential ``etd2`` and ``etdrk4`` targets
(:mod:`pde_lab.solvers.exponential_targets`), which take the stiff linear part exactly. Rows
give the relative L2 error at each evaluation time, over space-time, the wall time and the
largest step loss; the ratios compare the explicit and second-order errors with ETDRK4's, and
ETDRK4's space-time error with the causal PINN's published 3.49e-4 (10 time windows, 2e5 Adam
steps each, on a GPU). ``figure`` draws the error over time.
"""

from __future__ import annotations

from typing import Any

__all__ = ["CAUSAL_PAPER", "KS_1D", "SCHEMES", "figure", "run"]

#: The causal PINN's relative L2 error on this problem (Wang, Sankaran & Perdikaris 2022).
CAUSAL_PAPER = 3.49e-4

#: TENG's network and grid for 1D KS: 1,341 parameters on 128 points. The solution keeps its
#: spectrum above 1e-6 within |k| <= 16 of the 256-mode reference for t <= 1, so 128 points
#: resolve it (256 gave the same errors to two digits). All parameters in every Gauss–Newton
#: iteration (the network has fewer than the default subsets). The initial fit is pushed to 1e-11,
#: and every stage is fitted to a relative misfit of 1e-10 (``step_tolerance``; up to 50 iterations,
#: least-squares cutoff 1e-9): the KS dynamics amplify a change of the solution in its unstable
#: modes (|k| about 3π) 40× by t = 0.4 and 1,800× by t = 1, so single stages left at 1e-5 to 1e-4
#: by 7 + 5 iterations at the default cutoff 1e-6 decided the error (2026-12-07, ETDRK4 over
#: t in [0, 1]: 1.3e-3 at t = 1 with 7 + 5; 2.3e-4 over space-time and 7.3e-4 at t = 1 with 1e-8 and
#: 30 iterations; 9.9e-5 and 1.0e-4 with these fits, at 2.5× that time).
KS_1D = dict(width=20, hidden_layers=3, points_per_axis=128, fit_iterations=2000, fit_tolerance=1e-11, dt=4e-3,
             iterations=50, heun_iterations=50, step_tolerance=1e-10, rcond=(1e-9,))

#: The schemes compared, at the same step.
SCHEMES = ("heun", "etd2", "etdrk4")

_FAST = dict(width=8, hidden_layers=1, points_per_axis=32, fit_iterations=30, dt=5e-3, iterations=7,
             heun_iterations=5)


def run(device: str = "cpu", fast: bool = False) -> dict[str, Any]:
    from pde_lab import solve
    from pde_lab.bench.teng import _row
    from problems.kuramoto_sivashinsky import kuramoto_sivashinsky

    problem = kuramoto_sivashinsky(t_final=0.02 if fast else 1.0)
    reference = problem.reference()
    rows, found = [], {}
    for scheme in SCHEMES:
        options = dict(KS_1D, **(_FAST if fast else {}), scheme=scheme, device=device, progress=False)
        solution = solve(problem, "teng", **options)
        row = _row(f"teng-{scheme} {problem.name}", solution, reference, options, by_time=True)
        row["max_step_loss"] = max(solution.history["step_loss"], default=None)
        rows.append(row)
        found[scheme] = row
    ratios = {}
    best = found["etdrk4"]
    for scheme in ("heun", "etd2"):
        if found[scheme].get("rel_l2_final") and best.get("rel_l2_final"):
            ratios[f"{scheme}_rel_l2_final_over_etdrk4"] = found[scheme]["rel_l2_final"] / best["rel_l2_final"]
            ratios[f"{scheme}_wall_over_etdrk4"] = found[scheme]["wall_s"] / best["wall_s"]
    if best.get("rel_l2"):
        ratios["causal_paper_over_etdrk4_rel_l2"] = CAUSAL_PAPER / best["rel_l2"]
    return {"rows": rows, "ratios": ratios}


def figure(record: dict[str, Any], path: str) -> None:
    """Relative L2 error against time, one line per scheme (log scale), the causal paper's level dashed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.0, 4.0))
    for row in record["rows"]:
        if row.get("rel_l2_vs_time"):
            errors = row["rel_l2_vs_time"]
            ax.semilogy([float(t) for t in errors], list(errors.values()), marker=".", label=row["name"].split()[0])
    ax.axhline(CAUSAL_PAPER, color="grey", linestyle="--", label="causal PINN, paper (space-time)")
    ax.set(title="Kuramoto–Sivashinsky (regular), TENG targets at equal dt", xlabel="t", ylabel="relative L2 error")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.suptitle(f"{record['date']}, {record['device']}", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
