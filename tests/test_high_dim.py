"""High-dimensional problems: closed forms against autograd, the ball, and STDE training."""

import numpy as np
import pytest
import torch

from pde_lab import solve
from pde_lab.fields import Fields
from geometries import Ball
from geometries.ball import EVALUATION_POINTS
from problems.high_dim import (
    allen_cahn_nd,
    poisson_nd,
    sine_gordon_nd,
    two_body,
    two_body_laplacian,
)


def _inside(dim, n=16, seed=0):
    points = torch.randn(n, dim, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    return 0.9 * points / points.norm(dim=1, keepdim=True) * torch.rand(n, 1, dtype=torch.float64)


@pytest.mark.parametrize("dim", [2, 5, 40])
def test_closed_form_laplacian_matches_autograd(dim):
    problem = poisson_nd(dim, seed=dim)
    points = _inside(dim).requires_grad_(True)
    f = Fields(lambda x: two_body(x, problem.parameters), points, ("u",), problem.coordinate_names)
    torch.testing.assert_close(two_body_laplacian(points, problem.parameters), f.lap("u"), rtol=1e-12, atol=1e-11)


@pytest.mark.parametrize("make", [poisson_nd, allen_cahn_nd, sine_gordon_nd])
def test_exact_solution_solves_each_problem(make):
    problem = make(7)
    points = _inside(7, seed=2)
    points.requires_grad_(True)
    f = Fields(lambda x: two_body(x, problem.parameters), points, ("u",), problem.coordinate_names)
    residual = problem.residual(f, problem.parameters)
    assert residual.abs().max() < 1e-10 and f.lap("u").abs().max() > 1  # a nontrivial solution
    sphere = torch.nn.functional.normalize(_inside(7, seed=3), dim=1)
    assert problem.exact(sphere).abs().max() < 1e-12  # u = 0 on the boundary


def test_ball_samples_radii_uniformly_and_boundary_on_the_sphere():
    ball = Ball.unit(20)
    interior = ball.sample_interior(2000, method="uniform", seed=0)
    radii = np.linalg.norm(interior, axis=1)
    assert radii.max() < 1 and abs(radii.mean() - 0.5) < 0.03  # uniform radius, not r^(1/d)
    boundary = ball.sample_boundary(50, method="hammersley", seed=1)
    np.testing.assert_allclose(np.linalg.norm(boundary, axis=1), 1.0, rtol=1e-12)
    grid = ball.grid(5)
    assert grid.shape == (EVALUATION_POINTS, 20) and np.array_equal(grid, ball.grid(5))
    assert Ball.unit(2).grid(5).shape == (13, 2)  # a real tensor grid in low dimensions
    with pytest.raises(ValueError, match="radius"):
        Ball((0.0, 0.0), -1.0)
    with pytest.raises(ValueError, match="dim"):
        poisson_nd(1)


def test_pinn_with_stde_learns_a_20d_poisson_problem():
    """d = 20, |J| = 16 of 20, 400 Adam steps on 256 fixed points, 3x32 tanh, float32.

    Measured: rel L2 0.44 (the untrained network 1.0+, the exact forward Laplacian at the same
    budget 0.49; 2000 steps on 512 points reach 0.33). The two-body solution in 20D is hard
    for so small a budget: the paper trains 10k steps with a boundary ansatz to ~1e-3.
    """
    problem = poisson_nd(20)
    settings = {"width": 32, "depth": 3, "adam_steps": 400, "lbfgs_steps": 0, "n_interior": 256, "n_boundary": 256,
                "learning_rate": 1e-3, "weights": {"boundary": 1000.0}, "sampling": "uniform", "dtype": "float32",
                "device": "cpu", "progress": False, "derivatives": "stde"}
    solution = solve(problem, "pinn", **settings)
    assert solution.status.ok, solution.message
    assert solution.error_vs() < 0.6
    loss = solution.history["loss"]
    assert loss[-1] < loss[0] / 15
