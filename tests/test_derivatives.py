"""Derivative engines against nested reverse autograd, in float64, to 1e-10.

Every engine (Taylor jets, forward Laplacian, STDE with |J| = d, which is exact) must give
the same values, gradients, Laplacians, u_xxxx and mixed partials as the baseline on random
MLPs with input rescaling, and the same gradients with respect to the parameters.
"""

import copy
import math
import warnings

import pytest
import torch

from pde_lab.derivatives import ENGINES, make_engine
from pde_lab.derivatives.forward_laplacian import forward_laplacian
from pde_lab.derivatives.jets import activation_derivatives, activation_jet
from pde_lab.derivatives.taylor import laplacian, partial_derivative
from pde_lab.fields import AutogradEngine, Fields
from pde_lab.nets import ACTIVATIONS, MLP

TOL = {"rtol": 1e-10, "atol": 1e-10}
COORDINATES = ("x", "y", "z", "t")  # three spatial coordinates and time: t is not in the Laplacian
DERIVATIVES = ("u", "u_x", "u_t", "v_y", "u_xx", "u_tt", "u_xy", "u_xxy", "v_xyt", "u_xxxx", "v_yyzz", "u_zzt")
EXACT_ENGINES = {"taylor": {}, "forward-laplacian": {}, "stde": {"samples": 8}}


def _network(activation="tanh", seed=0, width=12, depth=3):
    torch.manual_seed(seed)
    return MLP(4, 2, width, depth, activation, lower=[0, -1, 0, 0], upper=[2, 1, 1, 0.5]).double()


def _points(n=9, seed=1):
    generator = torch.Generator().manual_seed(seed)
    return torch.rand(n, 4, generator=generator, dtype=torch.float64)


def _fields(function, points, engine=None):
    return Fields(function, points.clone().requires_grad_(True), ("u", "v"), COORDINATES, engine)


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
@pytest.mark.parametrize("engine", sorted(EXACT_ENGINES))
def test_engines_agree_with_nested_autograd(activation, engine):
    network, points = _network(activation), _points()
    reference = _fields(network, points)
    f = _fields(network, points, make_engine(engine, network, **EXACT_ENGINES[engine]))
    for name in DERIVATIVES:
        torch.testing.assert_close(getattr(f, name), getattr(reference, name), **TOL, msg=name)
    for field in ("u", "v"):
        torch.testing.assert_close(f.lap(field), reference.lap(field), **TOL)
        torch.testing.assert_close(f.grad(field), reference.grad(field), **TOL)


def test_generic_path_agrees_and_warns_once_per_engine():
    """A network that is not a plain MLP (here a hard-constraint ansatz) takes nested jvp."""
    network = _network()

    class Ansatz(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = network

        def forward(self, points):
            return (1 - points[:, :3].square().sum(1, keepdim=True)) * self.inner(points)

    ansatz, points = Ansatz(), _points()
    reference = _fields(ansatz, points)
    for engine, options in EXACT_ENGINES.items():
        instance = make_engine(engine, **options)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            for _ in range(2):  # two batches, one warning
                f = _fields(ansatz, points, instance)
                for name in ("u_x", "u_xx", "u_xy", "u_xxxx", "v_xxy"):
                    torch.testing.assert_close(getattr(f, name), getattr(reference, name), **TOL, msg=name)
                torch.testing.assert_close(f.lap("u"), reference.lap("u"), **TOL)
        ours = [w for w in caught if "derivative engine" in str(w.message)]
        assert len(ours) == 1 and "not a plain" in str(ours[0].message), engine


def _parameter_gradient(network, engine):
    f = _fields(network, _points(), engine)
    loss = (f.lap("u") - f.u).square().mean() + f.u_xxxx.square().mean() + (f.v_xy * f.u_t).mean()
    gradients = torch.autograd.grad(loss, list(network.parameters()), allow_unused=True)
    return [torch.zeros_like(p) if g is None else g for p, g in zip(network.parameters(), gradients, strict=True)]


@pytest.mark.parametrize("engine", sorted(EXACT_ENGINES))
def test_gradients_with_respect_to_parameters_agree(engine):
    network = _network("sin", seed=3)
    expected = _parameter_gradient(network, AutogradEngine())
    ours = _parameter_gradient(network, make_engine(engine, network, **EXACT_ENGINES[engine]))
    for a, b in zip(ours, expected, strict=True):
        torch.testing.assert_close(a, b, **TOL)


def test_functional_api_runs_under_vmap_and_matches_batched():
    network, points = _network("gelu"), _points()
    batched = forward_laplacian(network, points, spatial=[0, 1, 2])
    mapped = torch.func.vmap(lambda p: forward_laplacian(network, p, spatial=[0, 1, 2]))(points)
    for a, b in zip(mapped, batched, strict=True):
        torch.testing.assert_close(a, b, **TOL)
    mapped = torch.func.vmap(lambda p: laplacian(network, p))(points)
    torch.testing.assert_close(mapped, laplacian(network, points), **TOL)
    mixed = torch.func.vmap(lambda p: partial_derivative(network, p, (0, 0, 1)))(points)
    torch.testing.assert_close(mixed, partial_derivative(network, points, (0, 0, 1)), **TOL)


def test_forward_laplacian_chunks_agree_with_one_pass():
    network, points = _network(), _points(n=37)
    one = _fields(network, points, make_engine("forward-laplacian", chunk_size=100))
    chunked = _fields(network, points, make_engine("forward-laplacian", chunk_size=5))
    torch.testing.assert_close(chunked.lap("v"), one.lap("v"), **TOL)
    torch.testing.assert_close(chunked.u_t, one.u_t, **TOL)


def test_forward_laplacian_collapses_wide_inputs_exactly():
    """d = 40 > width 12: the Laplacian pass carries the QR factor of the first layer (12 rows)."""
    torch.manual_seed(5)
    d = 40
    network = MLP(d + 1, 2, 12, 3, "tanh", lower=[-1] * d + [0], upper=[2] * d + [1]).double()
    points = torch.rand(13, d + 1, generator=torch.Generator().manual_seed(6), dtype=torch.float64)
    coordinates = tuple(f"x{i + 1}" for i in range(d)) + ("t",)

    def evaluate(engine):
        f = Fields(network, points.clone().requires_grad_(True), ("u", "v"), coordinates, engine)
        values = [f.lap("u"), f.u_t, f.d("v", "x3"), f.lap("v")]
        loss = values[0].square().mean() + (values[1] * values[2]).mean() + values[3].mean()
        gradients = torch.autograd.grad(loss, list(network.parameters())[:-1])
        return values + list(gradients), f.cache

    expected, _ = evaluate(AutogradEngine())
    ours, cache = evaluate(make_engine("forward-laplacian"))
    assert ("forward-laplacian", False) in cache and ("forward-laplacian", True) not in cache
    for a, b in zip(ours, expected, strict=True):
        torch.testing.assert_close(a, b, **TOL)


@pytest.mark.parametrize("engine", sorted(EXACT_ENGINES))
def test_float32_follows_the_points(engine):
    network, points = _network("silu"), _points()
    expected = _fields(network, points)
    f = _fields(copy.deepcopy(network).float(), points.float(), make_engine(engine, **EXACT_ENGINES[engine]))
    for value, name in ((f.lap("u"), "lap"), (f.u_xxxx, "u_xxxx"), (f.u_xy, "u_xy")):
        assert value.dtype == torch.float32, name
    torch.testing.assert_close(f.lap("u").double(), expected.lap("u"), rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(f.u_xxxx.double(), expected.u_xxxx, rtol=1e-3, atol=1e-3)


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activation_jets_match_nested_forward_mode(name):
    """Coefficients of σ(z0 + z1 s + z2 s²) up to s⁵ against five nested torch.func.jvp in s."""
    generator = torch.Generator().manual_seed(4)
    z0, z1, z2 = torch.randn(3, 6, generator=generator, dtype=torch.float64)
    zero, one = torch.zeros((), dtype=torch.float64), torch.ones((), dtype=torch.float64)

    def curve(s):
        return ACTIVATIONS[name](z0 + z1 * s + z2 * s**2)

    def differentiate(inner):
        return lambda s: torch.func.jvp(inner, (s,), (one,))[1]

    expected, derivative = [], curve
    for k in range(6):
        expected.append(derivative(zero) / math.factorial(k))
        derivative = differentiate(derivative)
    series = activation_jet(name, [z0, z1, z2, None, None, None])
    for k in range(6):
        torch.testing.assert_close(series[k], expected[k], rtol=1e-12, atol=1e-12)
    second = activation_derivatives(name, z0, 2)[2]
    torch.testing.assert_close(second, 2 * activation_jet(name, [z0, torch.ones_like(z0), None])[2])


def test_make_engine_names_options_and_errors():
    assert ENGINES == ("autograd", "taylor", "forward-laplacian", "stde")
    assert isinstance(make_engine("autograd"), AutogradEngine)
    engine = make_engine("stde", samples=4, seed=7)
    assert engine.samples == 4 and make_engine(engine) is engine
    with pytest.raises(ValueError, match="known engines: autograd, taylor, forward-laplacian, stde"):
        make_engine("hessian")
    with pytest.raises(TypeError, match="no option"):
        make_engine("taylor", samples=3)
    with pytest.raises(ValueError, match="estimator"):
        make_engine("stde", estimator="poisson")
    with pytest.raises(ValueError, match="samples"):
        make_engine("stde", samples=0)
    with pytest.raises(ValueError, match="plain pde_lab.nets.MLP"):
        forward_laplacian(torch.nn.Linear(4, 1).double(), _points())


@pytest.mark.cuda
@pytest.mark.parametrize("engine", sorted(EXACT_ENGINES))
def test_engines_on_cuda_match_the_cpu(device, engine):
    network, points = _network(), _points()
    expected = _fields(network, points, make_engine(engine, **EXACT_ENGINES[engine]))
    f = _fields(network.to(device), points.to(device), make_engine(engine, **EXACT_ENGINES[engine]))
    for name in ("u_x", "u_xxxx", "u_xy"):
        torch.testing.assert_close(getattr(f, name).cpu(), getattr(expected, name), **TOL, msg=name)
    assert f.lap("u").device.type == "cuda"
    torch.testing.assert_close(f.lap("u").cpu(), expected.lap("u"), **TOL)


@pytest.mark.parametrize("problem", ["poisson", "burgers", "kuramoto_sivashinsky"])
def test_pinn_losses_match_autograd_with_every_exact_engine(problem):
    """Three Adam steps: the same losses (Laplacian; u_t, u_x, u_xx; u_xxxx and periodic u_x)."""
    import problems

    settings = {"width": 16, "depth": 2, "adam_steps": 3, "lbfgs_steps": 0, "n_interior": 64, "n_boundary": 32,
                "n_initial": 32, "dtype": "float64", "device": "cpu", "progress": False}
    expected = solve_pinn(getattr(problems, problem)(), settings, "autograd")
    for engine in EXACT_ENGINES:
        torch.testing.assert_close(solve_pinn(getattr(problems, problem)(), settings, engine), expected, **TOL)


def solve_pinn(problem, settings, derivatives):
    from pde_lab import solve

    return torch.tensor(solve(problem, "pinn", derivatives=derivatives, **settings).history["loss"])
