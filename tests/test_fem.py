"""The finite-element reference: convergence rates, operator recovery, clear refusals."""

import math

import numpy as np
import pytest
import torch

from geometries import Disk, Interval, Rectangle
from pde_lab import Dirichlet, Neumann, Periodic, Problem, solve
from pde_lab.solvers.reference.fem import linear_operator
from problems import poisson, poisson_lshape

PI = math.pi


def _slope(hs, errors):
    return np.polyfit(np.log(hs), np.log(errors), 1)[0]


@pytest.mark.parametrize("order, rate", [(1, 2.0), (2, 3.0)])
def test_l2_convergence_rate_on_manufactured_poisson(order, rate):
    problem = poisson()
    hs = [1 / 8, 1 / 16, 1 / 32]
    errors = [solve(problem, "fem", order=order, h=h).model.l2_error(problem.exact) for h in hs]
    assert abs(_slope(hs, errors) - rate) < 0.2, errors


def _sin_sin(xy):
    return torch.sin(PI * xy[:, 0]) * torch.sin(PI * xy[:, 1])


def test_convection_reaction_terms_and_variable_coefficients():
    """-Δu + (1, 2)·∇u + (1 + x) u = f with exact sin(πx) sin(πy): P2 still converges at order 3."""

    def source(x, y):
        s, c = torch.sin, torch.cos
        return (2 * PI**2 * s(PI * x) * s(PI * y) + PI * c(PI * x) * s(PI * y)
                + 2 * PI * s(PI * x) * c(PI * y) + (1 + x) * s(PI * x) * s(PI * y))

    problem = Problem(
        name="convection-reaction", geometry=Rectangle((0, 0), (1, 1)),
        residual=lambda f, p: -f.lap("u") + f.u_x + 2 * f.u_y + (1 + f.x) * f.u - source(f.x, f.y),
        boundary_conditions=(Dirichlet(0.0),), exact_solution=lambda xy, p: _sin_sin(xy),
    )
    points = np.random.default_rng(0).uniform(size=(50, 2))
    recovered = linear_operator(problem, points)
    np.testing.assert_allclose(recovered["A"], np.eye(2), atol=1e-12)
    np.testing.assert_allclose(recovered["b"], np.tile([1.0, 2.0], (50, 1)), atol=1e-12)
    np.testing.assert_allclose(recovered["c"], 1 + points[:, 0], atol=1e-12)
    hs = [1 / 8, 1 / 16, 1 / 32]
    errors = [solve(problem, "fem", order=2, h=h).model.l2_error(_sin_sin) for h in hs]
    assert abs(_slope(hs, errors) - 3.0) < 0.2, errors


def test_anisotropic_diffusion_and_mixed_derivative_are_recovered():
    problem = Problem(name="aniso", geometry=Rectangle((0, 0), (1, 1)),
                      residual=lambda f, p: -(2 * f.u_xx + f.u_xy + 3 * f.u_yy) - 1.0,
                      boundary_conditions=(Dirichlet(0.0),))
    recovered = linear_operator(problem, np.random.default_rng(1).uniform(size=(20, 2)))
    np.testing.assert_allclose(recovered["A"], [[2.0, 0.5], [0.5, 3.0]], atol=1e-12)
    np.testing.assert_allclose(recovered["f"], 1.0, atol=1e-12)


def test_neumann_data_converges():
    """-Δu + u = f on the unit square, u = cos(πx) cos(πy) + x; Neumann on x = 1, Dirichlet elsewhere."""

    def exact(xy):
        return torch.cos(PI * xy[:, 0]) * torch.cos(PI * xy[:, 1]) + xy[:, 0]

    problem = Problem(
        name="neumann", geometry=Rectangle((0, 0), (1, 1)),
        residual=lambda f, p: -f.lap("u") + f.u - ((2 * PI**2 + 1) * torch.cos(PI * f.x) * torch.cos(PI * f.y) + f.x),
        boundary_conditions=(
            Neumann(1.0, where=lambda xy: xy[:, 0] > 1 - 1e-9),  # ∂u/∂n = u_x = 1 at x = 1
            Dirichlet(exact, where=lambda xy: xy[:, 0] < 1 - 1e-9),
        ),
        exact_solution=lambda xy, p: exact(xy),
    )
    hs = [1 / 8, 1 / 16, 1 / 32]
    errors = [solve(problem, "fem", order=1, h=h).model.l2_error(exact) for h in hs]
    assert abs(_slope(hs, errors) - 2.0) < 0.2, errors


def test_lshape_reference_is_self_consistent():
    """P1 on coarser meshes approaches the P2 reference; the corner singularity caps the rate near 4/3."""
    reference = poisson_lshape().reference()
    hs = [0.2, 0.1, 0.05]
    errors = [solve(poisson_lshape(), "fem", order=1, h=h).error_vs(reference) for h in hs]
    assert errors[0] > errors[1] > errors[2]
    assert 1.0 < _slope(hs, errors) < 2.2, errors


def test_one_dimensional_and_disk_meshes():
    line = Problem(name="line", geometry=Interval(0, 1), residual=lambda f, p: -f.u_xx - PI**2 * torch.sin(PI * f.x),
                   boundary_conditions=(Dirichlet(0.0),), exact_solution=lambda x, p: torch.sin(PI * x[:, 0]))
    assert solve(line, "fem", order=2, h=0.05).error_vs() < 5e-5  # measured 2.2e-5
    disk = Problem(name="disk", geometry=Disk((0, 0), 1.0), residual=lambda f, p: -f.lap("u") - 4.0,
                   boundary_conditions=(Dirichlet(0.0),), exact_solution=lambda xy, p: 1 - (xy**2).sum(1))
    solution = solve(disk, "fem", order=2, h=0.1)
    inner = np.random.default_rng(0).uniform(-0.6, 0.6, size=(200, 2))
    assert solution.error_vs(points=inner) < 1e-3


def test_refusals_are_clear():
    nonlinear = Problem(name="nl", geometry=Rectangle((0, 0), (1, 1)), residual=lambda f, p: -f.lap("u") + f.u**3,
                        boundary_conditions=(Dirichlet(0.0),))
    with pytest.raises(ValueError, match="not linear"):
        solve(nonlinear, "fem", h=0.25)
    with pytest.raises(ValueError, match="evolution problem"):
        from problems import burgers

        solve(burgers(), "fem")
    periodic = Problem(name="per", geometry=Rectangle((0, 0), (1, 1)), residual=lambda f, p: -f.lap("u") + f.u,
                       boundary_conditions=(Periodic(0),))
    with pytest.raises(ValueError, match="Periodic"):
        solve(periodic, "fem", h=0.25)
    holed = Problem(name="holed", geometry=Rectangle((0, 0), (1, 1)) - Disk((0.5, 0.5), 0.2),
                    residual=lambda f, p: -f.lap("u") - 1.0, boundary_conditions=(Dirichlet(0.0),))
    with pytest.raises(ValueError, match="cannot be meshed"):
        solve(holed, "fem")
    for bad in (dict(order=3), dict(h=0.0), dict(h=-1.0)):
        with pytest.raises(ValueError):
            solve(poisson(), "fem", **bad)
    with pytest.raises(TypeError, match="has no option"):
        solve(poisson(), "fem", width=3)
    with pytest.raises(ValueError, match="known solvers: .*fem.*pinn"):
        solve(poisson(), "fenics")


@pytest.mark.parametrize("geometry, h", [(Rectangle((0, 0), (1, 1)), 0.1), (Interval(0, 1), 0.05), (Disk((0, 0), 1.0), 0.2)])
def test_fast_point_evaluation_matches_scikit_fem_probes(geometry, h):
    problem = Problem(name="any", geometry=geometry, residual=lambda f, p: -f.lap("u") - 1.0,
                      boundary_conditions=(Dirichlet(0.0),))
    solution = solve(problem, "fem", order=2, h=h)
    basis = solution.model.basis
    nodes = basis.mesh.p.T
    inside = nodes[:-1] + 0.37 * (nodes[1:] - nodes[:-1])  # points between nodes, inside the mesh
    inside = inside[problem.geometry.contains(inside)][:300]
    inside = inside[np.abs(basis.probes(inside.T).sum(axis=1)).A1 > 0.5]  # skfem found an element
    expected = basis.probes(inside.T) @ solution.model.dofs
    np.testing.assert_allclose(solution(inside)[:, 0], expected, atol=1e-13)
    with pytest.raises(ValueError, match="outside the finite-element mesh"):
        solution(np.full((1, geometry.dim), 5.0))
