"""Decaying 2D turbulence on the torus: causal PINN and plain PINN against a spectral reference.

    ω_t + u ω_x + v ω_y − ν Δω = 0,   u_x + v_y = 0,   ω = v_x − u_y,   on [0, 2π)² periodic,

with ν = 0.01 and a seeded random initial vorticity of wave numbers |k| ≤ 4 (``problems.torus``,
the Navier–Stokes case of Wang, Sankaran & Perdikaris 2022, "Respecting causality is all you
need"). The networks learn the velocity (u, v)(x, y, t); the residual is the vorticity
equation plus continuity. Reference: Fourier pseudo-spectral + ETDRK4 on a 128² grid.

* ``causal`` -- the paper's method: exact periodic embedding and causal weights
  w_i = exp(−ε Σ_{k<i} L_k) that make the network fit early times before late ones
  (ε = 0.01 → 0.1 → 1; one time window here, the paper marches through several);
* ``pinn`` -- the plain PINN (soft periodic and initial-condition losses, Adam then L-BFGS),
  the baseline the paper improves on.

The paper trains for hours on a GPU (width 128, 4 layers, 20 windows, 10^5 steps per ε). Here
both run on one CPU core for about four minutes each over t ∈ [0, 0.5] (t ∈ [0, 0.1] in the
fast test), with 3×64 networks, a plain tanh MLP trunk, the time as a plain input and nested
reverse-mode derivatives (faster than the Taylor jets at this size): expect errors of several
to tens of percent, not the paper's 1e-2. Other solvers do not apply: TENG
needs a rate u_t = F[u] (this residual has ω_t, not u_t), and the FNO learns a map between
the fields of a *family* of problems (``pde_lab.data``: the FNO paper's forced unit torus),
not this single flow.

Run:  python examples/05_torus_turbulence.py
Writes out/torus.png (vorticity at a few times: reference and each solver; ω from the
velocities by central differences on a 129² grid) and out/torus_<name>.pvd (+ one .vtu per
frame, fields u, v; ParaView's "Gradient" filter with "Compute Vorticity" shows ω).

Measured on 1 CPU core, 2026-11-23 (full run; a shared, oversubscribed machine, so the
causal PINN got fewer steps in its 240 s than it would alone), rel. L2 of (u, v) over
space-time / at t = 0.5: causal 0.23 / 0.37 (240 s), pinn 0.16 / 0.27 (1,000 Adam + 500
L-BFGS steps, 717 s wall here); the whole run used 295 s of CPU time.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from pde_lab import solve
from pde_lab.solution import relative_error
from pde_lab.solvers.causal import CausalPINN
from pde_lab.solvers.pinn import PINN
from problems import torus


def vorticity(solution, t: float, n: int = 129) -> np.ndarray:
    """ω = v_x − u_y of ``solution`` at time ``t`` on an n × n grid of [0, 2π]², by central differences.

    (Finite differences rather than FFTs: a plain PINN is periodic only approximately.)
    """
    axis = np.linspace(0.0, 2 * math.pi, n)
    x, y = np.meshgrid(axis, axis, indexing="ij")
    u, v = solution(np.column_stack([x.ravel(), y.ravel(), np.full(n * n, t)])).T.reshape(2, n, n)
    return np.gradient(v, axis, axis=0, edge_order=2) - np.gradient(u, axis, axis=1, edge_order=2)


def plot(path: Path, reference, solutions: dict, times) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = {"reference": reference, **solutions}
    figure, axes = plt.subplots(
        len(rows),
        len(times),
        figsize=(3.2 * len(times), 3.0 * len(rows)),
        squeeze=False,
        layout="constrained",
    )
    for column, t in enumerate(times):
        truth = vorticity(reference, t)
        scale = np.abs(truth).max()
        for row, (name, solution) in enumerate(rows.items()):
            omega = truth if solution is reference else vorticity(solution, t)
            ax = axes[row, column]
            image = ax.imshow(
                omega.T,
                origin="lower",
                extent=(0, 2 * math.pi, 0, 2 * math.pi),
                cmap="RdBu_r",
                vmin=-scale,
                vmax=scale,
            )
            error = (
                "" if solution is reference else f", rel. err {relative_error(omega, truth):.2f}"
            )
            ax.set_title(f"{name}, t = {t:.2f}{error}", fontsize=9)
            ax.set_xticks([])
            ax.set_yticks([])
        figure.colorbar(image, ax=axes[:, column], shrink=0.6, location="bottom")
    figure.suptitle("vorticity ω = v_x − u_y")
    figure.savefig(path, dpi=110)
    plt.close(figure)


def main(fast: bool = False, out_dir: str | Path = "out") -> dict[str, float]:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    problem = torus(nu=0.01, t_final=0.1 if fast else 0.5, seed=0)
    reference = problem.reference()  # pseudo-spectral, 128² grid, ETDRK4
    solvers = {
        "causal": CausalPINN(
            architecture="mlp",
            width=32 if fast else 64,
            depth=2 if fast else 3,
            harmonics=5,
            temporal_powers=(0.0,),
            epsilons=(1e-2, 1e-1, 1.0),
            steps_per_epsilon=50 if fast else 100_000,
            check_every=20 if fast else 100,
            time_chunks=8 if fast else 16,
            n_space=32 if fast else 64,
            initial_weight=1e3,
            residual_weights=(1.0, 100.0),
            learning_rate=3e-3,
            decay_steps=2000,
            time_limit=None if fast else 240.0,
            derivatives="autograd",
            seed=0,
        ),
        "pinn": PINN(
            width=32 if fast else 64,
            depth=2 if fast else 3,
            n_interior=256 if fast else 2000,
            n_boundary=64 if fast else 400,
            n_initial=128 if fast else 1000,
            adam_steps=100 if fast else 1000,
            lbfgs_steps=60 if fast else 500,
            learning_rate=3e-3,
            weights={"initial": 100.0},
            seed=0,
        ),
    }
    solutions = {name: solve(problem, solver) for name, solver in solvers.items()}
    points = problem.evaluation_points()  # 81² grid × 20 instants
    truth = reference(points)
    final = np.isclose(points[:, -1], problem.time_span[1])
    errors = {}
    print(
        f"{'solver':<8} {'rel L2':>9} {'at t_end':>9} {'max err':>9} {'wall s':>8} {'peak MB':>8}  status"
    )
    for name, solution in solutions.items():
        values = solution(points)  # as solution.error_vs(reference), with one reference evaluation
        errors[name] = relative_error(values, truth)
        at_end = relative_error(values[final], truth[final])
        worst = relative_error(values, truth, norm="max")
        stats = solution.stats
        print(
            f"{name:<8} {errors[name]:>9.2e} {at_end:>9.2e} {worst:>9.2e} {stats['wall_s']:>8.1f} "
            f"{stats['peak_mem_mb']:>8.1f}  {solution.status.value}"
        )
    print(
        f"{'spectral':<8} {'(ref)':>9} {'':>9} {'':>9} {reference.stats['wall_s']:>8.1f} "
        f"{reference.stats['peak_mem_mb']:>8.1f}  {reference.message}"
    )
    plot(out / "torus.png", reference, solutions, np.linspace(*problem.time_span, 4))
    for name, solution in {"reference": reference, **solutions}.items():
        solution.export(out / f"torus_{name}.pvd", n_frames=11, h=2 * math.pi / 48)
    print(f"wrote {out / 'torus.png'} and torus_*.pvd (u, v over time) in {out}")
    return errors


if __name__ == "__main__":
    main()
