r"""Numerical evidence for the Navier–Stokes problems (:mod:`problems.navier_stokes`).

* Kovasznay and Taylor–Green: the exact solutions make the problems' own residuals vanish
  (float64, autograd) and every loss term -- Dirichlet, periodic, initial -- is zero.
* Torus: the Taylor–Green velocity solves the vorticity residual exactly; the initial
  velocity is divergence-free with the curl of the seeded Fourier sum; the spectral
  reference starts from it, and its field -- a Fourier interpolant in space, a quartic in
  time through five snapshots -- satisfies the problem's residual to ~1e-5 of
  :math:`|\omega_t|`; at :math:`\nu = 10^{-3}` its energy follows :math:`dE/dt = -2\nu Z`.
* Cavity: the Taylor–Hood reference lies within 2% of Ghia, Ghia & Shin (1982) on both
  centrelines, keeps the problem's wall data and is memoised.
* A tiny PINN run trains on the three-field Taylor–Green problem.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from pde_lab import solve
from pde_lab.collocation import loss_terms, pde_residuals, sample_collocation
from pde_lab.conditions import Dirichlet, evaluate_value
from pde_lab.fields import Fields
from pde_lab.reference import ghia1982
from pde_lab.reference.navier_stokes_2d import enstrophy, kinetic_energy
from problems import cavity, kovasznay, taylor_green, torus
from problems.navier_stokes import random_vortex_modes

TWO_PI = 2 * math.pi


def _uniform(lower, upper, n: int, seed: int = 0) -> torch.Tensor:
    rng = np.random.default_rng(seed)
    return torch.as_tensor(rng.uniform(lower, upper, (n, len(lower))), dtype=torch.float64)


def _max_residual(problem, function, points) -> float:
    return max(float(r.detach().abs().max()) for r in pde_residuals(problem, function, points))


# ---------------------------------------------------------------------------- exact solutions
@pytest.mark.parametrize("reynolds", [40.0, 100.0])
def test_kovasznay_exact_solution_zeroes_residual_and_boundary_loss(reynolds):
    problem = kovasznay(reynolds)
    points = _uniform([-0.5, -0.5], [1.0, 1.5], 400)
    assert _max_residual(problem, problem.exact, points) <= 1e-10
    collocation = sample_collocation(
        problem, n_interior=200, n_boundary=200, n_initial=1, dtype=torch.float64
    )
    terms = loss_terms(problem, problem.exact, collocation)
    assert float(terms["boundary"].detach()) <= 1e-24
    # the pressure condition (fixing its constant) sits on the outflow x = 1 only
    condition, pressure_points, _, _ = collocation.boundary[2]
    assert condition.field == "p" and torch.all(pressure_points[:, 0] == 1.0)


def test_taylor_green_exact_solution_zeroes_every_loss_term():
    problem = taylor_green(nu=0.05, t_final=2.0)
    points = _uniform([0, 0, 0], [TWO_PI, TWO_PI, 2.0], 400)
    assert _max_residual(problem, problem.exact, points) <= 1e-10
    collocation = sample_collocation(
        problem, n_interior=100, n_boundary=200, n_initial=100, dtype=torch.float64
    )
    terms = loss_terms(problem, problem.exact, collocation)
    assert float(terms["boundary"].detach()) <= 1e-24  # periodic values and derivatives
    assert float(terms["initial"].detach()) <= 1e-24
    # |u|² decays like exp(-4 ν t): ν reaches the exact solution through the parameters
    velocity = problem.exact(torch.tensor([[1.0, 0.5, 2.0]], dtype=torch.float64))[0, :2]
    at_start = (math.sin(1) * math.cos(0.5)) ** 2 + (math.cos(1) * math.sin(0.5)) ** 2
    assert float(velocity.square().sum()) == pytest.approx(
        at_start * math.exp(-4 * 0.05 * 2.0), rel=1e-14
    )


@pytest.mark.parametrize("nu", [1e-2, 1e-3])
def test_taylor_green_velocity_solves_the_torus_vorticity_residual(nu):
    tg, problem = taylor_green(nu=nu), torus(nu=nu)
    points = _uniform([0, 0, 0], [TWO_PI, TWO_PI, 1.0], 300)
    assert _max_residual(problem, lambda x: tg.exact(x)[:, :2], points) <= 1e-12
    # and a wrong viscosity does not
    wrong = taylor_green(nu=2 * nu)
    assert _max_residual(problem, lambda x: wrong.exact(x)[:, :2], points) > 1e-4


# ---------------------------------------------------------------------------------- torus
def test_torus_initial_velocity_is_the_seeded_divergence_free_vortex_field():
    problem = torus(seed=3)
    points = _uniform([0, 0, 0], [TWO_PI, TWO_PI, 1.0], 300)
    f = Fields(
        problem.initial_condition,
        points.clone().requires_grad_(True),
        problem.fields,
        problem.coordinate_names,
    )
    assert float(f.div(("u", "v")).detach().abs().max()) <= 1e-12
    wave, a, b = random_vortex_modes(3)
    phase = points[:, :2].numpy() @ wave.T
    vorticity = np.cos(phase) @ a + np.sin(phase) @ b
    np.testing.assert_allclose((f.v_x - f.u_y).detach().numpy(), vorticity, atol=1e-12)
    # unit RMS speed (exact on a grid that resolves |k| <= 4), zero mean
    axis = TWO_PI * np.arange(32) / 32
    grid = torch.as_tensor(np.stack(np.meshgrid(axis, axis, indexing="ij"), -1).reshape(-1, 2))
    velocity = problem.initial_condition(grid).numpy()
    assert np.mean(np.sum(velocity**2, axis=1)) == pytest.approx(1.0, rel=1e-12)
    assert np.abs(velocity.mean(axis=0)).max() <= 1e-13
    # seeded: same seed, same field; another seed, another field
    assert torch.equal(torus(seed=3).initial_condition(grid), problem.initial_condition(grid))
    assert not torch.allclose(
        torus(seed=4).initial_condition(grid), problem.initial_condition(grid)
    )


@pytest.fixture(scope="module")
def torus_reference():
    problem = torus()
    return problem, problem.reference()


def test_torus_reference_starts_from_the_initial_condition(torus_reference):
    problem, reference = torus_reference
    axis = TWO_PI * np.arange(128) / 128
    grid = np.stack(np.meshgrid(axis, axis, indexing="ij"), -1).reshape(-1, 2)
    start = reference(np.column_stack([grid, np.zeros(len(grid))]))
    expected = problem.initial_condition(torch.as_tensor(grid)).numpy()
    np.testing.assert_allclose(start, expected, atol=1e-12)
    assert reference.stats["energy_final"] < reference.stats["energy_initial"]
    assert problem.reference() is reference


def _space_time_interpolant(field, index: int, band: int = 42):
    """Torch function of (x, y, t): Fourier sum of five snapshots, Lagrange in time."""
    window = slice(index - 2, index + 3)
    times = torch.as_tensor(field.times[window])
    n = field.values.shape[1]
    spectrum = np.fft.fft2(field.values[window], axes=(1, 2)) / n**2
    m = np.fft.fftfreq(n, 1 / n)
    mx, my = np.meshgrid(m, m, indexing="ij")
    keep = (np.abs(mx) <= band) & (np.abs(my) <= band)
    keep &= np.abs(spectrum).max(axis=(0, 3)) > 1e-13 * np.abs(spectrum).max()
    wave = torch.as_tensor(np.column_stack([mx[keep], my[keep]]))
    real, imag = torch.as_tensor(spectrum[:, keep].real), torch.as_tensor(spectrum[:, keep].imag)

    def function(points: torch.Tensor) -> torch.Tensor:
        phase = points[:, :2] @ wave.T
        cos, sin, t = torch.cos(phase), torch.sin(phase), points[:, 2]
        out = 0
        for j in range(5):
            weight = math.prod((t - times[k]) / (times[j] - times[k]) for k in range(5) if k != j)
            out = out + weight[:, None] * (cos @ real[j] - sin @ imag[j])
        return out

    return function


def test_torus_reference_satisfies_the_problems_vorticity_residual(torus_reference):
    problem, reference = torus_reference
    index = 10
    function = _space_time_interpolant(reference.model, index)
    t = reference.model.times[index]
    points = torch.as_tensor(
        np.column_stack([np.random.default_rng(1).uniform(0, TWO_PI, (60, 2)), np.full(60, t)])
    )
    np.testing.assert_allclose(function(points).numpy(), reference(points.numpy()), atol=1e-7)
    transport, continuity = (r.detach() for r in pde_residuals(problem, function, points))
    f = Fields(
        function, points.clone().requires_grad_(True), problem.fields, problem.coordinate_names
    )
    scale = float((f.v_xt - f.u_yt).detach().abs().max())
    assert scale > 1.0  # a genuinely unsteady flow
    assert float(transport.abs().max()) <= 1e-4 * scale
    assert float(continuity.abs().max()) <= 1e-12


def test_torus_low_viscosity_energy_follows_the_enstrophy_budget():
    problem = torus(nu=1e-3, t_final=0.2)
    reference = problem.reference()
    field = reference.model
    n = field.values.shape[1]
    vorticity = np.fft.ifft2(
        1j * np.fft.fftfreq(n, 1 / n)[:, None] * np.fft.fft2(field.values[..., 1], axes=(1, 2))
        - 1j * np.fft.fftfreq(n, 1 / n)[None, :] * np.fft.fft2(field.values[..., 0], axes=(1, 2)),
        axes=(1, 2),
    ).real
    energy, zeta = kinetic_energy(vorticity), enstrophy(vorticity)
    dt = field.times[1] - field.times[0]
    rate = (energy[:-4] - 8 * energy[1:-3] + 8 * energy[3:-1] - energy[4:]) / (12 * dt)
    np.testing.assert_allclose(rate, -2e-3 * zeta[2:-2], rtol=1e-6)
    assert np.allclose(
        energy, 0.5 * TWO_PI**2 * np.mean(np.sum(field.values**2, axis=-1), axis=(1, 2))
    )


# --------------------------------------------------------------------------------- cavity
@pytest.fixture(scope="module")
def cavity_reference():
    problem = cavity()
    return problem, problem.reference()


def test_cavity_reference_matches_ghia_at_the_centrelines(cavity_reference):
    _, reference = cavity_reference
    scale = np.abs(ghia1982.GHIA_RE100_U).max()
    u = reference(np.column_stack([np.full(17, 0.5), ghia1982.GHIA_RE100_Y]))[:, 0]
    v = reference(np.column_stack([ghia1982.GHIA_RE100_X, np.full(17, 0.5)]))[:, 1]
    assert np.abs(u - ghia1982.GHIA_RE100_U).max() / scale <= 0.02
    assert np.abs(v - ghia1982.GHIA_RE100_V).max() / scale <= 0.02
    assert reference.status.ok and reference.stats["newton_residual"] < 1e-10


def test_cavity_reference_keeps_the_problems_wall_data_and_is_memoised(cavity_reference):
    problem, reference = cavity_reference
    s = np.linspace(0.05, 0.95, 19)
    walls = np.concatenate(
        [
            np.column_stack([s, np.ones_like(s)]),
            np.column_stack([s, np.zeros_like(s)]),
            np.column_stack([np.zeros_like(s), s]),
            np.column_stack([np.ones_like(s), s]),
        ]
    )
    values = reference(walls)
    for condition in problem.boundary_conditions:
        assert isinstance(condition, Dirichlet)
        target = evaluate_value(condition.value, torch.as_tensor(walls)).numpy()
        np.testing.assert_allclose(
            values[:, problem.fields.index(condition.field)], target, atol=1e-12
        )
    np.testing.assert_allclose(values[:19, 0], 1.0, atol=1e-12)  # the lid
    assert problem.reference() is reference
    assert reference(np.array([[0.5, 0.5]])).shape == (1, 3)


# ------------------------------------------------------------------------------ arguments
@pytest.mark.parametrize(
    "factory, arguments",
    [
        (kovasznay, {"reynolds": 0.0}),
        (kovasznay, {"reynolds": -40.0}),
        (kovasznay, {"reynolds": math.nan}),
        (kovasznay, {"reynolds": "40"}),
        (cavity, {"reynolds": math.inf}),
        (cavity, {"reynolds": True}),
        (taylor_green, {"nu": 0.0}),
        (taylor_green, {"t_final": -1.0}),
        (torus, {"nu": -1e-3}),
        (torus, {"t_final": math.inf}),
        (torus, {"seed": -1}),
        (torus, {"seed": 1.5}),
    ],
)
def test_bad_arguments_raise_value_error(factory, arguments):
    with pytest.raises(ValueError, match=next(iter(arguments))):
        factory(**arguments)


# ------------------------------------------------------------------------------- training
def test_tiny_pinn_trains_the_three_field_taylor_green_problem():
    problem = taylor_green()
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
    assert loss[-1] < 0.5 * loss[0]
    error = solution.error_vs(problem.reference())
    assert math.isfinite(error) and error > 0


def test_the_lid_moves_in_float32_too():
    import torch

    from problems.navier_stokes import _lid_speed

    for dtype in (torch.float32, torch.float64):
        points = torch.tensor([[0.5, 1.0], [0.0, 1.0], [1.0, 1.0], [0.5, 0.0], [0.5, 0.999]], dtype=dtype)
        assert _lid_speed(points).tolist() == [1.0, 0.0, 0.0, 0.0, 0.0], dtype


def test_kovasznay_outflow_pressure_condition_selects_points_in_float32():
    import torch

    from problems.navier_stokes import _on_outflow

    for dtype in (torch.float32, torch.float64):
        points = torch.tensor([[1.0, 0.2], [0.99, 0.1], [-0.5, 1.0]], dtype=dtype)
        assert _on_outflow(points).tolist() == [True, False, False], dtype
