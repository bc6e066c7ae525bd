"""The constrained layer: residuals met to solver tolerance, implicit gradients equal finite
differences (float64), and the diffusion–sorption reference converges at second order."""

import numpy as np
import pytest
import torch

from pde_lab.hard_constraints import Experts, LMOptions, constrained_solve, levenberg_marquardt
from pde_lab.training import cpu_threads
from problems.diffusion_sorption import diffusion_sorption, finite_volume_solution

E, M, N = 3, 40, 5


def _residual(w, B, Bx, target):
    """Block-separable, nonlinear in w (cubic and product terms), like a PDE residual."""
    u, ux = (B * w[:, None, :]).sum(-1), (Bx * w[:, None, :]).sum(-1)
    return u + 0.3 * u * u * u + 0.5 * ux * u - target


def _data(seed=0, exact=False):
    g = torch.Generator().manual_seed(seed)
    B = torch.randn(E, M, N, dtype=torch.float64, generator=g)
    Bx = torch.randn(E, M, N, dtype=torch.float64, generator=g)
    if exact:  # a solution with zero residual exists: w_true
        w_true = 0.5 * torch.randn(E, N, dtype=torch.float64, generator=g)
        target = _residual(w_true, B, Bx, torch.zeros(E, M, dtype=torch.float64))
        return B, Bx, target, w_true
    return B, Bx, torch.randn(E, M, dtype=torch.float64, generator=g), None


def test_levenberg_marquardt_meets_the_residual_to_solver_tolerance():
    """Default (forward-mode) Jacobians; converges to the zero-residual solution."""
    B, Bx, target, w_true = _data(exact=True)
    info = {}
    with cpu_threads(1):
        w = constrained_solve(_residual, torch.zeros(E, N, dtype=torch.float64), (B, Bx, target),
                              LMOptions(max_iterations=60, tolerance=1e-12, ridge=0.0), info)
    assert bool(info["converged"].all())
    assert float(info["residual_norm"].max()) < 1e-10
    assert torch.allclose(w, w_true, atol=1e-9)


def test_diffusion_sorption_rows_met_when_the_basis_can_fit_them():
    """Real PDE, initial and boundary rows of every expert: with more basis functions than rows
    per expert (all 19 initial and boundary rows, shared, plus 3 PDE rows) the residual
    vanishes to solver tolerance."""
    problem = diffusion_sorption(seed=3)
    experts = Experts(problem, (9, 6), (4, 1))
    g = torch.Generator().manual_seed(0)
    values = torch.randn(1, len(experts.points), 40, dtype=torch.float64, generator=g)
    jets = experts.jets(values)
    rows = [experts.linear_rows(problem, torch.float64)]
    info = {}
    with cpu_threads(1):
        experts.solve_weights([problem], jets, rows, 3, g, LMOptions(100, 1e-14, 1e-9), 1.0, 0.5, info)
    assert float(info["residual_norm"].max()) < 1e-10


def _jacobian(w, B, Bx, target):
    u, ux = (B * w[:, None, :]).sum(-1), (Bx * w[:, None, :]).sum(-1)
    return (1 + 0.9 * u**2 + 0.5 * ux)[..., None] * B + 0.5 * u[..., None] * Bx


def _polished(B, Bx, target, options):
    """LM, then exact Newton steps (Hessian by double backward): the reference minimiser."""
    w, _ = levenberg_marquardt(_residual, torch.ones(E, N, dtype=torch.float64), (B, Bx, target), options, _jacobian)
    for _ in range(4):
        point = w.clone().requires_grad_(True)
        r = _residual(point, B, Bx, target)
        objective = 0.5 * (r**2).sum() + 0.5 * options.ridge**2 * (point**2).sum()
        (grad,) = torch.autograd.grad(objective, point, create_graph=True)
        hessian = torch.stack([torch.autograd.grad(grad[:, j].sum(), point, retain_graph=True)[0]
                               for j in range(N)], dim=2)
        w = (w - torch.linalg.solve(hessian, grad[..., None])[..., 0]).detach()
    return w


@pytest.mark.parametrize("hessian, exact", [("exact", False), ("gauss-newton", True)])
def test_implicit_gradients_match_finite_differences(hessian, exact):
    """Exact-Hessian IFT at a non-zero residual; Gauss–Newton IFT where the residual vanishes."""
    B, Bx, target, _ = _data(seed=1, exact=exact)
    options = LMOptions(max_iterations=300, tolerance=1e-14, ridge=1e-2, hessian=hessian)
    weights = torch.arange(1.0, N + 1, dtype=torch.float64)

    def loss(w):
        return (w * weights).sum() + (w**2).sum()

    with cpu_threads(1):
        B_, Bx_ = B.clone().requires_grad_(), Bx.clone().requires_grad_()
        w = constrained_solve(_residual, torch.ones(E, N, dtype=torch.float64), (B_, Bx_, target), options,
                              jacobian=_jacobian)
        grad_B, grad_Bx = torch.autograd.grad(loss(w), (B_, Bx_))
        eps = 1e-5
        for index in [(0, 0, 0), (1, 5, 2), (2, 39, 4)]:
            for tensor, grad in ((B, grad_B), (Bx, grad_Bx)):
                plus, minus = tensor.clone(), tensor.clone()
                plus[index] += eps
                minus[index] -= eps
                args = [(plus, Bx) if tensor is B else (B, plus), (minus, Bx) if tensor is B else (B, minus)]
                fd = (loss(_polished(*args[0], target, options)) - loss(_polished(*args[1], target, options))) / (2 * eps)
                tolerance = 1e-7 if hessian == "exact" else 5e-4 * abs(float(fd)) + 1e-7
                assert abs(float(fd) - float(grad[index])) < tolerance, (index, float(fd), float(grad[index]))


def test_diffusion_sorption_reference_converges_at_second_order():
    problem = diffusion_sorption(seed=0)
    cells = [64, 128, 256]
    finest_nodes, _, finest = finite_volume_solution(problem, cells=1024, saves=6)
    xs = np.linspace(0.02, 0.98, 97)
    truth = np.interp(xs, finest_nodes, finest[-1])
    errors = []
    for n in cells:
        nodes, _, values = finite_volume_solution(problem, cells=n, saves=6)
        errors.append(np.linalg.norm(np.interp(xs, nodes, values[-1]) - truth) / np.linalg.norm(truth))
    order = -np.polyfit(np.log(cells), np.log(errors), 1)[0]
    assert 1.8 < order < 2.3, (errors, order)
    assert errors[-1] < 1e-5
    assert np.allclose(finest[1:, 0], 1.0)  # inflow held after t = 0
