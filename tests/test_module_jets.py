"""Hand-written jets for the causal PINN's networks agree with nested autograd (float64)."""

import warnings

import pytest
import torch

from pde_lab.architectures import CausalNetwork
from pde_lab.derivatives import make_engine
from pde_lab.derivatives.module_jets import has_module_jet
from pde_lab.fields import Fields

CONFIGURATIONS = [
    dict(architecture="modified-mlp", periodic_axes=(0,), harmonics=3),
    dict(architecture="modified-mlp", periodic_axes=(0,), harmonics=2, trainable_harmonics=True,
         temporal_powers=(-1.0, 0.0, 1.0)),
    dict(architecture="mlp", periodic_axes=(0, 1), harmonics=2, fourier_features=8, fourier_scale=2.0),
    dict(architecture="modified-mlp", periodic_axes=(0, 1), harmonics=2, cross_harmonics=True,
         temporal_powers=(0.0, 1.0)),
    dict(architecture="modified-mlp", fourier_features=6, activation="sin"),
]


@pytest.mark.parametrize("options", CONFIGURATIONS)
def test_every_engine_matches_nested_autograd_on_causal_networks(options):
    generator = torch.Generator().manual_seed(3)
    network = CausalNetwork((0.0, -1.0, 0.0), (2.0, 1.0, 0.5), 2, width=12, depth=2, generator=generator,
                            **options).double()
    with torch.no_grad():  # non-trivial amplitudes and biases
        for parameter in network.parameters():
            parameter.add_(0.1 * torch.randn(parameter.shape, generator=generator, dtype=torch.float64))
    assert has_module_jet(network)
    names = ("x", "y", "t")
    points = torch.rand(7, 3, generator=generator, dtype=torch.float64) * torch.tensor([2.0, 2.0, 0.5]) \
        - torch.tensor([0.0, 1.0, 0.0])
    reference = Fields(network, points.clone().requires_grad_(True), ("u", "v"), names)
    derivatives = [lambda f: f.lap("u"), lambda f: f.d("v", "x", "x", "x", "x"), lambda f: f.d("u", "x", "y"),
                   lambda f: f.d("v", "t"), lambda f: f.d("u", "y", "y", "t")]
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # no fallback warning: the rules cover these networks
        for name in ("taylor", "forward-laplacian", "stde"):
            engine = make_engine(name, network, **({"samples": 8} if name == "stde" else {}))
            fields = Fields(network, points.clone(), ("u", "v"), names, engine=engine)
            for derivative in derivatives:
                torch.testing.assert_close(derivative(fields), derivative(reference), rtol=1e-10, atol=1e-10)


def test_jets_carry_gradients_to_the_parameters():
    network = CausalNetwork((0.0, 0.0), (1.0, 1.0), 1, width=8, depth=2, periodic_axes=(0,),
                            generator=torch.Generator().manual_seed(0)).double()
    points = torch.rand(5, 2, generator=torch.Generator().manual_seed(1), dtype=torch.float64)

    def loss(engine):
        network.zero_grad()
        Fields(network, points.clone().requires_grad_(engine is None), ("u",), ("x", "t"),
               engine=engine).d("u", "x", "x", "x", "x").square().sum().backward()
        return [p.grad.clone() for p in network.parameters() if p.grad is not None]

    for ours, theirs in zip(loss(make_engine("taylor")), loss(None), strict=True):
        torch.testing.assert_close(ours, theirs, rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize("covariance", ["diagonal", "full"])
def test_every_engine_matches_nested_autograd_on_physics_informed_gaussians(covariance):
    from pde_lab.gaussian_features import GaussianFeatures, GaussianNetwork

    torch.manual_seed(4)
    features = GaussianFeatures(3, 15, 3, covariance, sigma=0.6, weight_std=1.0, lower=[0.0, -1.0, 0.0],
                                upper=[2.0, 1.0, 0.5])
    if covariance == "full":  # correlated, not the initial diagonal factor
        with torch.no_grad():
            features.factors.add_(0.3 * torch.randn_like(features.factors))
    network = GaussianNetwork(features, 2, width=8).double()
    assert has_module_jet(network)
    names = ("x", "y", "t")
    points = torch.rand(9, 3, dtype=torch.float64) * torch.tensor([2.0, 2.0, 0.5]) - torch.tensor([0.0, 1.0, 0.0])
    reference = Fields(network, points.clone().requires_grad_(True), ("u", "v"), names)
    derivatives = [lambda f: f.lap("u"), lambda f: f.d("v", "x", "x", "x", "x"), lambda f: f.d("u", "x", "y"),
                   lambda f: f.d("v", "t"), lambda f: f.d("u", "y", "y", "y")]
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        for name in ("taylor", "forward-laplacian", "stde"):
            engine = make_engine(name, network, **({"samples": 8} if name == "stde" else {}))
            fields = Fields(network, points.clone(), ("u", "v"), names, engine=engine)
            for derivative in derivatives:
                value = derivative(fields)
                assert value.abs().max() > 1e-3  # a derivative that is not trivially zero
                torch.testing.assert_close(value, derivative(reference), rtol=1e-10, atol=1e-10)


def test_gaussian_jets_carry_gradients_to_means_covariances_and_weights():
    from pde_lab.gaussian_features import GaussianFeatures, GaussianNetwork

    torch.manual_seed(5)
    network = GaussianNetwork(GaussianFeatures(2, 10, 2, "full", sigma=0.5, weight_std=1.0), 1, width=6).double()
    points = torch.rand(6, 2, dtype=torch.float64) * 2

    def gradients(engine):
        network.zero_grad()
        Fields(network, points.clone().requires_grad_(engine is None), ("u",), ("x", "y"),
               engine=engine).lap("u").square().sum().backward()
        # the output bias does not enter a Laplacian: no gradient at all
        return {name: p.grad.clone() for name, p in network.named_parameters() if p.grad is not None}

    ours, theirs = gradients(make_engine("taylor")), gradients(None)
    assert {"features.means", "features.factors", "features.weights"} <= set(ours)
    for name, gradient in ours.items():
        torch.testing.assert_close(gradient, theirs[name], rtol=1e-9, atol=1e-11)
