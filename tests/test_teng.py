"""TENG: per-step least-squares to machine precision, time order of Euler and Heun, heat accuracy."""

import dataclasses
import math

import numpy as np
import pytest
import torch

from geometries import Disk, Interval
from pde_lab import Dirichlet, Neumann, Periodic, Problem, Status, solve
from pde_lab.natural_gradient import flat_parameters, pointwise_jacobian, pointwise_values
from pde_lab.solvers.teng import TENG, TENGNetwork
from problems import burgers, heat, poisson


def _exact_1d(xt, p):
    x, t = xt[:, 0], xt[:, 1]
    return torch.sin(x) * torch.exp(-p.nu * t) + 0.5 * torch.cos(2 * x) * torch.exp(-4 * p.nu * t)


def heat_1d(t_final: float = 1.0) -> Problem:
    """u_t = 0.1 u_xx, 2π-periodic, u0 = sin x + cos(2x)/2: each mode decays as exp(-0.1 k² t)."""
    return Problem(name="heat-1d", geometry=Interval(0.0, 2 * math.pi), time_span=(0.0, t_final),
                   rate=lambda f, p: p.nu * f.u_xx,
                   initial_condition=lambda x: torch.sin(x[:, 0]) + 0.5 * torch.cos(2 * x[:, 0]),
                   boundary_conditions=(Periodic(0),), parameters={"nu": 0.1}, exact_solution=_exact_1d)


SMALL = dict(width=8, hidden_layers=2, points_per_axis=128, subset_sizes=(None,), fit_iterations=100,
             iterations=10, heun_iterations=8,
             device="cpu", progress=False)


@pytest.fixture(scope="module")
def fitted():
    """The 1D heat problem and its fitted initial state (177 parameters, 128 grid points)."""
    problem = heat_1d()
    state = TENG(**SMALL).init(problem)
    return problem, state


def _error_at(problem, state) -> float:
    x = torch.linspace(0, 2 * math.pi, 301, dtype=torch.float64)[:-1]
    u = pointwise_values(state.network, lambda net, p: net(p), state.vector, x[:, None])[:, 0]
    exact = _exact_1d(torch.stack([x, torch.full_like(x, state.t)], dim=1), problem.parameters)
    return float((u - exact).norm() / exact.norm())


@pytest.mark.parametrize("periodic, hard, out", [((False,), True, 1), ((True, True), False, 1), ((True, False), True, 2)])
def test_closed_form_jacobian_matches_autograd(periodic, hard, out):
    """TENGNetwork.jacobian (one forward pass, hand back-propagation) equals vmap(jacrev), column for column,
    and a column subset is those columns of the whole."""
    torch.manual_seed(0)
    d = len(periodic)
    network = TENGNetwork([-1.0] * d, [2.0] * d, periodic, out, 12, 2, hard).double().requires_grad_(False)
    points = torch.rand(40, d, dtype=torch.float64) * 3 - 1
    expected = pointwise_jacobian(network, lambda net, x: net(x), flat_parameters(network), points)
    got = network.jacobian(points)
    assert got.shape == expected.shape
    assert torch.allclose(got, expected, rtol=0, atol=1e-13 * expected.abs().max())
    columns = torch.randperm(expected.shape[1], generator=torch.Generator().manual_seed(1))[:40].sort().values
    assert torch.equal(network.jacobian(points, columns), got[:, columns])


def test_initial_fit_reaches_near_machine_precision(fitted):
    _, state = fitted
    assert state.initial_fit_error <= 1e-7
    assert state.t == 0.0


def test_one_step_solves_its_least_squares_problem_to_1e_10(fitted):
    """Measured: the Euler target's loss falls from ~1e-4 to ~1e-16 in 7 Gauss–Newton iterations."""
    problem, state = fitted
    solver = TENG(**SMALL, scheme="euler", dt=0.1)
    projection = state.projection
    rate = projection.rate(problem, state.vector, 0.0)
    start = 0.5 * (projection.grid.root_weights[:, None] * 0.1 * rate).square().sum().item()
    after = solver.step(state)
    assert after.t == pytest.approx(0.1)
    assert after.loss <= 1e-10
    assert after.loss <= 1e-6 * start


def test_step_tolerance_stops_a_stage_early_and_keeps_its_loss(fitted):
    """With step_tolerance a stage stops once its relative misfit is below it, also after no
    iteration at all (the loss is then the starting loss, not NaN)."""
    problem, state = fitted
    full = TENG(**SMALL, dt=0.01).step(state)  # stops only when a step no longer helps (11 of 18 here)
    loose = TENG(**SMALL, dt=0.01, step_tolerance=1e-4).step(state)
    assert 0 < loose.iterations < full.iterations
    assert math.isfinite(loose.loss)
    assert math.sqrt(2 * loose.loss) <= 1e-4 * state.projection.norm(state.projection.values(loose.vector)) * 1.01
    idle = TENG(**SMALL, dt=1e-9, step_tolerance=1e-4).step(state)  # the target is already within tolerance
    assert idle.iterations == 0 and math.isfinite(idle.loss) and torch.equal(idle.vector, state.vector)
    solution = solve(dataclasses.replace(problem, time_span=(0.0, 0.05)), "teng", **SMALL, dt=0.01,
                     step_tolerance=1e-4)
    assert solution.status.ok and len(solution.history["step_iterations"]) == 5


def test_stall_ratio_stops_a_stage_at_the_floor_of_its_fit(fitted):
    """Measured: a step runs 12 iterations without stall_ratio; the loss is at its floor (1.2e-16)
    after 7, and stall_ratio=0.9 stops there with the same loss to 1e-8 relative."""
    _, state = fitted
    full = TENG(**SMALL, dt=0.01).step(state)
    stalled = TENG(**SMALL, dt=0.01, stall_ratio=0.9).step(state)
    assert stalled.iterations < full.iterations
    assert stalled.loss <= (1 + 1e-6) * full.loss


@pytest.mark.slow  # ~1000 Gauss–Newton iterations: about a minute on a quiet core
def test_heun_is_second_order_and_euler_first_order(fitted):
    """Error at t = 0.2 against the exact solution for dt = 0.1, 0.05, 0.025: fitted log-log slopes.

    ν = 0.5 here so that |λ| dt = 4ν dt stays ≤ 0.2 while the time error dwarfs the fit.
    The test uses 10 + 8 iterations per step (paper: 7 + 5). Over a step the optimisation
    leaves a relative misfit sqrt(2 loss)/‖u‖; summed over the steps it stays below the
    time-stepping error. (At ν = 0.1, t = 1, dt = 0.2, 0.1, 0.05 we measured Euler 5.9e-3,
    2.9e-3, 1.4e-3, slope 1.02, and Heun 1.6e-4, 3.8e-5, 9.4e-6, slope 2.04, where the
    mode-wise Heun error T|λ|³dt²/6 predicts 3.8e-5 at dt = 0.1.)
    """
    problem, state = fitted
    problem = problem.with_parameters(nu=0.5)
    state = dataclasses.replace(state, problem=problem)
    norm = math.sqrt(2 * math.pi * 0.625)  # ‖u0‖ in L2(0, 2π)
    dts, slopes = (0.1, 0.05, 0.025), {}
    for scheme in ("euler", "heun"):
        errors = []
        for dt in dts:
            solver, current, misfit = TENG(**SMALL, scheme=scheme, dt=dt), state, 0.0
            for _ in range(round(0.2 / dt)):
                current = solver.step(current)
                misfit += math.sqrt(2 * current.loss) / norm
            errors.append(_error_at(problem, current))
            assert misfit < errors[-1], (scheme, dt, misfit, errors)
        slopes[scheme] = np.polyfit(np.log(dts), np.log(errors), 1)[0]
    assert 0.85 <= slopes["euler"] <= 1.2, slopes
    assert 1.8 <= slopes["heun"] <= 2.3, slopes


def test_heat_2d_short_horizon_tracks_the_exact_solution_to_its_initial_fit():
    """problems.heat to t = 0.05: 10 Heun steps on a 24² grid with a 361-parameter network.

    Measured: initial fit 2.3e-4 (this small network's limit on the separable u0), relative L2
    4.4e-4 over space-time (evaluation times between steps use the linear interpolation) and
    4.2e-4 at t = 0.05; step losses ≤ 6.4e-13, so the steps add less than the fit's error.
    """
    problem = heat(t_final=0.05)
    state = torch.random.get_rng_state()
    solution = solve(problem, "teng", width=12, hidden_layers=2, points_per_axis=24, dt=0.005,
                     subset_sizes=(None,), fit_iterations=100, device="cpu", progress=False)
    assert torch.equal(state, torch.random.get_rng_state())
    assert solution.status is Status.CONVERGED
    assert "initial fit reached only" in solution.message  # the 1e-7 fit needs a larger network
    assert solution.stats["iterations"] == 10 and len(solution.history["step_loss"]) == 10
    assert max(solution.history["step_loss"]) <= 1e-10
    fit = solution.stats["initial_fit_rel_l2"]
    final = problem.evaluation_points()
    final = final[final[:, -1] == 0.05]
    assert solution.error_vs(points=final) <= min(2.5 * fit, 1e-3)
    assert solution.error_vs() <= min(2.5 * fit, 1e-3)


def test_allen_cahn_of_the_causal_paper_is_tracked_to_its_initial_fit():
    """problems.allen_cahn (u_t = 1e-4 u_xx + 5u - 5u³, u0 = x² cos(πx)) to t = 0.1: 10 Heun steps
    with a 141-parameter network on 256 points, against the 512-mode spectral reference.

    u0 has a kink at the periodic boundary (u_x jumps from -2 to 2), so no smooth periodic
    network fits it to 1e-7: 100 fit iterations reach 7.6e-4. Measured: relative L2 4.5e-4 over
    space-time, below the fit's own error; about 9 s.
    """
    from problems import allen_cahn

    problem = allen_cahn(t_final=0.1)
    solution = solve(problem, "teng", width=10, hidden_layers=2, points_per_axis=256, dt=0.01,
                     fit_iterations=100, device="cpu", progress=False)
    assert solution.status is Status.CONVERGED and "initial fit reached only" in solution.message
    fit = solution.stats["initial_fit_rel_l2"]
    assert 1e-4 < fit < 2e-3  # the kink keeps it well above fit_tolerance
    assert solution.error_vs() <= min(1.5 * fit, 1e-3)


def test_progress_shows_the_initial_fit_and_the_steps_on_stderr(capfd):
    capfd.readouterr()
    solve(heat_1d(t_final=0.02), "teng", **dict(SMALL, fit_iterations=5, progress=True), dt=0.01)
    captured = capfd.readouterr()
    assert captured.out == ""
    assert "initial fit heat-1d" in captured.err and "5/5" in captured.err and "misfit=" in captured.err
    assert "teng-heun heat-1d" in captured.err


def test_dirichlet_is_exact_and_burgers_starts_right():
    """Hard constraint u = (1 - x²) N(x): zero on x = ±1 at every time; Burgers to t = 0.01."""
    problem = dataclasses.replace(burgers(), time_span=(0.0, 0.01))
    solution = solve(problem, "teng", width=16, hidden_layers=2, points_per_axis=256, dt=0.005,
                     subset_sizes=(None,), fit_iterations=100, device="cpu", progress=False)
    assert solution.status.ok, solution.message
    ends = np.array([[-1.0, 0.0], [1.0, 0.0], [-1.0, 0.0075], [1.0, 0.01]])
    assert np.abs(solution(ends)).max() <= 1e-15
    x = np.linspace(-1, 1, 101)
    points = np.column_stack([x, np.full_like(x, 0.01)])
    assert solution.error_vs(points=points) <= 1e-4


@pytest.mark.parametrize(
    "problem, options, match",
    [
        (poisson(), {}, "steady"),
        (heat(), dict(scheme="rk4"), "scheme"),
        (heat(), dict(dt=0.0), "dt"),
        (heat(), dict(step_tolerance=-1e-8), "step_tolerance"),
        (heat(), dict(stall_ratio=1.0), "stall_ratio"),
        (dataclasses.replace(burgers(), boundary_conditions=(Dirichlet(1.0),)), {}, "homogeneous Dirichlet"),
        (dataclasses.replace(burgers(), boundary_conditions=(Neumann(0.0),)), {}, "not supported"),
        (dataclasses.replace(burgers(), boundary_conditions=()), {}, "every axis"),
        (dataclasses.replace(burgers(), geometry=Disk((0.0, 0.0), 1.0), boundary_conditions=()), {}, "box"),
    ],
)
def test_bad_input_is_refused_with_a_reason(problem, options, match):
    with pytest.raises(ValueError, match=match):
        solve(problem, "teng", **dict(SMALL, **options))


def test_burgers_benchmark_fast_mode_reports_teng_beside_deepxde():
    from pde_lab.bench import run_benchmark

    record = run_benchmark("teng-burgers", fast=True)
    names = [row["name"] for row in record["rows"]]
    assert names == ["teng-seed0", "deepxde"]
    assert all(row["rel_l2"] is not None and row["rel_l2"] < 1 for row in record["rows"])  # ran; not a score
    assert record["rows"][0]["rel_l2_vs_time"]  # the error over time, for the table
    assert record["ratios"]["deepxde_wall_over_teng_wall_mean"] > 0
    assert "teng_seeds_at_or_below_1e-4" in record["ratios"]


def test_2d_benchmark_fast_mode_runs_each_problem_at_its_own_settings():
    """`pde-lab bench teng` runs heat, Allen–Cahn 2D and Burgers 2D with their own settings (heat at
    half the step, the nonlinear two with more iterations); fast mode shrinks the network and grid,
    not those options."""
    from pde_lab.bench import run_benchmark
    from pde_lab.bench.teng import HEAT_2D, NONLINEAR_2D

    record = run_benchmark("teng", fast=True)
    rows = {row["problem"]: row for row in record["rows"]}
    assert list(rows) == ["heat", "allen-cahn-2d", "burgers-2d"]
    assert all(row["status"] == "converged" and 0 < row["rel_l2"] < 1 for row in rows.values())  # ran
    assert f"dt={HEAT_2D['dt']}" in rows["heat"]["settings"]
    assert rows["heat"]["iterations"] == round(0.02 / HEAT_2D["dt"])  # time steps to t = 0.02
    assert rows["burgers-2d"]["iterations"] == round(0.02 / NONLINEAR_2D["dt"]) < rows["heat"]["iterations"]
    for name in ("allen-cahn-2d", "burgers-2d"):
        assert f"iterations={NONLINEAR_2D['iterations']}" in rows[name]["settings"]
    names = ("heat", "allen_cahn_2d", "burgers_2d")
    assert set(record["ratios"]) == {f"target_over_rel_l2_final_{name}" for name in names}
