r"""Burgers' equation: a shock forms at x = 0 — the plain PINN, DeepXDE and TENG against Cole–Hopf.

    u_t + u u_x = ν u_xx,  x ∈ [-1, 1], t ∈ [0, 1],  u(x, 0) = -sin(πx),  u(±1, t) = 0,  ν = 0.01/π.

The two halves of the sine run into each other at x = 0 and steepen into a front about
2ν ≈ 0.006 wide by t ≈ 0.3 (Raissi et al. 2019). The reference is exact: the Cole–Hopf
solution, evaluated by Gauss–Hermite quadrature to about 1e-15.

Solvers:
* ``pinn``: the plain PINN (Adam, then L-BFGS), the baseline the other neural methods are
  measured against, with the network and points of DeepXDE's own Burgers example;
* ``deepxde``: DeepXDE itself on the same Problem and budget (it also enforces the PDE on the
  boundary and initial points), the most accurate PINN on this problem in our benchmarks;
* ``teng``: TENG (Chen et al. 2024) marches the network in time, each step a least-squares
  projection of a Heun step, the Dirichlet condition built in; very accurate until the
  front forms, then limited by its sample grid (a few points across the front).
The causal and Lagrangian PINNs were tried too and did worse at CPU budgets (causal: 0.25 on
t ≤ 0.3 after 400 Adam steps, where TENG had 0.02; LPINN: 0.45 after the shock, BENCHMARKS.md).

Run:  python examples/02_burgers_shock.py   (writes out/burgers_shock.png: u(x, t) of the most
accurate solver and slices of all three against the exact solution; and the ParaView time
series out/burgers_<solver>.pvd + out/burgers_<solver>_*.vtu of the most accurate one)

``fast=True`` (the test) solves t ∈ [0, 0.3] only, up to the moment the front forms, with tiny budgets.

Measured on 1 CPU core, 2026-11-23 (a shared machine, load 7–15: the run took 13.5 min of CPU
time, 37 min of wall time), relative L2 on the 201 × 201 grid of [-1, 1] × [0, 1]:
    pinn     1.8e-1   Adam 10,000 + L-BFGS 5,000 (L-BFGS stopped on its tolerance after 3)
    deepxde  1.7e-2   the same network, points and budget
    teng     7.8e-2   Heun, dt = 0.01, width 30, 512 points; 2.3e-3 at t = 0.1, 7.0e-3 at
                      t = 0.3, 4.6e-2 at t = 0.5, 1.3e-1 at t = 1 (the front spans ~2 grid points)
fast=True: teng 2.1e-2, deepxde 0.15, pinn 0.21 in about 20 s of CPU time.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from pde_lab import compare
from pde_lab.solvers.deepxde_peer import DeepXDEPeer
from pde_lab.solvers.pinn import PINN
from pde_lab.solvers.teng import TENG
from problems import burgers


def main(fast: bool = False, out_dir: str | Path = "out") -> dict[str, float]:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    problem = burgers()  # ν = 0.01/π, exact Cole–Hopf reference
    if fast:
        problem = dataclasses.replace(problem, time_span=(0.0, 0.3))
    network = {"width": 20, "depth": 3, "seed": 0}  # DeepXDE's Burgers example: 3 x 20 tanh, float32
    budget = {"n_interior": 2540, "n_boundary": 80, "n_initial": 160, "adam_steps": 10000, "lbfgs_steps": 5000}
    if fast:
        budget = {"n_interior": 500, "n_boundary": 40, "n_initial": 80, "adam_steps": 200, "lbfgs_steps": 100}
    solvers = {
        "pinn": PINN(**network, **budget),
        "deepxde": DeepXDEPeer(**network, **budget),
        "teng": TENG(dt=0.05 if fast else 0.01, width=16 if fast else 30, points_per_axis=128 if fast else 512),
    }
    table = compare(problem, solvers)  # runs the reference, then each solver
    print(table)
    errors = {row["name"]: row["rel_l2"] for row in table.rows if not row["reference"]}
    best = min(errors, key=lambda name: errors[name] if errors[name] is not None else np.inf)
    table.solutions[best].export(out / f"burgers_{best}.pvd", n_frames=6 if fast else 21)
    _figure(problem, table.solutions, best, errors, out / "burgers_shock.png")
    print(f"best: {best}; wrote {out / f'burgers_{best}.pvd'} and {out / 'burgers_shock.png'}")
    return errors


def _figure(problem, solutions, best, errors, path):
    """u(x, t) of the best solver; every solver against the exact solution at four times."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from pde_lab.plot import draw_field

    exact = problem.reference()
    t0, t1 = problem.time_span
    points = problem.evaluation_points()
    figure = plt.figure(figsize=(13, 5.5), constrained_layout=True)
    grid = figure.add_gridspec(2, 3)
    draw_field(figure.add_subplot(grid[:, 0]), problem, points, solutions[best](points)[:, 0],
               f"u(x, t), {best} (rel. L2 {errors[best]:.1e})", cmap="RdBu_r")
    x = np.linspace(-1, 1, 801)
    for k, t in enumerate(np.linspace(t0, t1, 5)[1:]):
        ax = figure.add_subplot(grid[k // 2, 1 + k % 2])
        xt = np.column_stack([x, np.full_like(x, t)])
        ax.plot(x, exact(xt)[:, 0], color="0.6", lw=3, label="exact")
        for name, solution in solutions.items():
            if solution is not None and errors[name] is not None:
                ax.plot(x, solution(xt)[:, 0], lw=1, label=name)
        ax.set_title(f"t = {t:.3g}")
        ax.set_xlabel("x")
    ax.legend(fontsize="small")
    figure.suptitle("Burgers, ν = 0.01/π")
    figure.savefig(path, dpi=110)
    plt.close(figure)


if __name__ == "__main__":
    main()
