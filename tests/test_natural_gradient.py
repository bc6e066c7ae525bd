"""Gauss–Newton machinery: least-squares solves, pointwise Jacobians, the damped loop, and pinn-ngd."""

import math

import numpy as np
import pytest
import torch

from pde_lab import solve
from pde_lab.derivatives import make_engine
from pde_lab.fields import Fields
from pde_lab.natural_gradient import (
    flat_parameters,
    gauss_newton,
    least_squares,
    load_parameters,
    low_rank_svd,
    pointwise_jacobian,
    pointwise_values,
    truncated_steps,
)
from pde_lab.nets import MLP
from problems import burgers, poisson


def _random(shape, seed):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def test_least_squares_is_minimum_norm_and_damped_solution_solves_normal_equations():
    a = _random((30, 8), 0) @ _random((8, 12), 1)  # rank 8 of 12 columns: minimum-norm matters
    b = _random((30,), 2)
    x = least_squares(a, b)
    expected = np.linalg.lstsq(a.numpy(), b.numpy(), rcond=None)[0]
    assert np.allclose(x.numpy(), expected, atol=1e-10)
    damped = least_squares(a, b, damping=0.3)
    normal = torch.linalg.solve(a.T @ a + 0.3 * torch.eye(12, dtype=torch.float64), a.T @ b)
    assert torch.allclose(damped, normal, atol=1e-10)
    with pytest.raises(ValueError, match="damping"):
        least_squares(a, b, damping=-1.0)


def _mlp(seed=0, width=6, depth=2, in_dim=2):
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        return MLP(in_dim, 1, width, depth).double().requires_grad_(False)


def test_low_rank_svd_finds_every_triplet_above_its_floor_and_the_truncated_steps():
    """Spectrum 1, then 10^(-(k + 1/2)/4): the randomized SVD keeps the values above 1e-15 to rounding, and
    the truncated steps agree with the full SVD's; a full-rank matrix falls back to the full SVD.

    The cutoffs are relative to the largest value, so it is 1: the relative cutoffs 1e-9 and 1e-6
    then fall half a step between two values. (With 10^(-1/8) first, 1e-9 relative was exactly
    10^(-36.5/4): whether that value was kept depended on rounding, i.e. on torch's thread count.)"""
    left = torch.linalg.qr(_random((400, 300), 0)).Q
    right = torch.linalg.qr(_random((300, 300), 1)).Q
    singular = 10.0 ** (-(torch.arange(300, dtype=torch.float64) + 0.5) / 4)
    singular[0] = 1.0  # no value on a relative cutoff
    a = left * singular @ right.T
    u, s, vt = low_rank_svd(a, 1e-15)
    assert len(s) < 150  # the sketch stopped early
    kept = singular > 1e-13
    assert torch.allclose(s[:int(kept.sum())], singular[kept], rtol=1e-8, atol=1e-15)
    assert torch.allclose(u * s @ vt, a, rtol=0, atol=1e-14)
    b = _random((400,), 2)
    exact = [right[:, :k] @ ((left[:, :k].T @ b) / singular[:k]) for k in (int((singular > c * singular[0]).sum()) for c in (1e-9, 1e-6))]
    steps, rank = truncated_steps(a, b, (1e-9, 1e-6))
    assert rank == 64  # 10^(-64/4) is below the floor 1e-12
    for got, expected in zip(steps, exact, strict=True):
        assert float((got - expected).norm() / expected.norm()) <= 1e-5
    full = _random((60, 50), 3)
    assert torch.allclose(low_rank_svd(full, 1e-15)[1], torch.linalg.svdvals(full), rtol=1e-12)


def test_a_tall_full_rank_matrix_is_factored_qr_first_to_the_same_svd_and_steps():
    """At least twice as many rows as columns and no early stop: A = QR, the SVD of R, Q as reflectors.
    Spectrum 10^(-k/10), k = 0..119 (down to 1.3e-12): the triplets, U and the truncated steps are the
    direct SVD's to rounding, and so are the steps of a single cutoff (LAPACK gelsd, no SVD formed)."""
    left = torch.linalg.qr(_random((300, 120), 4)).Q
    right = torch.linalg.qr(_random((120, 120), 5)).Q
    singular = 10.0 ** (-(torch.arange(120, dtype=torch.float64) + 0.5) / 10)
    a = left * singular @ right.T
    from pde_lab.low_rank import _range_svd

    assert _range_svd(a, 1e-15, 120)[0].reflectors is not None  # the QR-first path
    u, s, vt = low_rank_svd(a, 1e-15)
    assert len(s) == 120 and torch.allclose(s, singular, rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(u.T @ u, torch.eye(120, dtype=torch.float64), rtol=0, atol=1e-13)
    assert torch.allclose(u * s @ vt, a, rtol=0, atol=1e-14)
    b = _random((300,), 6)
    steps, rank = truncated_steps(a, b, (1e-9, 1e-6), rank=120)
    assert rank == 120
    singles = [truncated_steps(a, b, (cutoff,), rank=120)[0][0] for cutoff in (1e-9, 1e-6)]  # gelsd
    for got, single, cutoff in zip(steps, singles, (1e-9, 1e-6), strict=True):
        k = int((singular > cutoff * singular[0]).sum())
        expected = right[:, :k] @ ((left[:, :k].T @ b) / singular[:k])
        assert float((got - expected).norm() / expected.norm()) <= 1e-6
        assert float((single - expected).norm() / expected.norm()) <= 1e-6


def test_pointwise_jacobian_of_values_and_of_a_laplacian_matches_autograd():
    network = _mlp()
    vector = flat_parameters(network)
    points = _random((7, 2), 3)

    network.requires_grad_(True)  # the reference: ordinary autograd, one point at a time

    def row(quantity):
        grads = torch.autograd.grad(quantity, list(network.parameters()), allow_unused=True, materialize_grads=True)
        return torch.cat([g.reshape(-1) for g in grads])

    expected_values = torch.stack([row(network(p[None])[0, 0]) for p in points])
    expected_laplacian = torch.stack([
        row(Fields(network, p[None].clone().requires_grad_(True), ("u",), ("x", "y")).lap("u")[0]) for p in points])
    network.requires_grad_(False)
    load_parameters(network, vector)
    engine = make_engine("taylor", network)
    got_values = pointwise_jacobian(network, lambda net, x: net(x), vector, points)
    got_laplacian = pointwise_jacobian(
        network, lambda net, x: Fields(net, x, ("u",), ("x", "y"), engine).lap("u"), vector, points)
    assert torch.allclose(got_values, expected_values, atol=1e-12)
    assert torch.allclose(got_laplacian, expected_laplacian, atol=1e-10)
    columns = torch.tensor([0, 5, 11, 30])
    subset = pointwise_jacobian(network, lambda net, x: net(x), vector, points, columns)
    assert torch.allclose(subset, expected_values[:, columns], atol=1e-12)
    assert torch.allclose(pointwise_values(network, lambda net, x: net(x), vector, points), network(points))


def _exponential_fit():
    """Residuals and Jacobian of fitting ``a exp(b t)`` to ``2 exp(-1.3 t)``, and a start (a, b)."""
    t = torch.linspace(0, 1, 20, dtype=torch.float64)
    data = 2.0 * torch.exp(-1.3 * t)

    def residuals(v):
        return v[0] * torch.exp(v[1] * t) - data

    def jacobian(v, columns):
        full = torch.stack([torch.exp(v[1] * t), v[0] * t * torch.exp(v[1] * t)], dim=1)
        return full if columns is None else full[:, columns]

    return residuals, jacobian, torch.tensor([0.5, 1.0], dtype=torch.float64)


def test_gauss_newton_converges_to_machine_precision_on_a_nonlinear_fit():
    """Levenberg–Marquardt + line search drives a 2-parameter exponential fit to ~1e-28."""
    residuals, jacobian, start = _exponential_fit()
    result = gauss_newton(residuals, jacobian, start, iterations=60, damping=1e-2, adapt_damping=True,
                          line_search=10, tolerance=1e-28)
    assert result.converged and result.losses[-1] <= 1e-28
    assert torch.allclose(result.vector, torch.tensor([2.0, -1.3], dtype=torch.float64), atol=1e-12)
    assert all(b <= a for a, b in zip(result.losses, result.losses[1:], strict=False))  # monotone
    # random one-column subsets (coordinate Gauss–Newton) still converge, only slower
    sub = gauss_newton(residuals, jacobian, start, iterations=400, subset_sizes=(1,), damping=1e-2,
                       adapt_damping=True, line_search=10, tolerance=1e-20,
                       generator=torch.Generator().manual_seed(0))
    assert sub.converged


@pytest.mark.parametrize("start", [0, 3, 6, 9, 20])
def test_warm_line_search_walks_to_the_best_grid_step_from_any_start(start):
    """On a quadratic the grid's best eta is 2^-6; the walk finds it from any start, in few evaluations."""
    from pde_lab.natural_gradient import _best_step

    target = torch.tensor([1.0, -2.0], dtype=torch.float64)
    calls = []

    def residuals(v):
        calls.append(1)
        return v - target

    vector = torch.zeros(2, dtype=torch.float64)
    step = 64 * (target - vector)  # 64 times too long: the exact minimiser is eta = 2^-6
    best = _best_step(residuals, vector, step, 12, loss=0.5 * float(target.square().sum()), start=start)
    assert best[3] == 2.0**-6 and best[2] == 0.0
    assert len(calls) <= abs(min(start, 12) - 6) + 3  # the points walked, one longer try and one past the best


def test_warm_line_search_reaches_the_same_fit_as_halving_from_one():
    residuals, jacobian, start = _exponential_fit()
    options = dict(iterations=60, damping=1e-2, adapt_damping=True, line_search=10, tolerance=1e-28)
    warm = gauss_newton(residuals, jacobian, start, warm_line_search=True, **options)
    assert warm.converged
    assert torch.allclose(warm.vector, gauss_newton(residuals, jacobian, start, **options).vector, atol=1e-12)
    assert all(b <= a for a, b in zip(warm.losses, warm.losses[1:], strict=False))


def test_accept_ratio_skips_the_halving_probe_where_the_linear_model_holds():
    """A linear fit: the gain ratio of the full step is 1, so with accept_ratio the search tries it
    alone (one residual evaluation per iteration), without it also the half step; on the nonlinear
    exponential fit both reach the same minimum, accept_ratio in fewer evaluations."""
    a, b = _random((30, 5), 1), _random((30,), 2)
    calls = []

    def residuals(v):
        calls.append(1)
        return a @ v - b

    start = torch.zeros(5, dtype=torch.float64)
    counts = {}
    for ratio in (0.0, 0.75):
        calls.clear()
        result = gauss_newton(residuals, lambda v, c: a, start, iterations=1, line_search=6, rcond=(1e-12,),
                              accept_ratio=ratio)
        counts[ratio] = len(calls)
        expected = torch.linalg.lstsq(a, b[:, None]).solution[:, 0]
        assert torch.allclose(result.vector, expected, atol=1e-12)
    assert counts == {0.75: 2, 0.0: 3}  # the start and the full step; without accept_ratio also the half step

    fit, jacobian, vector = _exponential_fit()
    counted = []

    def counting(v):
        counted.append(1)
        return fit(v)

    evaluations = {}
    for ratio in (0.0, 0.75):
        counted.clear()
        result = gauss_newton(counting, jacobian, vector, iterations=60, line_search=10, rcond=(1e-12,),
                              tolerance=1e-26, accept_ratio=ratio)
        evaluations[ratio] = len(counted)
        assert result.converged
        assert torch.allclose(result.vector, torch.tensor([2.0, -1.3], dtype=torch.float64), atol=1e-10)
    assert evaluations[0.75] < evaluations[0.0]
    with pytest.raises(ValueError, match="accept_ratio"):
        gauss_newton(fit, jacobian, vector, iterations=1, accept_ratio=1.0)


def test_stall_stops_at_the_floor_of_an_inconsistent_fit_and_not_before():
    """Subset Gauss–Newton on an inconsistent linear fit reaches its least-squares floor, then keeps
    drawing subsets for nothing; with ``stall`` it stops at the first iteration that lowers the
    loss by less than the ratio over two iterations, at the floor. A bad ``stall`` is refused."""
    a, b = _random((30, 6), 3), _random((30,), 4)
    floor = 0.5 * float((a @ torch.linalg.lstsq(a, b[:, None]).solution[:, 0] - b).square().sum())
    runs = {}
    for stall in (None, (2, 0.9)):
        runs[stall] = gauss_newton(lambda v: a @ v - b, lambda v, c: a if c is None else a[:, c],
                                   torch.zeros(6, dtype=torch.float64), iterations=200, subset_sizes=(5,),
                                   line_search=6, rcond=(1e-12,), stall=stall, generator=torch.Generator().manual_seed(0))
    assert runs[None].iterations == 200 and not runs[None].stalled
    stopped = runs[(2, 0.9)]
    assert stopped.stalled and not stopped.converged and stopped.iterations < 10
    assert stopped.loss <= (1 + 1e-6) * floor
    history = [0.5 * float(b.square().sum()), *stopped.losses]
    assert history[-1] > 0.9 * history[-3]
    assert all(history[i] <= 0.9 * history[i - 2] for i in range(2, len(history) - 1))  # the first stall
    with pytest.raises(ValueError, match="stall"):
        gauss_newton(lambda v: a @ v - b, lambda v, c: a, torch.zeros(6, dtype=torch.float64), iterations=1,
                     stall=(0, 0.9))


def test_adaptive_damping_stops_at_a_floor_instead_of_overflowing():
    """Levenberg–Marquardt started at the least-squares solution of an inconsistent fit rejects every
    step and raises its damping tenfold each time; it stops (stalled) once the step is below rounding,
    where it used to reach an infinite damping and raise (a TENG initial fit with fit_tolerance 1e-11)."""
    a, b = _random((30, 6), 3), _random((30,), 4)
    best = torch.linalg.lstsq(a, b[:, None]).solution[:, 0]
    result = gauss_newton(lambda v: a @ v - b, lambda v, c: a, best, iterations=1000, damping=1e-8,
                          adapt_damping=True, line_search=8, tolerance=0.0)
    assert result.stalled and not result.converged and result.iterations < 60
    assert result.loss == pytest.approx(0.5 * float((a @ best - b).square().sum()), rel=1e-12)


def _in_calls(residuals, jacobian, vector, counts, damping=0.0, generator=None, **options):
    """One Gauss–Newton run cut into calls of ``counts`` iterations, each passed the last one's state."""
    line_start, rank, losses = 0, 64, []
    for n in counts:
        part = gauss_newton(residuals, jacobian, vector, iterations=n, damping=damping, generator=generator,
                            line_search_start=line_start, sketch_rank=rank, **options)
        vector, damping, line_start, rank = part.vector, part.damping, part.line_search_start, part.sketch_rank
        losses += part.losses
    return vector, losses


def test_a_run_cut_into_calls_takes_the_same_steps_as_one_call():
    """Levenberg–Marquardt with a warm line search, and subset steps with truncated SVDs: a run cut into
    calls, each passed the last one's vector, damping, line-search start and sketch width (and the same
    generator), ends bit for bit where one call ends. ``should_stop`` ends a call before an iteration."""
    residuals, jacobian, start = _exponential_fit()
    options = dict(adapt_damping=True, line_search=10, warm_line_search=True, tolerance=0.0)
    one = gauss_newton(residuals, jacobian, start, iterations=12, damping=1e-2, **options)
    vector, losses = _in_calls(residuals, jacobian, start, (5, 4, 3), damping=1e-2, **options)
    assert one.damping != 1e-2 and losses == one.losses and torch.equal(vector, one.vector)

    a, b = _random((40, 12), 5), _random((40,), 6)
    linear = (lambda v: a @ v - b, lambda v, c: a[:, c], torch.zeros(12, dtype=torch.float64))
    options_linear = dict(line_search=6, rcond=(1e-12, 1e-6), warm_line_search=True, subset_sizes=(7,))
    one_linear = gauss_newton(*linear, iterations=9, generator=torch.Generator().manual_seed(1), **options_linear)
    vector, losses = _in_calls(*linear, (4, 5), generator=torch.Generator().manual_seed(1), **options_linear)
    assert losses == one_linear.losses and torch.equal(vector, one_linear.vector)

    polls = []
    stopped = gauss_newton(residuals, jacobian, start, iterations=12, damping=1e-2,
                           should_stop=lambda: polls.append(1) or len(polls) > 3, **options)
    assert stopped.stopped and stopped.iterations == 3 and stopped.losses == one.losses[:3]
    assert torch.equal(stopped.vector, _in_calls(residuals, jacobian, start, (3,), damping=1e-2, **options)[0])


# ------------------------------------------------------------------- pinn-ngd
NGD = dict(width=16, depth=1, n_interior=200, n_boundary=80, device="cpu", progress=False)


def test_pinn_ngd_beats_adam_at_equal_iterations_on_poisson():
    """Measured: pinn-ngd after 40 steps 1.3e-4 relative L2 (loss 48 -> 1.5e-7); Adam after 40 steps 0.91."""
    ngd = solve(poisson(), "pinn-ngd", iterations=40, **NGD)
    adam = solve(poisson(), "pinn", width=16, depth=1, n_interior=200, n_boundary=80, adam_steps=40,
                 lbfgs_steps=0, dtype="float64", device="cpu", progress=False)
    assert ngd.status.ok, ngd.message
    assert ngd.error_vs() <= 1e-3
    assert ngd.error_vs() < 1e-2 * adam.error_vs()
    loss = ngd.history["loss"]
    assert loss[-1] < 1e-8 * loss[0]
    assert ngd.stats["iterations"] == len(loss) <= 40


@pytest.mark.parametrize(
    "options, match",
    [(dict(derivatives="autograd"), "torch.func"), (dict(iterations=0), "iterations"),
     (dict(weights={"initial": 1.0}), "unknown loss weights"), (dict(damping=float("nan")), "damping")],
)
def test_pinn_ngd_bad_options(options, match):
    with pytest.raises(ValueError, match=match):
        solve(poisson(), "pinn-ngd", **dict(NGD, **options))


def test_pinn_ngd_refuses_evolution_problems():
    with pytest.raises(ValueError, match="teng"):
        solve(burgers(), "pinn-ngd", **NGD)


def test_least_squares_svd_path_on_cuda(device):
    a = (_random((40, 6), 4) @ _random((6, 9), 5)).to(device)
    b = _random((40,), 6).to(device)
    expected = np.linalg.lstsq(a.cpu().numpy(), b.cpu().numpy(), rcond=None)[0]
    assert np.allclose(least_squares(a, b).cpu().numpy(), expected, atol=1e-9)
    full = _random((40, 9), 7).to(device)
    assert math.isclose(float(least_squares(full, b).norm()),
                        float(np.linalg.norm(np.linalg.lstsq(full.cpu().numpy(), b.cpu().numpy(), rcond=None)[0])),
                        rel_tol=1e-9)


def test_pinn_ngd_benchmark_fast_mode_reports_every_seed():
    from pde_lab.bench import run_benchmark

    record = run_benchmark("pinn-ngd", fast=True)
    names = [row["name"] for row in record["rows"]]
    assert names == ["pinn-ngd-seed0", "pinn-ngd-seed1", "deepxde"]
    assert record["rows"][0]["rel_l2"] != record["rows"][1]["rel_l2"]  # the seeds are different runs
    assert {"deepxde_wall_over_pinn_ngd_wall_mean", "pinn_ngd_seeds_at_or_below_1e-6"} <= set(record["ratios"])
