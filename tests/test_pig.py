"""Physics-informed Gaussians: the embedding's formula, moving Gaussians, and a high-frequency
Poisson solution that the plain PINN does not reach at the same budget."""

import math

import pytest
import torch

from pde_lab import solve
from pde_lab.gaussian_features import GaussianFeatures, GaussianNetwork
from problems.heat import heat
from problems.poisson_1d import poisson_1d

COMMON = dict(n_interior=200, n_boundary=2, weights={"pde": 1e-4}, adam_steps=300, lbfgs_steps=300,
              dtype="float64", device="cpu", progress=False)


def _brute_force(features: GaussianFeatures, points: torch.Tensor) -> torch.Tensor:
    """FE_c(x) = Σ_i w_ci exp(-½ (x̂-μ_ci)ᵀ Σ_ci⁻¹ (x̂-μ_ci)), one Gaussian at a time."""
    x = features.rescale(points)
    precision = features.precisions()
    out = torch.zeros(len(x), features.weights.shape[0], dtype=x.dtype)
    for c in range(features.weights.shape[0]):
        for i in range(features.weights.shape[1]):
            offset = x - features.means[c, i]
            quadratic = ((offset @ precision[c, i]) * offset).sum(-1)
            out[:, c] += features.weights[c, i] * torch.exp(-0.5 * quadratic)
    return out


@pytest.mark.parametrize("dim", [1, 2, 3])
@pytest.mark.parametrize("covariance", ["diagonal", "full"])
def test_embedding_is_the_sum_of_weighted_gaussians(dim, covariance):
    generator = torch.Generator().manual_seed(dim)
    features = GaussianFeatures(dim, 7, 3, covariance, sigma=0.3, weight_std=1.0, lower=[-1.0] * dim,
                                upper=[3.0] * dim).double()
    with torch.no_grad():
        if covariance == "full":  # a generic, non-diagonal factor A
            features.factors.add_(0.5 * torch.randn(features.factors.shape, generator=generator, dtype=torch.float64))
        else:
            features.sigmas.mul_(1 + torch.rand(features.sigmas.shape, generator=generator, dtype=torch.float64))
    points = 4 * torch.rand(50, dim, generator=generator, dtype=torch.float64) - 1
    assert torch.allclose(features(points), _brute_force(features, points), rtol=1e-10, atol=1e-12)
    assert features.rescale(torch.tensor([[-1.0] * dim, [3.0] * dim], dtype=torch.float64)).tolist() == \
        [[0.0] * dim, [2.0] * dim]  # inputs rescaled to [0, R], R = 2


def test_full_covariance_starts_as_the_diagonal_one():
    torch.manual_seed(0)
    diagonal = GaussianFeatures(2, 5, 2, "diagonal").double()
    torch.manual_seed(0)
    full = GaussianFeatures(2, 5, 2, "full").double()
    points = torch.rand(20, 2, dtype=torch.float64) * 2
    assert torch.allclose(diagonal(points), full(points), rtol=1e-12)


@pytest.fixture(scope="module")
def high_frequency():
    problem = poisson_1d(periods=8)
    pig = solve(problem, "pig", n_gaussians=40, **COMMON)
    untrained = solve(problem, "pig", n_gaussians=40, **dict(COMMON, adam_steps=0, lbfgs_steps=0))
    pinn = solve(problem, "pinn", width=20, depth=3, **COMMON)
    return pig, untrained, pinn


def test_pig_fits_high_frequency_poisson_the_pinn_misses(high_frequency):
    """sin(16πx), 600 iterations each. Measured: PIG 5.0e-2, PINN 1.7 (spectral bias)."""
    pig, _, pinn = high_frequency
    assert pig.status.ok, pig.message
    assert pig.error_vs() < 0.1
    assert pinn.error_vs() > 0.5


def test_gaussians_move_during_training(high_frequency):
    pig, untrained, _ = high_frequency
    before, after = untrained.model.features.means, pig.model.features.means
    shift = (after - before).detach().norm(dim=-1)
    assert float(shift.max()) > 0.01 and float(shift.mean()) > 1e-3
    assert math.isclose(float(shift.mean()), pig.stats["mean_displacement"], rel_tol=1e-9)
    assert pig.stats["gaussians"] == 160


def test_space_time_problem_in_two_space_dimensions_trains():
    """Heat equation in (x, y, t): three inputs; the loss falls 50-fold at a tiny budget (measured 99-fold)."""
    problem = heat()
    solution = solve(problem, "pig", n_gaussians=30, n_interior=300, n_boundary=100, n_initial=100,
                     adam_steps=150, lbfgs_steps=0, dtype="float64", device="cpu", progress=False)
    assert solution.model.features.means.shape == (4, 30, problem.input_dim) and problem.input_dim == 3
    loss = solution.history["loss"]
    assert loss[-1] < 2e-2 * loss[0]


def test_redraws_fresh_points_in_both_stages_reproducibly():
    """The paper's protocol: fresh points every ``resample_every`` Adam steps and before every
    L-BFGS step of ``lbfgs_resample_every`` iterations; seeded, so two runs agree bit for bit."""
    from pde_lab.collocation import sample_collocation
    from pde_lab.solvers.gaussians import PIG, _Redraw

    problem = poisson_1d(periods=2)
    options = dict(COMMON, n_gaussians=10, adam_steps=30, lbfgs_steps=20, resample_every=10, lbfgs_resample_every=5)
    first, second = (solve(problem, "pig", **options) for _ in range(2))
    assert first.stats["redraws"] == 2 + 3  # Adam steps 10, 20; L-BFGS chunks 2-4
    assert first.history["loss"] == second.history["loss"]
    fixed = solve(problem, "pig", **dict(options, resample_every=0, lbfgs_resample_every=0))
    assert fixed.stats["redraws"] == 0 and fixed.history["loss"] != first.history["loss"]

    collocation = sample_collocation(problem, n_interior=50, n_boundary=2, n_initial=1, dtype=torch.float64)
    before = (collocation.interior.clone(), [b[1].clone() for b in collocation.boundary])
    _Redraw(problem, collocation, PIG(resample_every=1, n_interior=50, n_boundary=2), "cpu", torch.float64).adam(1)
    assert collocation.interior.shape == before[0].shape and not torch.equal(collocation.interior, before[0])
    lower, upper = problem.geometry.bounds
    assert float(collocation.interior.min()) >= lower[0] and float(collocation.interior.max()) <= upper[0]
    assert len(collocation.boundary) == len(before[1])
    with pytest.raises(ValueError, match="lbfgs_resample_every"):
        solve(problem, "pig", **dict(options, lbfgs_resample_every=-1))


def test_mlp_head_and_options_are_checked():
    with pytest.raises(ValueError, match="covariance"):
        GaussianFeatures(2, covariance="dense")
    with pytest.raises(ValueError, match="n_gaussians"):
        solve(poisson_1d(), "pig", n_gaussians=0, **COMMON)
    with pytest.raises(ValueError, match="unknown loss weights"):
        solve(poisson_1d(), "pig", **dict(COMMON, weights={"bc": 1.0}))
    with pytest.raises(ValueError, match="mlp width"):
        GaussianNetwork(GaussianFeatures(1, 3), 1, width=0)


def test_benchmark_fast_mode():
    from pde_lab.bench import run_benchmark

    record = run_benchmark("pig", fast=True)
    rows = {row["name"]: row for row in record["rows"]}
    assert {"pig-helmholtz", "pig-poisson", "pinn-poisson-equal-wall"} <= set(rows)
    assert "pinn_rel_l2_over_pig_rel_l2_poisson_equal_wall" in record["ratios"]
    # 20 iterations on sin(16πx): measured PIG 0.48, PINN 1.98
    assert record["ratios"]["pinn_rel_l2_over_pig_rel_l2_poisson_1d_high_frequency"] > 2


def test_engine_benchmark_trains_the_same_network_with_either_engine():
    from pde_lab.bench import run_benchmark

    record = run_benchmark("pig-engines", fast=True)
    autograd, taylor = record["rows"]
    assert autograd["name"].startswith("pig-autograd") and taylor["name"].startswith("pig-taylor")
    # the engines give the same derivatives to rounding: five Adam steps end at the same error
    assert abs(autograd["rel_l2"] - taylor["rel_l2"]) < 1e-8 * autograd["rel_l2"]
    assert record["ratios"]["autograd_wall_over_taylor_wall_20x4"] > 0
