"""Every neural solver on CUDA gives what it gives on the CPU: the same problem, the matrix's fast
budget (`pde_lab.matrix_budgets.FAST_BUDGETS`), float64, solved on both devices in one process.

The ``device`` fixture skips these where CUDA is absent; ``.ci/gpu_check`` runs them on a GPU.
``_same_on`` is also called with ``"cpu"`` against itself below, so the comparison itself is
exercised on every machine.
"""

from __future__ import annotations

import pytest

from pde_lab import solve
from pde_lab.matrix import load_row
from pde_lab.matrix_budgets import FAST_BUDGETS, budget_for

#: (solver, matrix row) pairs: each neural solver on a problem it accepts, seconds on one CPU core.
CASES = [("causal", "burgers"), ("lpinn", "burgers"), ("teng", "allen-cahn:t_final=0.25"),
         ("pinn-ngd", "poisson"), ("pig", "burgers"), ("pinn", "heat")]


def _same_on(device: str, solver: str, row: str) -> None:
    problem = load_row(row)
    options = {**budget_for(FAST_BUDGETS, solver, row), "dtype": "float64", "progress": False}
    on = {name: solve(problem, solver, device=name, **options) for name in ("cpu", device)}
    assert on[device].stats["device"].startswith(device), on[device].stats["device"]
    assert on[device].status is on["cpu"].status, on[device].message
    reference = problem.reference()
    errors = {name: solution.error_vs(reference) for name, solution in on.items()}
    assert errors[device] == pytest.approx(errors["cpu"], rel=1e-3), errors


@pytest.mark.parametrize("solver, row", CASES, ids=[f"{s}-{r}" for s, r in CASES])
def test_neural_solver_on_cuda_matches_the_cpu(device, solver, row):
    _same_on(device, solver, row)


def test_the_comparison_runs_here_cpu_against_cpu():
    _same_on("cpu", "causal", "burgers")


def test_fno_and_pino_on_cuda_match_the_cpu(device):
    from pde_lab.data import BurgersFamily

    family = BurgersFamily(resolution=16, reference_resolution=64, grf_modes=8, dt=1e-2, n_times=3)
    settings = dict(family=family, n_train=8, n_test=4, epochs=3, batch_size=4, modes=4, width=8, workers=1,
                    progress=False, dtype="float64")
    member = family.problem(100)
    for solver in ("fno", "pino"):
        on = {name: solve(member, solver, device=name, **settings) for name in ("cpu", device)}
        assert on[device].stats["device"].startswith(device)
        errors = {name: s.error_vs(member.reference()) for name, s in on.items()}
        assert errors[device] == pytest.approx(errors["cpu"], rel=1e-3), (solver, errors)
