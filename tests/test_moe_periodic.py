"""hc-moe on periodic grids: spectral derivatives, the stream function, and the unforced
Navier–Stokes benchmark of Chalapathi et al. (problems.vorticity_decay)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from pde_lab import solve
from pde_lab.hard_constraints import Experts, LMOptions, SpaceTimeGrid
from problems import heat
from problems.vorticity_decay import vorticity_decay


def _trig(points: np.ndarray) -> np.ndarray:
    x, y, t = points.T
    return np.sin(2 * np.pi * x) * np.cos(4 * np.pi * y) * (1 + t) + np.cos(2 * np.pi * y)


def test_periodic_axes_leave_out_the_end_point_and_differentiate_trigonometric_fields_exactly():
    grid = SpaceTimeGrid(vorticity_decay(t_final=1.0), (12, 10, 7))
    assert grid.periodic == (True, True, False)
    assert np.allclose(grid.axes[0], np.arange(12) / 12) and grid.axes[2][-1] == 1.0
    points = grid.points()
    values = torch.as_tensor(_trig(points))[None, :, None]
    jets = grid.jets(values, [(0,), (1,), (2,), (0, 0), (0, 1), (1, 1)])
    x, y, t = points.T
    s, c, two = np.sin(2 * np.pi * x), np.cos(4 * np.pi * y), 2 * np.pi
    exact = {(0,): two * np.cos(two * x) * c * (1 + t), (1,): -2 * two * s * np.sin(2 * two * y) * (1 + t)
             - two * np.sin(two * y), (2,): s * c, (0, 0): -two**2 * s * c * (1 + t),
             (0, 1): -2 * two**2 * np.cos(two * x) * np.sin(2 * two * y) * (1 + t),
             (1, 1): -4 * two**2 * s * c * (1 + t) - two**2 * np.cos(two * y)}
    for axes, value in exact.items():  # linear in t: central differences are exact too
        assert np.allclose(jets[axes][0, :, 0].numpy(), value, atol=1e-9), axes


def test_the_stream_function_solves_minus_laplacian_psi_equals_w_with_zero_mean():
    grid = SpaceTimeGrid(vorticity_decay(t_final=1.0), (16, 16, 5))
    x, y, t = grid.points().T
    w = 3 * np.sin(2 * np.pi * x) * np.sin(4 * np.pi * y) * np.exp(-t) + 0.7  # the mean is dropped
    psi = grid.stream_function(torch.as_tensor(w)[None, :, None])[0, :, 0].numpy()
    assert np.allclose(psi, (w - 0.7) / (4 * np.pi**2 * 5), atol=1e-12)


def test_interpolation_wraps_around_periodic_axes():
    grid = SpaceTimeGrid(vorticity_decay(t_final=1.0), (8, 8, 5))
    points = grid.points()
    values = np.stack([np.cos(2 * np.pi * points[:, 0]), points[:, 2]], axis=1)
    query = np.array([[0.97, 0.3, 0.4], [1.25, -0.5, 0.6]])  # beyond the last node; outside [0, 1)
    out = grid.interpolate(values, query)
    last, first = np.cos(2 * np.pi * 7 / 8), 1.0
    assert np.isclose(out[0, 0], last + (0.97 - 7 / 8) * 8 * (first - last))
    assert np.isclose(out[1, 0], np.cos(2 * np.pi * 0.25)) and np.allclose(out[:, 1], query[:, 2])


def test_the_problem_data_is_a_zero_mean_field_with_its_stream_function():
    problem = vorticity_decay(seed=3)
    x = torch.rand(200, 2, dtype=torch.float64, requires_grad=True)
    w, psi = problem.initial_condition(x).unbind(1)
    assert abs(float(problem.initial_condition(torch.rand(20000, 2, dtype=torch.float64))[:, 0].mean())) < 0.05
    (grad,) = torch.autograd.grad(psi.sum(), x, create_graph=True)
    laplacian = sum(torch.autograd.grad(grad[:, i].sum(), x, retain_graph=True)[0][:, i] for i in range(2))
    assert torch.allclose(laplacian + w, torch.zeros_like(w), atol=1e-10)
    assert not np.allclose(w.detach().numpy(), vorticity_decay(seed=4).initial_condition(x)[:, 0].detach().numpy())
    with pytest.raises(ValueError, match="length_scale"):
        vorticity_decay(length_scale=0.0)


def test_the_reference_is_converged_in_space_on_its_128_grid(monkeypatch):
    """ν = 1e-4 up to T = 1: the 64² and 128² references agree to 1e-4 (at T = 5 to 5.7e-3; 128² vs 256²: 2.7e-5)."""
    import importlib

    module = importlib.import_module("problems.vorticity_decay")  # the package re-exports the function by this name

    problem = vorticity_decay(t_final=1.0)
    points = problem.evaluation_points(33)
    fine = problem.reference()
    assert fine.status.ok and fine.stats["grid"] == [128, 128]
    monkeypatch.setattr(module, "REFERENCE_GRID", 64)
    coarse = vorticity_decay(t_final=1.0).reference()
    difference = fine.error_vs(coarse, points=points, field="w")
    assert difference < 1e-4, difference
    start, end = (fine(points[points[:, 2] == t])[:, 0] for t in (0.0, 1.0))
    assert np.linalg.norm(end - start) > 0.05 * np.linalg.norm(start)  # the flow moves


def test_a_basis_holding_the_reference_gives_it_back_through_the_nonlinear_solve():
    """Each expert's stream function comes from its own b·ω; the transport is quadratic in ω,
    so Levenberg–Marquardt iterates. With the members' reference solutions among the basis
    functions the solve returns the member's column (at boundary weight 100: 7e-6 on 32² x 33)."""
    members = [vorticity_decay(seed=s, t_final=2.0) for s in range(3)]
    experts = Experts(members[0], (16, 16, 9), (2, 2, 1))
    columns = torch.as_tensor(np.stack([m.reference()(experts.points)[:, 0] for m in members], 1))[None]
    basis = torch.cat([columns, 0.1 * torch.randn(1, columns.shape[1], 3, dtype=torch.float64,
                                                  generator=torch.Generator().manual_seed(0))], dim=-1)
    info: dict = {}
    omega = experts.solve_weights(members[:1], experts.jets(basis), [experts.linear_rows(members[0], torch.float64)],
                                  400, torch.Generator().manual_seed(0), LMOptions(50, 1e-7), 100.0, 0.0, info)
    field = (basis[0] * experts.node_weights(omega)[0]).sum(-1)
    assert info["iterations"] > 1  # nonlinear
    assert float((field - columns[0, :, 0]).norm() / columns[0, :, 0].norm()) < 1e-3
    assert torch.allclose(omega[0, :, 0], torch.ones(4, dtype=torch.float64), atol=1e-3)


def test_hc_moe_runs_the_periodic_heat_equation_and_the_vorticity_problem():
    tiny = dict(grid=(8, 8, 5), basis=4, experts=(2, 1, 1), constraint_points=20, batch=1, steps=2,
                train_instances=1, width=4, depth=1, modes=(2, 2, 2), progress=False)
    for problem in (heat(), vorticity_decay(t_final=1.0)):
        solution = solve(problem, "hc-moe", **tiny)
        values = solution(problem.evaluation_points(9))
        assert values.shape[1] == len(problem.fields) and np.all(np.isfinite(values))
    assert math.isfinite(solution.stats["final_loss"])


def test_navier_stokes_benchmark_fast_mode_reports_the_three_methods():
    from pde_lab.bench.moe_ns import run

    record = run(fast=True)
    assert [row["name"] for row in record["rows"]] == ["pi-hc-moe", "pi-hc", "pi-sc", "w(t) = w0"]
    assert 0.01 < record["rows"][-1]["rel_l2"] < 1  # the flow moves, and w0 is not unrelated to w(t)
    for row in record["rows"][:3]:
        assert np.isfinite(row["rel_l2"]) and row["step_s"] > 0
    assert record["ratios"]["global_step_s_over_moe_step_s"] > 0


def test_step_timing_benchmark_gives_the_global_constraint_k_times_the_rows_of_an_expert():
    from pde_lab.bench.moe_ns import steps

    record = steps(fast=True)
    moe, hc = record["rows"]
    assert (moe["name"], hc["name"]) == ("pi-hc-moe, m = 20", "pi-hc-global, m = 20")
    assert (moe["constraint_rows"], hc["constraint_rows"]) == (20, 80)  # K = 4 experts of m rows each
    assert moe["iterations"] == hc["iterations"] == 2 and moe["mean_lm_iterations"] > 0 < hc["mean_lm_iterations"]
    assert record["ratios"]["global_step_s_over_moe_step_s_m_20"] == pytest.approx(hc["step_s"] / moe["step_s"])
    for row in (moe, hc):  # two runs each (MoE, global, global, MoE), averaged
        assert len(row["step_s_runs"]) == 2 and row["step_s"] == pytest.approx(sum(row["step_s_runs"]) / 2)


def test_exact_initial_builds_the_initial_data_in_and_drops_its_rows():
    problem = vorticity_decay(seed=2, t_final=1.0)
    plain, embedded = Experts(problem, (8, 8, 5), (2, 2, 1)), Experts(problem, (8, 8, 5), (2, 2, 1), exact_initial=True)
    assert len(plain.linear_rows(problem, torch.float64)["nodes"]) == 64  # the initial rows, nothing on a torus
    rows = embedded.linear_rows(problem, torch.float64)
    assert len(rows["nodes"]) == 0
    basis = torch.randn(1, len(embedded.points), 3, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    omega = torch.randn(1, 4, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    field = (embedded.embed(basis, [rows]) * embedded.node_weights(omega)).sum(-1)[0]
    initial = np.isclose(embedded.points[:, 2], 0.0)
    w0 = problem.initial_condition(torch.as_tensor(embedded.points[initial, :2]))[:, 0]
    assert torch.allclose(field[initial], w0, atol=1e-13)
    other = (embedded.embed(basis, [rows]) * embedded.node_weights(2 * omega)).sum(-1)[0]
    assert torch.allclose(other[initial], w0, atol=1e-13) and not torch.allclose(other[~initial], field[~initial])
    solution = solve(problem, "hc-moe", grid=(8, 8, 5), basis=3, experts=(2, 2, 1), constraint_points=20, batch=1,
                     steps=2, train_instances=1, width=4, depth=1, modes=(2, 2, 2), exact_initial=True, progress=False)
    assert solution.history["boundary"][-1] == 0.0
    start = np.column_stack([embedded.points[initial, :2], np.zeros(int(initial.sum()))])
    assert np.allclose(solution(start)[:, 0], w0.numpy() - w0.numpy().mean(), atol=1e-12)  # zero-mean vorticity
