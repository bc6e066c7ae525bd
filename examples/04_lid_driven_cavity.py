"""Lid-driven cavity at Re = 100: Gauss–Newton PINN and Adam/L-BFGS PINN against Taylor–Hood FEM.

    (u·∇)u + ∇p − (1/Re) Δu = 0,   ∇·u = 0   in (0,1)²,
    u = (1, 0) on the lid y = 1,   u = (0, 0) on the other three walls.

No closed form exists; the reference is Taylor–Hood P2/P1 finite elements with Newton's method
(``problems.cavity``, within 1% of Ghia, Ghia & Shin 1982 on the centrelines). Two neural
solvers, one network each for (u, v, p):

* ``pinn-ngd`` -- Gauss–Newton / energy natural gradient on the residual rows (Müller &
  Zeinhofer 2023): a small network, a few hundred second-order steps;
* ``pinn`` -- the plain PINN (Raissi et al. 2019): Adam, then L-BFGS.

Both run in float64 (Gauss–Newton steps and L-BFGS to low losses want it).

The pressure is fixed only up to a constant (no pressure condition; the problem declares
``gauge=("p",)`` and the reference has zero mean). We report the velocity error (u and v
together, relative L2 on the problem's 81×81 grid) as the headline number, and the pressure
error after subtracting each pressure's mean on that grid -- what
``Solution.error_vs(reference, field="p")`` does for a gauge field.

Run:  python examples/04_lid_driven_cavity.py
Writes out/cavity.png (speed |u| with streamlines, reference and best solver; centre-line
u(y) with Ghia's data) and out/cavity_<solver>.vtu, out/cavity_fem.vtu (u, v, p, ParaView).

Measured on 1 CPU core, 2026-11-23 (full run, on a shared, oversubscribed machine), velocity
rel. L2 / pressure rel. L2 (means removed): pinn-ngd (2×24 network, 200 Gauss–Newton steps)
0.099 / 0.62, about 480 s wall here; pinn (3×50, 3,000 Adam + 2,000 L-BFGS) 0.14 / 0.55,
1,100 s wall here. The pressure error is dominated by the singular lid corners.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pde_lab import solve
from pde_lab.reference.ghia1982 import GHIA_RE100_U, GHIA_RE100_Y
from pde_lab.solution import relative_error
from pde_lab.solvers.pinn import PINN
from pde_lab.solvers.pinn_ngd import PINNNGD
from problems import cavity


def errors_vs(solution, reference, points) -> tuple[float, float, float]:
    """Velocity rel. L2, velocity max error, pressure rel. L2 with both means removed."""
    mine, theirs = solution(points), reference(points)
    velocity = relative_error(mine[:, :2], theirs[:, :2])
    worst = relative_error(mine[:, :2], theirs[:, :2], norm="max")
    pressure = relative_error(mine[:, 2] - mine[:, 2].mean(), theirs[:, 2] - theirs[:, 2].mean())
    return velocity, worst, pressure


def plot(path: Path, reference, best, name: str, solutions: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    axis = np.linspace(0.0, 1.0, 101)
    x, y = np.meshgrid(axis, axis)  # streamplot wants rows along y
    grid = np.column_stack([x.ravel(), y.ravel()])
    figure, axes = plt.subplots(1, 3, figsize=(15, 4.6))
    for ax, solution, title in (
        (axes[0], reference, "reference (Taylor–Hood FEM)"),
        (axes[1], best, name),
    ):
        u, v = (solution(grid)[:, i].reshape(x.shape) for i in (0, 1))
        image = ax.pcolormesh(x, y, np.hypot(u, v), shading="auto", cmap="viridis", vmin=0, vmax=1)
        ax.streamplot(axis, axis, u, v, color="white", density=1.2, linewidth=0.6, arrowsize=0.6)
        ax.set(
            title=f"|u|: {title}", aspect="equal", xlabel="x", ylabel="y", xlim=(0, 1), ylim=(0, 1)
        )
        figure.colorbar(image, ax=ax, shrink=0.85)
    line = np.column_stack([np.full(201, 0.5), np.linspace(0, 1, 201)])
    axes[2].plot(reference(line)[:, 0], line[:, 1], "k-", lw=2, label="reference")
    for label, solution in solutions.items():
        axes[2].plot(solution(line)[:, 0], line[:, 1], "--", label=label)
    axes[2].plot(
        GHIA_RE100_U, GHIA_RE100_Y, "o", mfc="none", color="tab:red", label="Ghia et al. 1982"
    )
    axes[2].set(title="u(0.5, y) on the vertical centre line", xlabel="u", ylabel="y")
    axes[2].legend()
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def main(fast: bool = False, out_dir: str | Path = "out") -> dict[str, float]:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    problem = cavity(reynolds=100.0)
    reference = problem.reference()  # Taylor–Hood P2/P1 + Newton, h = 0.05
    solvers = {
        "pinn-ngd": PINNNGD(
            width=20 if fast else 24,
            depth=2,
            iterations=40 if fast else 200,
            n_interior=300 if fast else 900,
            n_boundary=80 if fast else 200,
            seed=0,
        ),
        "pinn": PINN(
            width=32 if fast else 50,
            depth=3,
            n_interior=400 if fast else 2000,
            n_boundary=100 if fast else 400,
            adam_steps=300 if fast else 3000,
            learning_rate=1e-2 if fast else 1e-3,
            lbfgs_steps=0 if fast else 2000,
            weights={"boundary": 10.0},
            dtype="float64",
            seed=0,
        ),
    }
    solutions = {name: solve(problem, solver) for name, solver in solvers.items()}
    points = problem.evaluation_points()  # 81 × 81 grid
    errors = {}
    print(
        f"{'solver':<10} {'vel L2':>9} {'vel max':>9} {'p L2*':>9} {'wall s':>8} {'peak MB':>8}  status"
    )
    for name, solution in solutions.items():
        velocity, worst, pressure = errors_vs(solution, reference, points)
        errors[name], errors[f"{name} pressure"] = velocity, pressure
        stats = solution.stats
        print(
            f"{name:<10} {velocity:>9.2e} {worst:>9.2e} {pressure:>9.2e} {stats['wall_s']:>8.1f} "
            f"{stats['peak_mem_mb']:>8.1f}  {solution.status.value}"
        )
    print(
        f"{'reference':<10} {'FEM P2/P1':>9} {'':>9} {'':>9} {reference.stats['wall_s']:>8.1f} "
        f"{reference.stats['peak_mem_mb']:>8.1f}  {reference.stats['triangles']} triangles"
    )
    print("* pressure with its mean removed (the PDE fixes p only up to a constant)")
    best = min(solvers, key=errors.get)
    plot(out / "cavity.png", reference, solutions[best], best, solutions)
    reference.export(out / "cavity_fem.vtu")
    for name, solution in solutions.items():
        solution.export(out / f"cavity_{name}.vtu")
    print(f"wrote {out / 'cavity.png'} and cavity_*.vtu (u, v, p) in {out}")
    return errors


if __name__ == "__main__":
    main()
