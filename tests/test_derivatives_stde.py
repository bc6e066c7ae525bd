r"""The STDE Laplacian: unbiased, variance :math:`\propto 1/|J|`, exact at :math:`|J| = d`, seeded.

For the sparse estimator (``|J|`` coordinates drawn without replacement, scaled by ``d/|J|``)
the variance is known in closed form, :math:`d^2 s^2 / |J| \cdot (d - |J|)/(d - 1)` with
:math:`s^2` the population variance of the diagonal :math:`\partial_{jj} u`; the tests check
the empirical variance against it and fit the :math:`|J|^{-1}` slope.
"""

import numpy as np
import pytest
import torch

from pde_lab.derivatives import make_engine
from pde_lab.derivatives.stde import sample_directions, stde_laplacian
from pde_lab.derivatives.taylor import directional_derivatives, laplacian
from pde_lab.fields import Fields
from pde_lab.nets import MLP

D = 48


@pytest.fixture(scope="module")
def network():
    torch.manual_seed(0)
    return MLP(D, 1, 16, 2, "tanh").double()


@pytest.fixture(scope="module")
def points():
    return torch.rand(3, D, generator=torch.Generator().manual_seed(1), dtype=torch.float64) * 2 - 1


def _draws(network, points, samples, count, estimator="sparse", seed=0):
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        return torch.stack([stde_laplacian(network, points, samples, estimator=estimator, generator=generator)[:, 0]
                            for _ in range(count)])


@pytest.mark.parametrize("estimator, samples", [("sparse", 4), ("rademacher", 2), ("gaussian", 2)])
def test_unbiased_within_three_standard_errors(network, points, estimator, samples):
    exact = laplacian(network, points)[:, 0].detach()
    draws = _draws(network, points, samples, 1500, estimator)
    error = (draws.mean(0) - exact).abs()
    standard_error = draws.std(0) / np.sqrt(len(draws))
    assert torch.all(standard_error > 0)
    assert torch.all(error < 3 * standard_error), (error / standard_error).tolist()


def test_variance_falls_as_one_over_samples(network, points):
    with torch.no_grad():
        diagonal = directional_derivatives(network, points, list(range(D)), None, 2)[..., 0]  # (n, d)
    population = diagonal.var(1, unbiased=False)
    sizes = np.array([1, 2, 4, 8])
    measured = []
    for samples in sizes:
        variance = _draws(network, points, int(samples), 600, seed=int(samples)).var(0)
        predicted = D**2 * population / samples * (D - samples) / (D - 1)
        torch.testing.assert_close(variance, predicted, rtol=0.2, atol=0)  # 600 draws: ±~6% s.e.
        measured.append((variance * (D - 1) / (D - samples)).mean().item())  # finite-population corrected
    slope = np.polyfit(np.log(sizes), np.log(measured), 1)[0]
    assert abs(slope + 1) < 0.1, slope


def test_all_coordinates_give_the_exact_laplacian(network, points):
    estimate = stde_laplacian(network, points, D, generator=torch.Generator().manual_seed(3))
    torch.testing.assert_close(estimate, laplacian(network, points), rtol=1e-12, atol=1e-12)
    axes, coefficients, weight = sample_directions(list(range(D)), 10 * D)
    assert len(axes) == D and coefficients is None and weight == 1.0


def _fields(network, points, engine):
    names = tuple(f"x{i + 1}" for i in range(D))
    return Fields(network, points.clone().requires_grad_(True), ("u",), names, engine)


def test_engine_draws_fresh_directions_per_batch_and_is_seeded(network, points):
    state = torch.random.get_rng_state()
    first, again = make_engine("stde", network, samples=4, seed=5), make_engine("stde", network, samples=4, seed=5)
    a1, a2 = (_fields(network, points, first).lap("u") for _ in range(2))
    b1 = _fields(network, points, again).lap("u")
    assert not torch.allclose(a1, a2)  # a new batch, new directions
    torch.testing.assert_close(a1, b1, rtol=0, atol=0)  # same seed, same sequence
    assert torch.equal(state, torch.random.get_rng_state())  # the global generator is not used
    f = _fields(network, points, first)
    assert f.lap("u") is f.lap("u")


def test_sparse_estimate_never_builds_d_dimensional_tangents(network, points, monkeypatch):
    """The first layer's tangents are gathered weight columns: no (|J|, d) one-hot tensor."""
    from pde_lab.derivatives import taylor

    monkeypatch.setattr(taylor, "_dense", lambda *args: pytest.fail("built dense tangents"))
    stde_laplacian(network, points, 4, generator=torch.Generator().manual_seed(0))


def test_parameter_gradient_of_a_linear_loss_is_unbiased(network, points):
    """E[∇θ mean(L̃u)] = ∇θ mean(Δu): projected on a fixed random direction, within 3 s.e."""
    parameters = list(network.parameters())[:-1]  # the output bias does not enter the Laplacian
    generator = torch.Generator().manual_seed(9)
    direction = [torch.randn(p.shape, generator=generator, dtype=p.dtype) for p in parameters]

    def projected(value):
        gradients = torch.autograd.grad(value.mean(), parameters)
        return sum((g * r).sum() for g, r in zip(gradients, direction, strict=True)).item()

    exact = projected(laplacian(network, points))
    engine = make_engine("stde", network, samples=4, seed=0)
    draws = np.array([projected(_fields(network, points, engine).lap("u")) for _ in range(400)])
    assert abs(draws.mean() - exact) < 3 * draws.std() / np.sqrt(len(draws)), (draws.mean(), exact)
