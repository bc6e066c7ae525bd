"""The mixture of experts' exact Hessian for the implicit backward (pde_lab.hard_constraints.moe):
built from each row's second derivatives in its few derivative values, it equals the N
Hessian-vector products of pde_lab.hard_constraints.layer.exact_hessian."""

from __future__ import annotations

import pytest
import torch

import pde_lab.hard_constraints.moe as moe
from pde_lab.hard_constraints import Experts, LMOptions
from pde_lab.hard_constraints.layer import exact_hessian
from problems.diffusion_sorption import diffusion_sorption
from problems.vorticity_decay import vorticity_decay

CASES = {
    # the NS transport is quadratic in the weights (the velocity comes from each expert's b·ω)
    "navier-stokes": (lambda s: vorticity_decay(seed=s, t_final=1.0), (8, 8, 5), (2, 2, 1), True),
    # the retardation factor is a non-integer power of u: every second derivative is present
    "diffusion-sorption": (lambda s: diffusion_sorption(seed=s), (17, 9), (4, 1), False),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_experts_hessian_equals_hessian_vector_products(name, monkeypatch):
    make, shape, splits, exact_initial = CASES[name]
    members = [make(s) for s in (0, 1)]
    experts = Experts(members[0], shape, splits, exact_initial=exact_initial)
    basis = 0.3 + 0.2 * torch.rand(2, len(experts.points), 4, dtype=torch.float64,
                                   generator=torch.Generator().manual_seed(0))
    if exact_initial:
        basis = experts.embed(basis, [experts.linear_rows(m, torch.float64) for m in members])
    calls = []

    def recorded(residual, w0, features, options, info, jacobian, hessian):
        calls.append((residual, features, options, hessian))
        return moe_solve(residual, w0, features, options, info, jacobian, hessian)

    moe_solve = moe.constrained_solve
    monkeypatch.setattr(moe, "constrained_solve", recorded)
    omega = experts.solve_weights(members, experts.jets(basis), [experts.linear_rows(m, torch.float64) for m in members],
                                  12, torch.Generator().manual_seed(1), LMOptions(30, 1e-8), 10.0, 0.5)
    residual, features, options, hessian = calls[0]
    w = omega.reshape(-1, omega.shape[-1])
    features = [f.detach() for f in features]
    ours, products = hessian(w, *features), exact_hessian(residual, w, features, options.ridge)
    assert ours.shape == products.shape == (len(w), 4, 4)
    assert float((ours - products).abs().max() / products.abs().max()) < 1e-10
    with torch.enable_grad():  # and the second-order term is not negligible here (Gauss–Newton differs)
        point = w.detach().requires_grad_(True)
        J = torch.autograd.functional.jacobian(lambda v: residual(v, *features).sum(0), point).permute(1, 0, 2)
    gauss_newton = J.transpose(1, 2) @ J + options.ridge**2 * torch.eye(4, dtype=w.dtype)
    assert float((gauss_newton - products).abs().max() / products.abs().max()) > 1e-6
