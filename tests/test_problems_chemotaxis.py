r"""Numerical evidence for the chemotaxis problems (:mod:`problems.chemotaxis`).

* Residuals: constant states are steady for both systems; with :math:`\chi = 0`,
  :math:`n = c = 1 + \delta\cos\pi x\cos\pi y\,e^{-2\pi^2 t}` solves Keller–Segel; on a
  generic smooth state the expanded drift equals :math:`\nabla\cdot(n\nabla c)` computed
  from the flux itself, and the signal equations carry :math:`\varepsilon, \tau` as written.
* FEM references: mass conserved to 1e-8 relative, min n reported, the fields at t = 0
  are the initial bump (exactly at the nodes), the evaluation instants are saved instants.
* With :math:`\chi = 0` the reference's n is the Neumann heat flow of the bump: a cosine
  series on the square (coefficients by a 128² DCT), and c = n to round-off.
* A tiny PINN run trains on the two-field Keller–Segel problem with Neumann conditions.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.fft
import torch

from pde_lab import solve
from pde_lab.collocation import pde_residuals
from problems import indirect_signalling, keller_segel
from problems.chemotaxis import bump


def _space_time(problem, n: int = 200, seed: int = 0) -> torch.Tensor:
    space = problem.geometry.sample_interior(n, method="uniform", seed=seed)
    times = np.random.default_rng(seed).uniform(*problem.time_span, (n, 1))
    return torch.as_tensor(np.hstack([space, times]), dtype=torch.float64)


def _max_residual(problem, function, points) -> float:
    return max(float(r.detach().abs().max()) for r in pde_residuals(problem, function, points))


# ------------------------------------------------------------------------------ residuals
@pytest.mark.parametrize(
    "problem",
    [
        keller_segel(chi=3.0),
        keller_segel(domain="disk"),
        indirect_signalling(eps=0.1, tau=2.0, domain="disk"),
    ],
    ids=["keller-segel-square", "keller-segel-disk", "indirect-disk"],
)
def test_constant_states_are_steady(problem):
    points = _space_time(problem)
    constant = lambda x: 2.5 + 0 * x[:, :1].expand(-1, len(problem.fields))
    assert _max_residual(problem, constant, points) <= 1e-14


def test_keller_segel_without_chemotaxis_has_a_heat_mode_solution():
    def mode(x):
        n = 1 + 0.5 * torch.cos(math.pi * x[:, 0]) * torch.cos(math.pi * x[:, 1]) * torch.exp(
            -2 * math.pi**2 * x[:, 2]
        )
        return torch.stack([n, n], dim=1)

    points = _space_time(keller_segel(chi=0.0))
    assert _max_residual(keller_segel(chi=0.0), mode, points) <= 1e-12
    assert _max_residual(keller_segel(chi=1.0), mode, points) > 1e-2  # the drift is on


def _generic_state(x: torch.Tensor, n_fields: int) -> torch.Tensor:
    a, b, t = x[:, 0], x[:, 1], x[:, 2]
    n = 1 + a**2 * b + 0.3 * torch.sin(2 * a + t)
    c = torch.cos(a - b) * torch.exp(0.5 * b - t)
    w = torch.sin(a * b) + t * a
    return torch.stack([n, c, w][:n_fields], dim=1)


def _gradient(value: torch.Tensor, points: torch.Tensor) -> torch.Tensor:
    (gradient,) = torch.autograd.grad(value.sum(), points, create_graph=True)
    return gradient


def _laplacian(value: torch.Tensor, points: torch.Tensor) -> torch.Tensor:
    gradient = _gradient(value, points)
    return sum(_gradient(gradient[:, i], points)[:, i] for i in range(2))


@pytest.mark.parametrize("system", ["keller-segel", "indirect"])
def test_residual_on_a_generic_state_is_the_divergence_form(system):
    """Recompute every residual from the flux n∇c with plain autograd (no lazy fields)."""
    problem = (
        keller_segel(chi=1.7) if system == "keller-segel" else indirect_signalling(eps=0.3, tau=2.5)
    )
    points = _space_time(problem, 100).requires_grad_(True)
    values = _generic_state(points, len(problem.fields))
    n, c = values[:, 0], values[:, 1]
    flux = n[:, None] * _gradient(c, points)[:, :2]
    divergence = sum(_gradient(flux[:, i], points)[:, i] for i in range(2))
    dt = [_gradient(values[:, j], points)[:, 2] for j in range(values.shape[1])]
    if system == "keller-segel":
        expected = [
            dt[0] - _laplacian(n, points) + 1.7 * divergence,
            dt[1] - _laplacian(c, points) + c - n,
        ]
    else:
        w = values[:, 2]
        expected = [
            dt[0] - _laplacian(n, points) + divergence,
            dt[1] - (_laplacian(c, points) - c + w) / 0.3,
            dt[2] - (2.5 * _laplacian(w, points) - w + n) / 0.3,
        ]
    residuals = pde_residuals(
        problem, lambda x: _generic_state(x, len(problem.fields)), points.detach()
    )
    for got, want in zip(residuals, expected, strict=True):
        np.testing.assert_allclose(
            got.detach().numpy(), want.detach().numpy(), rtol=1e-12, atol=1e-12
        )
        assert float(want.detach().abs().max()) > 0.1


# ----------------------------------------------------------------------------- references
@pytest.fixture(scope="module")
def references():
    problems = {
        "keller-segel-square": keller_segel(),
        "keller-segel-disk": keller_segel(domain="disk"),
        "indirect-square": indirect_signalling(eps=0.5, tau=2.0),
    }
    return {name: (problem, problem.reference()) for name, problem in problems.items()}


@pytest.mark.parametrize("name", ["keller-segel-square", "keller-segel-disk", "indirect-square"])
def test_reference_conserves_mass_reports_min_n_and_starts_from_the_bump(references, name):
    problem, reference = references[name]
    result = reference.model
    assert reference.status.ok, reference.message
    assert reference.stats["mass_drift"] <= 1e-8
    assert reference.stats["min_n"] == pytest.approx(result.min_n.min())
    assert 0.5 < reference.stats["min_n"] < 1.0  # cells leave the background for the bump
    # t = 0: the nodal values are the bump, every field
    nodes = result.basis.doflocs.T
    start = reference(np.column_stack([nodes, np.zeros(len(nodes))]))
    np.testing.assert_allclose(
        start,
        np.repeat(bump(nodes[:, 0], nodes[:, 1])[:, None], len(problem.fields), 1),
        atol=1e-12,
    )
    inside = _space_time(problem, 300).numpy()
    inside[:, 2] = 0.0
    expected = problem.initial_condition(torch.as_tensor(inside[:, :2])).numpy()
    assert np.abs(reference(inside) - expected).max() <= 5e-3 * np.abs(expected).max()
    # the error is measured at saved instants
    times = np.unique(problem.evaluation_points()[:, -1])
    assert np.abs(result.times[:, None] - times[None, :]).min(axis=0).max() <= 1e-12
    assert problem.reference() is reference


def _neumann_heat_flow(points: np.ndarray, modes: int = 128) -> np.ndarray:
    """The bump evolved by n_t = Δn on [-1, 1]² with no flux: a cosine series."""
    mid = -1 + 2 * (np.arange(modes) + 0.5) / modes
    coefficients = scipy.fft.dctn(bump(*np.meshgrid(mid, mid, indexing="ij")), type=2) / modes**2
    coefficients[0, :] /= 2
    coefficients[:, 0] /= 2
    k = math.pi * np.arange(modes) / 2
    cos_x, cos_y = (np.cos(k[None, :] * (points[:, [i]] + 1)) for i in (0, 1))
    decay = np.exp(-(k[:, None] ** 2 + k[None, :] ** 2)[None] * points[:, 2, None, None])
    return np.einsum("pi,pij,ij,pj->p", cos_x, decay, coefficients, cos_y)


def test_without_chemotaxis_the_reference_is_the_neumann_heat_flow():
    problem = keller_segel(chi=0.0)
    reference = problem.reference()
    points = problem.evaluation_points()[::37]
    exact = _neumann_heat_flow(points)
    at_start = points[:, 2] == 0
    # the series converges slowly only at t = 0 (the bump's normal derivative is ~2e-2 on the walls)
    np.testing.assert_allclose(
        exact[at_start], bump(points[at_start, 0], points[at_start, 1]), atol=1e-4
    )
    values = reference(points)
    assert np.linalg.norm(values[:, 0] - exact) <= 1e-3 * np.linalg.norm(exact)
    np.testing.assert_allclose(values[:, 1], values[:, 0], atol=1e-12)  # c = n when c0 = n0
    assert reference.stats["min_n"] == pytest.approx(1.0, abs=1e-6)  # maximum principle


# ------------------------------------------------------------------------------ arguments
@pytest.mark.parametrize(
    "factory, arguments, match",
    [
        (keller_segel, {"chi": -1.0}, "chi"),
        (keller_segel, {"chi": math.nan}, "chi"),
        (keller_segel, {"chi": math.inf}, "chi"),
        (keller_segel, {"domain": "cube"}, "domain"),
        (keller_segel, {"domain": 3}, "domain"),
        (keller_segel, {"t_final": 0.0}, "t_final"),
        (indirect_signalling, {"eps": 0.0}, "eps"),
        (indirect_signalling, {"tau": -2.0}, "tau"),
        (indirect_signalling, {"eps": "1"}, "eps"),
        (indirect_signalling, {"domain": "Disk"}, "domain"),
    ],
)
def test_bad_arguments_raise_value_error(factory, arguments, match):
    with pytest.raises(ValueError, match=match):
        factory(**arguments)


# ------------------------------------------------------------------------------- training
def test_tiny_pinn_trains_keller_segel_with_no_flux_conditions(references):
    problem, reference = references["keller-segel-square"]
    solution = solve(
        problem,
        "pinn",
        adam_steps=20,
        lbfgs_steps=0,
        n_interior=200,
        n_boundary=100,
        n_initial=100,
        dtype="float64",
        progress=False,
    )
    loss = solution.history["loss"]
    assert loss[-1] < 0.7 * loss[0]
    error = solution.error_vs(reference)
    assert math.isfinite(error) and error > 0
