"""TENG's exponential schemes (etd1, etd2, etdrk4): phi functions, symbols, orders, stiffness, KS's
amplification of stage misfits and the stage tolerance against it, bad input; the cubic time
interpolation of the returned solution."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch

from geometries import Interval, Rectangle
from pde_lab import Dirichlet, Periodic, Problem, solve
from pde_lab.solvers.evolution import relative_misfit
from pde_lab.solvers.exponential_targets import ExponentialTargets, phi_functions
from pde_lab.solvers.obti import OBTI
from pde_lab.solvers.reference.spectral import Spectral
from pde_lab.solvers.teng import TENG
from problems.kuramoto_sivashinsky import kuramoto_sivashinsky
from tests.test_teng import SMALL, heat_1d

#: A small network on 64 points: KS's u0 = -sin(pi x) is fitted to 1.6e-9 in 200 iterations.
KS_SMALL = dict(width=12, hidden_layers=2, points_per_axis=64, fit_iterations=200, subset_sizes=(None,),
                iterations=5, heun_iterations=4, device="cpu", progress=False)


@pytest.fixture(scope="module")
def ks_window():
    """KS (the causal paper's regular setting) to t = 0.02 and its spectral reference."""
    problem = kuramoto_sivashinsky(t_final=0.02)
    return problem, problem.reference()


def _series(z: torch.Tensor, shift: int) -> torch.Tensor:
    """sum_k z^k / (k + shift)!, 60 terms: phi_shift(z) to rounding for |z| <= 3."""
    total, term = torch.zeros_like(z), torch.ones_like(z) / math.factorial(shift)
    for k in range(60):
        total = total + term
        term = term * z / (k + 1 + shift)
    return total


def test_phi_functions_match_series_and_closed_forms():
    """phi_1..phi_3 near 0 (the matrix exponential) and beyond |z| = 2 (closed forms), on and off the real axis."""
    z = torch.tensor([0, 1e-14, -1e-7, 0.3, -0.999, -1.001, 1 + 1j, 0.5j, -1.99, -2.01, -2.5, 2.9j, -1e-3 + 2e-3j],
                     dtype=torch.complex128)
    for k, phi in enumerate(phi_functions(z, 3), start=1):
        assert torch.allclose(phi, _series(z, k), rtol=1e-14, atol=0)
    stiff = torch.tensor([-50.0, -5e6], dtype=torch.complex128)  # KS's highest modes: phi -> -1/z, 1/z^2 ...
    phi1, phi2 = phi_functions(stiff)
    assert torch.allclose(phi1, (torch.exp(stiff) - 1) / stiff, rtol=1e-15)
    assert torch.allclose(phi2, (torch.exp(stiff) - 1 - stiff) / stiff**2, rtol=1e-15)


def test_symbol_is_the_rate_linear_part():
    """For KS, L u = -beta u_xx - gamma u_xxxx: symbol beta k^2 - gamma k^4 on the grid's wavenumbers;
    ``linear`` applies it by FFT (exact on a grid mode)."""
    problem = kuramoto_sivashinsky()
    n = 32
    x = torch.linspace(-1, 1, n + 1, dtype=torch.float64)[:-1, None]
    targets = ExponentialTargets(problem, x, n, dt=1e-3)
    k = np.fft.fftfreq(n, d=2.0 / (2 * np.pi * n))
    expected = 0.5 * k**2 - 0.005 * k**4
    assert np.allclose(targets.symbol.numpy()[0], expected, rtol=1e-10, atol=1e-8 * np.abs(expected).max())
    mode = torch.sin(3 * math.pi * x)
    assert torch.allclose(targets.linear(mode), (0.5 * (3 * math.pi) ** 2 - 0.005 * (3 * math.pi) ** 4) * mode,
                          atol=1e-9)
    assert targets.stiffness == pytest.approx(1e-3 * abs(expected).max())


def test_exponential_schemes_are_exact_for_a_linear_rate():
    """1D heat, dt = 0.25: u_n + dt phi1(dt L) F = e^{dt L} u_n, so etd1 and etd2 follow the exact decay
    to the level of the steps' fits (relative misfits about 5e-7; measured 6.2e-7 at t = 1), where Euler
    at the same step is off by its time error (7.5e-3)."""
    problem = heat_1d(t_final=1.0)
    errors = {}
    for scheme in ("etd1", "etd2", "etdrk4", "euler"):
        solution = solve(problem, TENG(scheme=scheme, dt=0.25, **SMALL))
        errors[scheme] = _final_error(solution)
    assert max(errors["etd1"], errors["etd2"], errors["etdrk4"]) < 2e-6
    assert errors["euler"] > 1e3 * errors["etd1"]


def test_ks_heun_is_unstable_where_etd2_is_accurate(ks_window):
    """KS's -0.005 u_xxxx makes the explicit Heun targets amplify the fit errors at the grid's high
    wavenumbers (measured: 0.17 at t = 0.02); ETD2 at the same step is 6,600x more accurate (2.6e-5)."""
    problem, reference = ks_window
    heun = _final_error(solve(problem, TENG(scheme="heun", dt=1e-3, **KS_SMALL)), reference)
    etd2 = _final_error(solve(problem, TENG(scheme="etd2", dt=1e-3, **KS_SMALL)), reference)
    assert etd2 < 1e-4
    assert heun > 100 * etd2


@pytest.mark.parametrize("scheme, order", [("etd1", 1), ("etd2", 2)])
def test_exponential_orders_on_ks(ks_window, scheme, order):
    """Fitted slope of log error at t = 0.02 against log dt (4e-3, 2e-3, 1e-3) on KS: 1 and 2
    (measured 1.00 and 1.99: 9.8e-3 to 2.4e-3, 4.1e-4 to 2.6e-5), each step's fit far below the time error."""
    problem, reference = ks_window
    steps = np.array([4e-3, 2e-3, 1e-3])
    errors = []
    for dt in steps:
        solution = solve(problem, TENG(scheme=scheme, dt=float(dt), **KS_SMALL))
        errors.append(_final_error(solution, reference))
        assert max(solution.history["step_loss"]) < 1e-11
    slope = np.polyfit(np.log(steps), np.log(errors), 1)[0]
    assert abs(slope - order) < 0.2, (errors, slope)


def test_etdrk4_is_fourth_order_on_ks():
    """KS to t = 0.024: halving dt from 0.012 to 0.006 cuts ETDRK4's final error 10.5x (9.6e-5 to
    9.0e-6; fourth order would be 16x, and at 0.003 the steps' fit errors, ~5e-7, take over), and at
    dt = 0.006 ETDRK4 is 130x more accurate than ETD2 (1.2e-3)."""
    problem = kuramoto_sivashinsky(t_final=0.024)
    reference = problem.reference()
    coarse, fine, etd2 = (_final_error(solve(problem, TENG(scheme=scheme, dt=dt, **KS_SMALL)), reference)
                          for scheme, dt in (("etdrk4", 0.012), ("etdrk4", 0.006), ("etd2", 0.006)))
    assert coarse / fine > 8, (coarse, fine)
    assert etd2 / fine > 50, (etd2, fine)


def test_ks_amplifies_its_unstable_modes():
    """Why TENG's KS stage fits must be tight: a change of u0 in mode 3 (k = 3π, where 0.5k² > 0.005k⁴)
    grows 71x by t = 0.4 on a 64-mode grid (40x on 512), while one in mode 12 decays (1.4e-6)."""
    problem = kuramoto_sivashinsky(t_final=0.4)
    x = np.linspace(-1, 1, 64, endpoint=False)
    spectral = Spectral(n=64, dt=2e-3, n_saves=3)
    base = spectral.solve(problem)
    growth = {}
    for m in (3, 12):
        changed = dataclasses.replace(problem, initial_condition=lambda X, m=m: problem.initial_condition(X)
                                      + 1e-8 * torch.cos(math.pi * m * X[:, 0] + 0.3))
        solution = spectral.solve(changed)
        change = [np.linalg.norm((solution(p) - base(p))[:, 0]) for p in (np.stack([x, np.full_like(x, t)], 1)
                                                                          for t in (0.0, 0.4))]
        growth[m] = change[1] / change[0]
    assert growth[3] > 20 and growth[12] < 1e-3, growth


def test_stage_tolerance_makes_teng_the_exact_fit_scheme_on_ks():
    """KS to t = 0.06, ETDRK4 at dt = 0.004: with every stage fitted to a 1e-8 misfit (``step_tolerance``,
    up to 30 iterations, cutoff 1e-9) TENG's error equals that of ETDRK4 on its grid with exact fits
    (1.2712e-5 against 1.2709e-5); with 5 + 4 iterations at cutoff 1e-6 one stage stops at 4.8e-4 and the
    error is 9x larger (1.2e-4)."""
    problem = kuramoto_sivashinsky(t_final=0.06)
    reference = problem.reference()
    exact_fits = _final_error(Spectral(n=64, dt=0.004, n_saves=16).solve(problem), reference)
    misfits = []
    tight = TENG(scheme="etdrk4", dt=0.004, **dict(KS_SMALL, iterations=30, heun_iterations=30, step_tolerance=1e-8,
                                                  rcond=(1e-9,)))
    original = TENG._stage

    def stage(self, projection, target, vector, iterations):
        out = original(self, projection, target, vector, iterations)
        misfits.append(relative_misfit(out[1], projection.norm(target)))
        return out

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(TENG, "_stage", stage)
        fitted = _final_error(solve(problem, tight), reference)
    loose = _final_error(solve(problem, TENG(scheme="etdrk4", dt=0.004, **KS_SMALL)), reference)
    assert len(misfits) == 4 * 15 and max(misfits) < 1e-6, max(misfits)
    assert abs(fitted / exact_fits - 1) < 0.05, (fitted, exact_fits)
    assert loose > 3 * fitted, (loose, fitted)


def test_obti_takes_the_exponential_targets_too():
    """The targets are shared: OBTI (L-BFGS, 30 iterations per stage) with etd1 on heat at dt = 0.25 is
    limited by its optimizer's misfit, not by the time error that its Euler target adds (measured
    8.9e-4 against 4.4e-3 at t = 0.5)."""
    problem = heat_1d(t_final=0.5)
    options = dict(SMALL, optimizer="lbfgs", iterations=30, heun_iterations=30)
    options.pop("subset_sizes")
    etd = _final_error(solve(problem, OBTI(scheme="etd1", dt=0.25, **options)))
    euler = _final_error(solve(problem, OBTI(scheme="euler", dt=0.25, **options)))
    assert etd < euler / 3


def _final_error(solution, reference=None) -> float:
    """Relative L2 at the final time only, a step time (``reference``: the problem's own by default)."""
    points = solution.problem.evaluation_points()
    return solution.error_vs(reference, points=points[points[:, -1] == points[:, -1].max()])


def _problem(rate, conditions=(Periodic(0),)) -> Problem:
    return Problem(name="bad", geometry=Interval(0.0, 2 * math.pi), time_span=(0.0, 0.1), rate=rate,
                   initial_condition=lambda x: torch.sin(x[:, 0]), boundary_conditions=conditions)


@pytest.mark.parametrize("problem, match", [
    (_problem(lambda f, p: f.u_xx, (Dirichlet(0.0),)), "Periodic conditions on every axis"),
    (_problem(lambda f, p: torch.cos(f.x) * f.u_xx), "constant-coefficient linear part"),
    (_problem(lambda f, p: (1 + f.t) * f.u_xx), "does not change in time"),
])
def test_exponential_schemes_refuse_what_they_cannot_split(problem, match):
    with pytest.raises(ValueError, match=match):
        solve(problem, TENG(scheme="etd2", dt=0.05, **SMALL))


def test_exponential_schemes_in_2d():
    """A 2D periodic linear problem (u_t = 0.1 lap u + u_x, a complex symbol) is exact under etd1 too:
    to within the initial fit of this tiny network (1.9e-4; measured 6.7e-5 at t = 0.5, Euler 6.8e-2)."""
    problem = Problem(name="advection-diffusion-2d", geometry=Rectangle((0.0, 0.0), (2 * math.pi, 2 * math.pi)),
                      time_span=(0.0, 0.5), rate=lambda f, p: 0.1 * f.lap("u") + f.u_x,
                      initial_condition=lambda x: torch.sin(x[:, 0]) * torch.cos(x[:, 1]),
                      boundary_conditions=(Periodic(0), Periodic(1)),
                      exact_solution=lambda xt, p: (torch.sin(xt[:, 0] + xt[:, 2]) * torch.cos(xt[:, 1])
                                                    * torch.exp(-0.2 * xt[:, 2])))
    options = dict(SMALL, points_per_axis=16, width=8)
    solution = solve(problem, TENG(scheme="etd1", dt=0.25, **options))
    assert _final_error(solution) < solution.stats["initial_fit_rel_l2"]
    assert _final_error(solve(problem, TENG(scheme="euler", dt=0.25, **options))) > 100 * _final_error(solution)


def test_benchmark_fast_mode_runs_every_scheme(tmp_path):
    """``pde-lab bench teng-ks --fast``: a row per scheme with its error over time, the ratios, a figure."""
    from pde_lab.bench import draw_figure, run_benchmark
    from pde_lab.bench.teng_stiff import SCHEMES

    record = run_benchmark("teng-ks", fast=True)
    assert [row["name"].split()[0] for row in record["rows"]] == [f"teng-{s}" for s in SCHEMES]
    assert all(row["rel_l2_vs_time"] and row["max_step_loss"] is not None for row in record["rows"])
    assert {"etd2_rel_l2_final_over_etdrk4", "causal_paper_over_etdrk4_rel_l2"} <= set(record["ratios"])
    draw_figure(record, str(tmp_path / "teng_ks.png"))
    assert (tmp_path / "teng_ks.png").stat().st_size > 10_000


def test_time_series_field_interpolates_cubics_exactly():
    """Between step times the field is the cubic through the four nearest step networks (the stencil
    shifted inwards at the ends): a field whose parameters are cubics in t is reproduced at any t;
    with two steps it is the straight line; outside the steps it is NaN."""
    from torch import nn

    from pde_lab.solvers.time_series_field import TimeSeriesField

    class Line(nn.Module):  # u(x) = w x + b: the parameters are the field's coefficients
        def __init__(self):
            super().__init__()
            self.layers = nn.ModuleList([nn.Linear(1, 1)])

        def forward(self, x):
            return self.layers[0](x)

    t0, dt = 0.5, 0.1
    times = t0 + dt * np.arange(7)
    snapshots = torch.tensor([[t**3 - 2 * t, t**2 + 1] for t in times], dtype=torch.float64)  # (weight, bias)
    field = TimeSeriesField(Line().double(), snapshots, t0, dt)
    t = np.array([0.5, 0.53, 0.61, 0.75, 0.8, 1.02, 1.07, 1.1])
    x = np.linspace(-1, 1, len(t))
    expected = (t**3 - 2 * t) * x + t**2 + 1
    assert np.allclose(field(np.column_stack([x, t]))[:, 0], expected, rtol=0, atol=1e-13)
    two = TimeSeriesField(Line().double(), snapshots[:2], t0, dt)
    inside = np.array([[0.3, 0.57]])
    w, b = 0.3 * snapshots[0] + 0.7 * snapshots[1]
    assert two(inside)[0, 0] == pytest.approx(float(w * 0.3 + b), abs=1e-14)
    assert np.isnan(field(np.array([[0.0, 1.2], [0.0, 0.4]]))).all()
