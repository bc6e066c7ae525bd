"""The generic spectral reference, built from each problem's own rate: exactness, order,
agreement with the dedicated ETDRK4 kernels, and clear refusals."""

import math

import numpy as np
import pytest
import torch

from geometries import Interval
from pde_lab import Periodic, Problem, solve
from pde_lab.collocation import pde_residuals
from pde_lab.reference.spectral_1d import allen_cahn_1d, kuramoto_sivashinsky_1d, periodic_grid
from pde_lab.reference.spectral_2d import burgers_2d as burgers_2d_kernel
from pde_lab.solvers.reference.spectral import Spectral
from problems.allen_cahn import allen_cahn
from problems.burgers import burgers, burgers_2d
from problems.heat import heat
from problems.kuramoto_sivashinsky import kuramoto_sivashinsky
from problems.poisson import poisson


def test_heat_reference_is_exact_and_its_exact_solution_solves_the_pde():
    problem = heat(t_final=1.0)
    assert Spectral(n=16, dt=0.05).solve(problem).error_vs(problem.reference()) < 1e-6  # interpolation-limited
    grid = np.linspace(0, 2 * math.pi, 9)[:-1]
    xyt = torch.tensor([[x, y, t] for x in grid for y in grid for t in (0.0, 0.5, 1.0)], dtype=torch.float64)
    (residual,) = pde_residuals(problem, lambda p: problem.exact(p)[:, None], xyt)
    assert residual.abs().max() < 1e-12


def test_kuramoto_sivashinsky_matches_the_dedicated_kernel():
    problem = kuramoto_sivashinsky("regular", t_final=0.1)
    solution = Spectral(n=128, dt=1e-4, n_saves=3).solve(problem)
    x = periodic_grid(128, 2.0, -1.0)
    _, frames = kuramoto_sivashinsky_1d(-np.sin(np.pi * x), 2.0, 5.0, 0.5, 0.005, 1e-4, 0.1, save_times=[0.0, 0.05, 0.1])
    ours = solution(np.column_stack([x, np.full_like(x, 0.1)]))[:, 0]
    assert np.abs(ours - frames[-1]).max() < 1e-11 * np.abs(frames[-1]).max()


def test_allen_cahn_and_2d_burgers_match_their_kernels():
    problem = allen_cahn(t_final=0.05)
    solution = Spectral(n=128, dt=1e-3, n_saves=2).solve(problem)
    x = periodic_grid(128, 2.0, -1.0)
    _, frames = allen_cahn_1d(x**2 * np.cos(np.pi * x), 2.0, 1e-3, 0.05, save_times=[0.0, 0.05])
    np.testing.assert_allclose(solution(np.column_stack([x, np.full_like(x, 0.05)]))[:, 0], frames[-1], atol=1e-12)

    problem = burgers_2d(t_final=0.1)
    solution = Spectral(n=32, dt=1e-2, n_saves=2, dealias=True).solve(problem)
    axis = np.arange(32) * 2 * math.pi / 32
    x, y = np.meshgrid(axis, axis, indexing="ij")
    u0 = problem.initial_condition(torch.as_tensor(np.column_stack([x.ravel(), y.ravel()]))).numpy().reshape(32, 32)
    _, frames = burgers_2d_kernel(u0, 1e-2, 0.1, save_times=[0.0, 0.1], nu=0.01, dealias=True)
    ours = solution(np.column_stack([x.ravel(), y.ravel(), np.full(x.size, 0.1)]))[:, 0].reshape(32, 32)
    assert np.abs(ours - frames[-1]).max() < 1e-10


def test_fourth_order_in_time():
    """KS regular over t ∈ [0, 0.05]: ETDRK4 errors against a dt/8 run fall as dt⁴ (slope within 0.3)."""
    problem = kuramoto_sivashinsky("regular", t_final=0.05)
    x = periodic_grid(32, 2.0, -1.0)
    at_end = np.column_stack([x, np.full_like(x, 0.05)])

    def final(dt):
        return Spectral(n=32, dt=dt, n_saves=2).solve(problem)(at_end)[:, 0]

    truth = final(5e-4 / 16)
    steps = [5e-4, 2.5e-4, 1.25e-4]
    errors = [np.abs(final(dt) - truth).max() for dt in steps]
    slope = np.polyfit(np.log(steps), np.log(errors), 1)[0]
    assert abs(slope - 4.0) < 0.3, errors


def test_spectral_accuracy_in_space():
    """Allen–Cahn with a smooth periodic datum: the error falls faster than any power of N."""
    problem = Problem(name="ac-smooth", geometry=Interval(0, 2 * math.pi), time_span=(0, 0.5),
                      rate=lambda f, p: 0.05 * f.u_xx + f.u - f.u**3,
                      initial_condition=lambda x: 0.5 * torch.sin(x[:, 0]) + 0.3 * torch.cos(2 * x[:, 0]),
                      boundary_conditions=(Periodic(0),))
    x = np.linspace(0, 2 * math.pi, 17)[:-1]
    points = np.column_stack([x, np.full_like(x, 0.5)])
    truth = Spectral(n=64, dt=1e-3, n_saves=2).solve(problem)(points)[:, 0]
    errors = [np.abs(Spectral(n=n, dt=1e-3, n_saves=2).solve(problem)(points)[:, 0] - truth).max() for n in (8, 16, 32)]
    ratios = [errors[0] / errors[1], errors[1] / errors[2]]  # measured 288 then 1408
    assert ratios[1] > 2 * ratios[0] > 200, errors  # an algebraic order p would keep them at 2^p
    assert errors[2] < 1e-6


@pytest.mark.parametrize(
    "problem, match",
    [
        (poisson(), "evolution problems"),
        (burgers(), "Periodic conditions on every axis"),
        (Problem(name="var", geometry=Interval(0, 1), time_span=(0, 1), rate=lambda f, p: f.x * f.u_xx,
                 initial_condition=lambda x: torch.sin(2 * math.pi * x[:, 0]), boundary_conditions=(Periodic(0),)),
         "constant-coefficient"),
        (Problem(name="forced", geometry=Interval(0, 1), time_span=(0, 1), rate=lambda f, p: f.u_xx + f.t,
                 initial_condition=lambda x: torch.sin(2 * math.pi * x[:, 0]), boundary_conditions=(Periodic(0),)),
         "autonomous"),
    ],
)
def test_refusals(problem, match):
    with pytest.raises(ValueError, match=match):
        solve(problem, "spectral", n=16, dt=0.1)
