"""hc-moe on any device: every tensor of the experts' solve and loss lives where the basis does.

Without a GPU the check is a proxy: with the default device set to ``meta``, a tensor made
without an explicit device lands on ``meta``, and mixing it with the CPU basis raises (an index
made there gives garbage, so the results are also compared with a normal run). The CUDA test
(the ``device`` fixture) solves on the GPU and compares with the CPU.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pde_lab import solve
from pde_lab.hard_constraints import Experts, LMOptions, constrained_solve
from problems.diffusion_sorption import diffusion_sorption
from problems.vorticity_decay import vorticity_decay

CASES = {
    "dirichlet-robin rows": (lambda: diffusion_sorption(seed=3), (17, 9), (2, 1), False),
    "stream function, exact initial": (lambda: vorticity_decay(seed=2, t_final=1.0), (8, 8, 5), (2, 2, 1), True),
}


def _one_step(problem, shape, splits, exact, monkeypatch):
    """Weights by the batched solve, the blended loss and its gradient, and the solve's Hessian
    (called here: torch's default device does not reach into a backward pass)."""
    from pde_lab.hard_constraints import moe

    captured = {}

    def capture(residual, start, features, options, info, jacobian, hessian):
        captured.update(hessian=hessian, features=[f.detach() for f in features])
        w = constrained_solve(residual, start, features, options, info, jacobian, hessian)
        captured["w"] = w.detach()
        return w

    monkeypatch.setattr(moe, "constrained_solve", capture)
    experts = Experts(problem, shape, splits, exact_initial=exact)
    rows = [experts.linear_rows(problem, torch.float64)]
    generator = torch.Generator(device="cpu").manual_seed(0)
    basis = torch.randn(1, len(experts.points), 4, dtype=torch.float64, generator=generator, device="cpu")
    basis.requires_grad_(True)
    jets = experts.jets(experts.embed(basis, rows) if exact else basis)
    omega = experts.solve_weights([problem], jets, rows, 12, generator, LMOptions(max_iterations=8), 10.0, 1.0)
    terms = experts.blended_terms([problem], jets, rows, omega)
    (terms["pde"] + terms["boundary"]).backward()
    hessian = captured["hessian"](captured["w"], *captured["features"])
    return omega.detach(), terms["pde"].detach(), basis.grad, hessian


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_no_tensor_of_the_solve_is_made_on_the_default_device(case, monkeypatch):
    make, shape, splits, exact = CASES[case]
    expected = _one_step(make(), shape, splits, exact, monkeypatch)
    problem = make()
    previous = torch.get_default_device()
    torch.set_default_device("meta")
    try:
        got = _one_step(problem, shape, splits, exact, monkeypatch)
    finally:
        torch.set_default_device(previous)
    for a, b in zip(got, expected, strict=True):
        assert a.device.type == "cpu"
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-14)


SMALL = dict(basis=4, constraint_points=20, batch=1, steps=3, train_instances=2, width=8, depth=1, progress=False)


@pytest.mark.parametrize("problem, settings", [
    (diffusion_sorption(seed=5), dict(grid=(17, 9), experts=2, backbone="mlp", sensors=2, boundary_weight=30.0)),
    (vorticity_decay(seed=2, t_final=1.0), dict(grid=(8, 8, 5), experts=(2, 2, 1), backbone="fno", modes=(2, 2, 2),
                                                exact_initial=True, lm_tolerance=1e-7)),
], ids=["diffusion-sorption mlp", "vorticity fno"])
def test_hc_moe_on_cuda_trains_as_on_the_cpu(device, problem, settings):
    family = (lambda i: diffusion_sorption(seed=1000 + i)) if problem.name.startswith("diffusion") else \
        (lambda i: vorticity_decay(seed=1000 + i, t_final=1.0))
    on = {d: solve(problem, "hc-moe", family=family, device=d, **SMALL, **settings) for d in ("cpu", device)}
    assert on[device].stats["device"].startswith("cuda")
    np.testing.assert_allclose(on[device].history["loss"], on["cpu"].history["loss"], rtol=1e-6)
    points = problem.evaluation_points(9) if problem.spatial_dim == 1 else problem.evaluation_points()[::97]
    np.testing.assert_allclose(on[device](points), on["cpu"](points), rtol=1e-5, atol=1e-8)
