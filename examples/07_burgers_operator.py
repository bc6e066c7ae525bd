r"""A family of problems: train a Fourier neural operator once, then answer new members in one pass.

    u_t + u u_x = ν u_xx  on the periodic [0, 1),  ν = 0.1,  t ∈ [0, 1],  u(x, 0) = u0(x),

with u0 a Gaussian random field, N(0, 625 (−Δ + 25 I)^−2): the Burgers benchmark of the FNO
paper (Li et al., ICLR 2021), ``pde_lab.data.BurgersFamily``. Every member is a different
``Problem`` with its own reference (Fourier pseudo-spectral + ETDRK4 on 1,024 points). The FNO
learns the map u0 ↦ u(·, 1) from the references of members 0 .. n_train + n_test − 1, on a
256-point grid.

What the script does:

1. generates the training data into ``out/burgers_family.npz`` (seeded, resumable: stop it
   and run again, it continues where it stopped);
2. trains the FNO (the paper's 1D architecture: 16 modes, width 64; Adam with step decay), or
   loads ``out/burgers_fno.pt`` if an earlier run saved it with the same settings
   (``FNO(..., weights=path)``), and saves it otherwise (``fno.save(path)``);
3. answers 4 members it never saw, on its 256-point grid and on 1,024 points (the same
   network: the Fourier layers do not depend on the grid), and compares each answer and its
   time with the reference's.

Run:  python examples/07_burgers_operator.py
Writes out/burgers_operator.png (test error over the epochs; u0, reference and FNO u(·, 1) for
three new members).

Measured on 1 CPU core, 2026-12-07, with another job on the second core (times are upper
bounds): 2 min 48 s in all (550 references, 60 epochs on 500 members); test rel L2 5.6e-3 (the
paper's 1.49e-2 used 1,000 members and 500 epochs); on the 4 new members 3.7e-3 to 1.1e-2, mean
6.1e-3 on 256 points and 6.2e-3 on 1,024; 4.3 ms per FNO answer against 0.12 s per reference
(28x). At ν = 0.1 the solution is nearly flat by t = 1; the figure shows how much smoothing the
operator has learned. A second run loads out/burgers_fno.pt and only evaluates (seconds).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from pde_lab import solve
from pde_lab.data import BurgersFamily
from pde_lab.solvers.operator import FNO


def main(fast: bool = False, out_dir: str | Path = "out") -> dict[str, float]:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if fast:  # seconds: a coarse family and a small network
        family = BurgersFamily(resolution=32, reference_resolution=128, grf_modes=24, dt=5e-3)
        settings = dict(n_train=128, n_test=16, epochs=40, batch_size=16, modes=12, width=24)
    else:
        family = BurgersFamily(resolution=256, reference_resolution=1024)
        settings = dict(n_train=500, n_test=50, epochs=60)
    settings = dict(settings, family=family, dataset=str(out / "burgers_family.npz"), workers=1)
    weights = out / "burgers_fno.pt"
    fno = _trained(settings, weights)
    trained = fno.train()
    print(trained.message)

    finer = FNO(**settings, resolution=4 * family.resolution)  # the same network (cached), 4x the points
    first = fno.n_train + fno.n_test  # members the FNO never saw
    rows, shown = [], []
    for index in range(first, first + 4):
        problem = family.problem(index)
        start = time.perf_counter()
        reference = problem.reference()
        reference_s = time.perf_counter() - start
        answers = {"coarse": solve(problem, fno), "fine": solve(problem, finer)}
        errors = {name: _error_at_final_time(answer, reference, problem) for name, answer in answers.items()}
        rows.append((index, errors["coarse"], errors["fine"], answers["coarse"].stats["wall_s"], reference_s))
        shown.append((index, problem, reference, answers["fine"]))
    print(f"{'member':>6} {'rel L2 at ' + str(family.resolution):>14} {'at ' + str(4 * family.resolution):>8}"
          f" {'FNO s':>8} {'reference s':>12}")
    for index, coarse, fine, fno_s, reference_s in rows:
        print(f"{index:>6} {coarse:>14.2e} {fine:>8.2e} {fno_s:>8.4f} {reference_s:>12.3f}")
    errors = {"test": trained.stats["test_rel_l2"], "new_coarse": float(np.mean([r[1] for r in rows])),
              "new_fine": float(np.mean([r[2] for r in rows]))}
    print(f"mean rel L2 on new members: {errors['new_coarse']:.2e} ({family.resolution} points), "
          f"{errors['new_fine']:.2e} ({4 * family.resolution}); FNO {np.mean([r[3] for r in rows]) * 1e3:.1f} ms, "
          f"reference {np.mean([r[4] for r in rows]):.3f} s per member")
    _figure(trained.history, shown[:3], out / "burgers_operator.png")
    print(f"wrote {out / 'burgers_operator.png'}; trained network in {weights}")
    return errors


def _trained(settings: dict, weights: Path) -> FNO:
    """The FNO of ``settings``: loaded from ``weights`` if a run saved it with these settings, else trained and saved."""
    if weights.exists():
        fno = FNO(**settings, weights=str(weights))
        try:
            fno.train()
            print(f"loaded the trained FNO from {weights}")
            return fno
        except ValueError as error:  # saved with other settings (e.g. by the fast run): train anew
            print(f"not loading {weights}: {error}")
    fno = FNO(**settings)
    fno.save(str(weights))
    return fno


def _error_at_final_time(answer, reference, problem, n: int = 1024) -> float:
    """Relative L2 of ``answer`` against ``reference`` at t = T on ``n`` points of [0, 1)."""
    x = np.arange(n) / n
    points = np.column_stack([x, np.full(n, problem.time_span[1])])
    return answer.error_vs(reference, points=points)


def _figure(history: dict, shown: list, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 1 + len(shown), figsize=(4.2 * (1 + len(shown)), 3.4), layout="constrained")
    axes[0].semilogy(history["epoch"], history["test_rel_l2"], label="test rel L2")
    axes[0].semilogy(history["epoch"], history["loss"], "--", label="training loss")
    axes[0].set(xlabel="epoch", title="FNO training")
    axes[0].legend()
    x = np.arange(1024) / 1024
    for ax, (index, problem, reference, answer) in zip(axes[1:], shown, strict=True):
        t = problem.time_span[1]
        at = np.column_stack([x, np.full_like(x, t)])
        ax.plot(x, reference(np.column_stack([x, np.zeros_like(x)]))[:, 0], color="0.6", label="u0")
        ax.plot(x, reference(at)[:, 0], "k", label="reference u(·, 1)")
        ax.plot(x, answer(at)[:, 0], "r--", label="FNO u(·, 1)")
        ax.set(xlabel="x", title=f"new member {index}: rel L2 {answer.error_vs(reference, points=at):.1e}")
    axes[1].legend(fontsize=8)
    figure.savefig(path, dpi=120)
    plt.close(figure)


if __name__ == "__main__":
    main()
