"""TENG's baselines, TDVP and OBTI: their steps, time orders, and how they compare with TENG on 1D heat."""

import functools
import math

import numpy as np
import pytest
import torch

from pde_lab import solve
from pde_lab.solvers.obti import OBTI
from pde_lab.solvers.tdvp import TDVP
from pde_lab.solvers.teng import TENG
from problems import heat, poisson

from test_teng import SMALL, _error_at, heat_1d

#: The network, grid and initial fit of test_teng's SMALL (177 parameters, 128 points), without TENG's own options.
SHARED = {k: v for k, v in SMALL.items() if k not in ("iterations", "heun_iterations", "subset_sizes")}


@pytest.fixture(scope="module")
def start():
    """1D heat and its fitted initial state (the same network and fit for every solver here)."""
    problem = heat_1d()
    return problem, TDVP(**SHARED).init(problem)


def _march(solver, state, t_final):
    while state.t < t_final - 1e-9:
        state = solver.step(state)
    return state


def test_tdvp_velocity_solves_the_rate_in_the_network_tangent_space(start):
    """On heat the rate ν u_xx of a fitted network lies (nearly) in the span of its Jacobian: the least-squares
    defect is tiny against |F|², and J θ̇ reproduces F at the grid points."""
    problem, state = start
    solver = TDVP(**SHARED)
    slope, defect = solver.velocity(state, state.vector, 0.0)
    projection = state.projection
    rate = projection.rate(problem, state.vector, 0.0)
    scale = float((projection.grid.root_weights[:, None] * rate).square().sum())
    assert defect <= 1e-10 * scale
    assert torch.isfinite(slope).all() and slope.shape == state.vector.shape


def test_tdvp_runge_kutta_orders_show_in_the_parameter_ode(start):
    """The parameter ODE θ' = J⁺F integrated at dt = 0.1 and 0.05 against dt = 0.4/64 (same scheme and cutoff),
    error of the network at t = 0.4: fitted slopes ≈ 1 (Euler) and 2 (Heun; a scan against dt = 0.4/128
    measured 1.06 and 2.02 at these steps, cutoff 1e-6). RK4's slope is erratic (measured 9.9, 7.1, 3.9, 3.2
    over dt = 0.2 ... 0.0125 at 1e-8): singular values crossing the cutoff make θ' non-smooth. So RK4 is
    checked by its accuracy: at dt = 0.05 it is over 100× closer than Heun (measured 1.1e-7 against 5.0e-5)."""
    problem, state = start
    x = torch.linspace(0, 2 * math.pi, 201, dtype=torch.float64)[:-1, None]

    @functools.cache
    def network_at(scheme, dt, rcond):
        end = _march(TDVP(**dict(SHARED, scheme=scheme, dt=dt, rcond=rcond)), state, 0.4)
        return end.network(x)[:, 0]

    def error(scheme, dt, rcond):
        fine = network_at(scheme, 0.4 / 64, rcond)
        return float((network_at(scheme, dt, rcond) - fine).norm() / fine.norm())

    for scheme, order in (("euler", 1), ("heun", 2)):
        slope = math.log2(error(scheme, 0.1, 1e-6) / error(scheme, 0.05, 1e-6))
        assert abs(slope - order) < 0.25, (scheme, slope)
    assert error("rk4", 0.05, 1e-8) <= 1e-2 * error("heun", 0.05, 1e-8)


def test_tdvp_rk4_tracks_heat_to_its_initial_fit(start):
    """1D heat to t = 1 at dt = 0.025: within 3× the initial fit (4.8e-9; measured 4.9e-9)."""
    problem, state = start
    end = _march(TDVP(**dict(SHARED, dt=0.025)), state, 1.0)
    assert _error_at(problem, end) <= 3 * max(state.initial_fit_error, 1e-9)


def test_obti_stage_lowers_its_loss_and_respects_the_tolerance(start):
    """An OBTI stage fits the Euler target better than the unchanged network does; with a step tolerance the
    stage stops as soon as its loss is under it."""
    problem, state = start
    projection = state.projection
    values = projection.values(state.vector)
    target = values + 0.05 * projection.rate(problem, state.vector, 0.0)
    before = 0.5 * float((projection.grid.root_weights[:, None] * (values - target)).square().sum())
    for optimizer in ("adam", "lbfgs"):
        _, loss, taken = OBTI(**SHARED, optimizer=optimizer)._stage(projection, target, state.vector, 30)
        assert loss < 0.1 * before and 1 <= taken <= 30, (optimizer, loss, before, taken)
    loose = OBTI(**SHARED, step_tolerance=0.5)  # the unchanged network is within 50% of its target
    vector, loss, taken = loose._stage(projection, target, state.vector, 30)
    assert taken == 0 and torch.equal(vector, state.vector)


def test_teng_beats_both_obti_optimizers_at_equal_steps(start):
    """The TENG paper's claim at a small scale: 1D heat to t = 0.3 at dt = 0.1, from the same fitted network.
    TENG-Heun (10 + 8 Gauss–Newton iterations) is at least 10× more accurate than OBTI-Heun with Adam
    (100 + 100 steps) or L-BFGS (30 + 30). Measured 2026-12-06: TENG 1.4e-5, Adam 7.9e-4, L-BFGS 2.5e-4;
    the OBTI errors halve when the iterations double (Adam 200 + 200: 4.0e-4; L-BFGS 50 + 50: 1.6e-4)."""
    problem, state = start
    teng = _error_at(problem, _march(TENG(**dict(SMALL, dt=0.1)), state, 0.3))
    obti = {optimizer: _error_at(problem, _march(OBTI(**dict(SHARED, dt=0.1, optimizer=optimizer, iterations=n,
                                                             heun_iterations=n)), state, 0.3))
            for optimizer, n in (("adam", 100), ("lbfgs", 30))}
    assert 10 * teng <= min(obti.values()), (teng, obti)


def test_solve_by_name_is_seeded_and_reports_the_steps():
    problem = heat_1d(t_final=0.2)
    runs = [solve(problem, "tdvp", **dict(SHARED, dt=0.05, fit_iterations=30)) for _ in range(2)]
    assert runs[0].status.ok and "TDVP-rk4: 4 steps" in runs[0].message
    assert runs[0].stats["iterations"] == 4 and runs[0].history["step_iterations"] == [4] * 4
    x = np.column_stack([np.linspace(0, 6, 50), np.full(50, 0.13)])
    assert np.array_equal(runs[0](x), runs[1](x))
    obti = solve(problem, "obti", **dict(SHARED, dt=0.1, fit_iterations=30, iterations=3, heun_iterations=2))
    assert obti.status.ok and obti.history["step_iterations"] == [5, 5]


@pytest.mark.parametrize(
    "solver, problem, options, match",
    [
        ("tdvp", poisson(), {}, "steady"),
        ("tdvp", heat(), dict(scheme="adams"), "scheme"),
        ("tdvp", heat(), dict(rcond=0.0), "rcond"),
        ("obti", heat(), dict(scheme="rk4"), "scheme"),
        ("obti", heat(), dict(optimizer="sgd"), "optimizer"),
        ("obti", heat(), dict(iterations=0), "iterations"),
        ("obti", heat(), dict(learning_rate=-1.0), "learning_rate"),
        ("obti", heat(), dict(width=0), "width"),
    ],
)
def test_bad_input_is_refused_with_a_reason(solver, problem, options, match):
    with pytest.raises(ValueError, match=match):
        solve(problem, solver, **dict(SHARED, **options))


def test_benchmark_fast_mode_runs_every_method_on_both_problems():
    from pde_lab.bench import run_benchmark
    from pde_lab.bench.teng_baselines import BASELINES

    record = run_benchmark("teng-baselines", fast=True)
    assert [row["name"].split()[0] for row in record["rows"]] == list(BASELINES) * 2
    assert all(row["rel_l2_vs_time"] and row["max_step_loss"] is not None for row in record["rows"])
    assert {f"heat_{m.replace('-', '_')}_rel_l2_final_over_teng" for m in BASELINES if m != "teng-heun"} \
        <= set(record["ratios"])
