"""The plain PINN: accuracy on Poisson, reproducibility, divergence handling, CUDA."""

import math

import numpy as np
import pytest
import torch

from geometries import Rectangle
from pde_lab import Dirichlet, Problem, Status, solve
from pde_lab.solvers.pinn import PINN
from problems import burgers, poisson

# The fast CPU setting: ~1000 iterations on a 3x20 tanh MLP, a few seconds.
FAST = dict(width=20, depth=3, n_interior=300, n_boundary=100, adam_steps=300, lbfgs_steps=700,
            weights={"boundary": 10.0}, dtype="float64", device="cpu", progress=False)


def test_pinn_solves_poisson_to_one_percent():
    """Measured: rel L2 8.7e-4 vs the exact sin(πx) sin(πy) (target ≤ 1e-2)."""
    solution = solve(poisson(), "pinn", **FAST)
    assert solution.status.ok, solution.message
    assert solution.error_vs() <= 1e-2
    loss = solution.history["loss"]
    assert loss[-1] < 1e-3 * loss[0]
    assert solution.stats["iterations"] == solution.history["iteration"][-1] > 300
    for key in ("wall_s", "peak_mem_mb", "iterations", "device", "dtype"):
        assert key in solution.stats


def test_seeded_runs_are_identical_and_leave_global_rng_alone():
    settings = dict(FAST, adam_steps=30, lbfgs_steps=10)
    state = torch.random.get_rng_state()
    first, second = solve(poisson(), "pinn", **settings), solve(poisson(), "pinn", **settings)
    assert torch.equal(state, torch.random.get_rng_state())
    assert first.history["loss"] == second.history["loss"]
    other = solve(poisson(), "pinn", **dict(settings, seed=1))
    assert other.history["loss"][0] != first.history["loss"][0]


def test_nan_stops_with_diverged_status_and_keeps_last_good_parameters():
    calls = {"n": 0}

    def residual(f, p):
        calls["n"] += 1
        bad = float("nan") if calls["n"] > 5 else 0.0  # the 6th evaluation produces NaN
        return -f.lap("u") - 1.0 + bad

    problem = Problem(name="breaks", geometry=Rectangle((0, 0), (1, 1)), residual=residual,
                      boundary_conditions=(Dirichlet(0.0),))
    settings = dict(FAST, adam_steps=20, lbfgs_steps=0)
    broken = solve(problem, "pinn", **settings)
    assert broken.status is Status.DIVERGED and not broken.status.ok
    assert "learning rate" in broken.message and "float64" in broken.message
    assert all(torch.isfinite(p).all() for p in broken.model.parameters())
    # The 6th loss (after 5 updates) was NaN, so the last parameters with a finite loss are
    # those after 4 updates: the same four Adam steps, run clean.
    calls["n"] = -10**9
    clean = solve(problem, "pinn", **dict(settings, adam_steps=4))
    for a, b in zip(broken.model.parameters(), clean.model.parameters(), strict=True):
        assert torch.equal(a, b)
    assert np.isfinite(broken(np.array([[0.5, 0.5]]))).all()


def test_time_dependent_problem_trains_towards_cole_hopf():
    """Burgers at a tiny budget: the error against Cole–Hopf falls as training proceeds."""
    settings = dict(FAST, n_interior=400, n_initial=100, lbfgs_steps=0, weights={})
    early = solve(burgers(), "pinn", **dict(settings, adam_steps=20))
    later = solve(burgers(), "pinn", **dict(settings, adam_steps=400))
    assert later.error_vs() < 0.7 * early.error_vs()
    xt = torch.tensor([[0.0, 0.5], [0.5, 0.0]], dtype=torch.float64)
    assert later(xt).shape == (2, 1)


@pytest.mark.parametrize(
    "options, error, match",
    [
        (dict(dtype="float16"), ValueError, "float32' or 'float64"),
        (dict(device="tpu"), ValueError, "invalid device"),
        (dict(learning_rate=float("nan")), ValueError, "learning_rate"),
        (dict(adam_steps=-1), ValueError, ">= 0"),
        (dict(n_interior=0), ValueError, "n_interior"),
        (dict(sampling="grid"), ValueError, "unknown sampling method"),
        (dict(activation="relu6"), ValueError, "unknown activation"),
        (dict(weights={"bc": 1.0}), ValueError, "unknown loss weights"),
        (dict(residual_on_boundary="yes"), ValueError, "residual_on_boundary must be True or False"),
        (dict(lbfgs_dtype="float32"), ValueError, "lbfgs_dtype must be None or 'float64'"),
        (dict(dtype="float16"), ValueError, "dtype must be 'float32' or 'float64'"),
    ],
)
def test_bad_options(options, error, match):
    with pytest.raises(error, match=match):
        solve(poisson(), "pinn", **dict(FAST, **options))


def test_lbfgs_dtype_runs_adam_in_float32_and_lbfgs_in_float64():
    """Adam's losses are those of the float32 run, bit for bit; then network and points are
    float64, and so is the solution."""
    settings = dict(FAST, dtype="float32", adam_steps=50, lbfgs_steps=30)
    narrow, mixed = solve(burgers(), "pinn", **settings), solve(burgers(), "pinn", **settings, lbfgs_dtype="float64")
    assert mixed.history["loss"][:50] == narrow.history["loss"][:50]
    assert mixed.stats["dtype"] == "float32" and mixed.stats["solution_dtype"] == "float64"
    assert all(p.dtype == torch.float64 for p in mixed.model.parameters())
    assert mixed.stats["iterations"] == 80 and np.isfinite(mixed.error_vs(burgers().reference()))
    assert narrow.stats["solution_dtype"] == "float32"


def test_unknown_problem_type():
    with pytest.raises(TypeError, match="expects a Problem"):
        solve("poisson", "pinn")
    with pytest.raises(TypeError, match="options are given to the solver object"):
        solve(poisson(), PINN(), adam_steps=3)


def test_cuda_device(device):
    """On CUDA the same seeded run reaches the same first loss as on CPU (skipped without CUDA)."""
    settings = dict(FAST, adam_steps=10, lbfgs_steps=0)
    here = solve(poisson(), "pinn", **dict(settings, device=device))
    cpu = solve(poisson(), "pinn", **settings)
    assert here.stats["device"].startswith(device)
    assert math.isclose(here.history["loss"][0], cpu.history["loss"][0], rel_tol=1e-8)


def test_nan_initial_data_is_refused_before_training():
    import dataclasses

    bad = dataclasses.replace(burgers(), initial_condition=lambda x: torch.full_like(x[:, 0], float("nan")))
    with pytest.raises(ValueError, match="initial_condition returned NaN or inf"):
        solve(bad, "pinn", **dict(FAST, adam_steps=1, lbfgs_steps=0))


def test_residual_on_boundary_enforces_the_pde_on_the_boundary_and_initial_points_too():
    """The points are the interior ones plus every boundary and initial point, the loss their
    mean; trained so, the PDE residual on the initial line t = 0 comes out lower (Burgers,
    800 + 200 steps, seed 0: RMS 0.213 -> 0.099, measured; 2.3x lower at 1,500 + 300 steps,
    seeds 0 and 1)."""
    from pde_lab.collocation import loss_terms, pde_residuals, sample_collocation
    from pde_lab.distributed import shard

    problem = burgers()
    counts = dict(n_interior=50, n_boundary=20, n_initial=10, seed=1, dtype=torch.float64)
    plain, closed = sample_collocation(problem, **counts), sample_collocation(problem, **counts, residual_on_boundary=True)
    assert plain.on_boundary is None and torch.equal(closed.interior, plain.interior)
    points = closed.residual_points()
    assert points.shape == (80, 2) and torch.equal(points[:50], plain.interior)
    assert torch.all(points[50:70, 0].abs() == 1) and torch.all(points[70:, 1] == 0)
    network = torch.nn.Sequential(torch.nn.Linear(2, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1)).double()
    squares = pde_residuals(problem, network, points)[0].square()
    assert loss_terms(problem, network, closed)["pde"].item() == pytest.approx(squares.mean().item(), rel=1e-12)
    assert shard(closed, 1, 2).on_boundary.shape == (15, 2)

    line = torch.stack([torch.linspace(-0.99, 0.99, 200, dtype=torch.float64), torch.zeros(200, dtype=torch.float64)], 1)
    settings = dict(width=20, depth=3, adam_steps=800, lbfgs_steps=200, n_interior=500, n_boundary=40, n_initial=80,
                    dtype="float64", progress=False, seed=0)
    rms = [pde_residuals(problem, solve(problem, "pinn", **settings, residual_on_boundary=flag).model, line)[0]
           .square().mean().sqrt().item() for flag in (False, True)]
    assert rms[1] < rms[0] / 1.5, rms
