"""Problem is immutable data, validated at construction."""

import math

import pytest
import torch

from geometries import Interval, Rectangle
from pde_lab import Dirichlet, Neumann, Parameters, Periodic, Problem
from problems import burgers, poisson


def _steady(**changes):
    base = dict(name="p", geometry=Rectangle((0, 0), (1, 1)), residual=lambda f, p: f.u,
                boundary_conditions=(Dirichlet(0.0),))
    base.update(changes)
    return Problem(**base)


def test_parameters_are_immutable_and_attribute_accessible():
    p = Parameters(nu=0.5, source=lambda x: x)
    assert p.nu == 0.5 and callable(p.source) and dict(p)["nu"] == 0.5
    with pytest.raises(AttributeError, match="immutable"):
        p.nu = 1.0
    with pytest.raises(AttributeError, match="parameters are: nu, source"):
        p.kappa


def test_with_parameters_copies_and_leaves_the_original_alone():
    problem = burgers()
    changed = problem.with_parameters(nu=0.1)
    assert changed.parameters.nu == 0.1 and problem.parameters.nu == pytest.approx(0.01 / math.pi)
    with pytest.raises(ValueError, match="unknown parameters"):
        problem.with_parameters(kappa=1.0)
    with pytest.raises(ValueError, match="finite"):
        problem.with_parameters(nu=float("nan"))


@pytest.mark.parametrize(
    "changes, error, match",
    [
        (dict(parameters={"nu": float("nan")}), ValueError, "finite"),
        (dict(parameters={"k": [1.0, float("inf")]}), ValueError, "NaN or inf"),
        (dict(rate=lambda f, p: f.u), ValueError, "exactly one"),
        (dict(residual=None), ValueError, "exactly one"),
        (dict(time_span=(1.0, 0.0)), ValueError, "t0 < t1"),
        (dict(time_span=(0.0, float("inf"))), ValueError, "t0 < t1"),
        (dict(geometry="square"), TypeError, "geometries.Geometry"),
        (dict(fields=("u", "1v")), ValueError, "identifiers"),
        (dict(boundary_conditions=(Dirichlet(0.0, field="w"),)), ValueError, "names field 'w'"),
        (dict(boundary_conditions=(Periodic(axis=2),)), ValueError, "out of range"),
        (dict(boundary_conditions=("dirichlet",)), TypeError, "unknown boundary condition"),
        (dict(fields=("u", "v"), boundary_conditions=(Neumann(0.0, field=None),)), ValueError, "must name"),
    ],
)
def test_bad_problems_raise_clear_errors(changes, error, match):
    with pytest.raises(error, match=match):
        _steady(**changes)


def test_bad_condition_values():
    with pytest.raises(ValueError, match="finite"):
        Dirichlet(float("nan"))
    with pytest.raises(TypeError, match="number or a callable"):
        Neumann("zero")
    with pytest.raises(ValueError, match="non-negative int"):
        Periodic(axis=-1)


def test_evolution_problem_needs_initial_data():
    with pytest.raises(ValueError, match="time_span and initial_condition"):
        Problem(name="heat", geometry=Interval(0, 1), rate=lambda f, p: f.u_xx, time_span=(0, 1))


def test_burgers_rejects_bad_viscosity():
    for nu in (-0.1, 0.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="viscosity"):
            burgers(nu=nu)


def test_coordinates_points_and_exact_reference():
    problem = burgers()
    assert problem.coordinate_names == ("x", "t") and problem.input_dim == 2
    points = problem.evaluation_points()
    assert points.shape == (201 * 201, 2) and points[:, 1].min() == 0 and points[:, 1].max() == 1
    reference = poisson().reference()
    xy = torch.tensor([[0.5, 0.5], [0.25, 0.5]], dtype=torch.float64)
    torch.testing.assert_close(reference(xy)[:, 0], torch.tensor([1.0, math.sqrt(0.5)], dtype=torch.float64))
    unknown = Problem(name="heat", geometry=Interval(0, 1), rate=lambda f, p: f.u_xx, time_span=(0, 1),
                      initial_condition=lambda x: torch.sin(math.pi * x[:, 0]))
    with pytest.raises(ValueError, match="no exact solution and no reference solver"):
        unknown.reference()


def test_exact_solution_follows_parameters():
    """Burgers' Cole–Hopf reference uses the problem's own viscosity."""
    xt = torch.tensor([[0.3, 0.5], [-0.7, 1.0]], dtype=torch.float64)
    slow, fast = burgers(nu=0.1).reference()(xt), burgers().with_parameters(nu=0.1).reference()(xt)
    torch.testing.assert_close(slow, fast)
    assert not torch.allclose(burgers().reference()(xt), slow)


def test_replace_gives_a_fresh_reference_cache():
    import dataclasses

    from problems import heat

    problem = heat(t_final=0.5)
    problem.reference()
    assert problem._cache
    shorter = dataclasses.replace(problem, time_span=(0.0, 0.25))
    assert not shorter._cache  # never the original's reference for another problem
    assert not problem.with_parameters()._cache
