"""Neural operators: FNO learns a Burgers family on CPU, evaluates on finer grids; PINO residuals."""

import math

import numpy as np
import pytest
import torch

from pde_lab import Status, solve
from pde_lab.data import BurgersFamily
from pde_lab.operators import FNO as Network
from pde_lab.operators import SpectralConv, burgers_residual, darcy_residual, vorticity_residual
from pde_lab.solvers.operator import FNO, PINO

# A small Burgers family (ν = 0.1, GRF u0 with 24 modes) and a small FNO: ~10 s on one quiet core.
FAMILY = BurgersFamily(resolution=32, reference_resolution=128, grf_modes=24, dt=5e-3)
SMALL = dict(family=FAMILY, n_train=128, n_test=16, epochs=40, batch_size=16, modes=12, width=24, workers=1,
             progress=False, device="cpu")


def _final_time_error(solution, problem, n=97):
    x = np.linspace(0.0, 1.0, n)[:, None]
    points = np.column_stack([x, np.full_like(x, problem.time_span[1])])
    return solution.error_vs(problem.reference(), points=points)


def test_fno_learns_a_small_burgers_family_and_evaluates_on_a_finer_grid():
    """Measured: test rel L2 0.032 (16 members, 32 points); 6 fresh members: mean 0.046 at 32
    points, 0.051 at 128 points (one of them, with a small final state, 0.17)."""
    state = torch.random.get_rng_state()
    solver = FNO(**SMALL)
    trained = solver.train()
    assert torch.equal(state, torch.random.get_rng_state())
    assert trained.status is Status.CONVERGED, trained.message
    assert trained.stats["test_rel_l2"] < 0.05
    assert trained.history["test_rel_l2"][-1] < 0.2 * trained.history["test_rel_l2"][0]
    problems = [FAMILY.problem(1000 + i) for i in range(6)]  # not among the training or test members
    coarse = [solve(problem, solver) for problem in problems]
    fine = [solve(problem, FNO(**SMALL, resolution=128)) for problem in problems]
    assert coarse[0].stats["grid"] == [32] and fine[0].stats["grid"] == [128]
    assert fine[0].model is coarse[0].model  # one training, cached: the finer grid is inference only
    error_coarse = np.mean([_final_time_error(s, p) for s, p in zip(coarse, problems, strict=True)])
    error_fine = np.mean([_final_time_error(s, p) for s, p in zip(fine, problems, strict=True)])
    assert error_coarse < 0.08 and error_fine < 0.08
    assert abs(error_fine - error_coarse) < 0.25 * error_coarse  # resolution-invariant evaluation
    with pytest.raises(ValueError, match="answers at t"):
        coarse[0](np.array([[0.5, 0.5]]))


def test_a_grid_too_coarse_for_the_modes_uses_the_blocks_kept_modes():
    """On 8 × 8 points, modes (6, 6) keep k = -4..3 and 0..4: the layer equals one built with
    modes (4, 5) from its blocks' corners (the leading rows for k >= 0, the trailing for k < 0)."""
    torch.manual_seed(0)
    layer = SpectralConv(2, 3, (6, 6), dtype=torch.float64)
    kept = SpectralConv(2, 3, (4, 5), dtype=torch.float64)
    with torch.no_grad():
        kept.weights[0].copy_(layer.weights[0][:4, :5])
        kept.weights[1].copy_(layer.weights[1][-4:, :5])
    assert layer.weights[0].shape == (6, 6, 2, 3)  # mode-major: (*modes, in, out)
    x = torch.randn(2, 2, 8, 8, dtype=torch.float64, requires_grad=True)
    torch.testing.assert_close(layer(x), kept(x), rtol=0, atol=1e-14)
    layer(x).square().sum().backward()
    assert layer.weights[1].grad[:2].abs().max() == 0 and layer.weights[1].grad[2:, :5].abs().max() > 0


def test_spectral_convolution_is_discretisation_invariant():
    """For band-limited input, the layer on 64 points equals the layer on 32 points, subsampled."""
    torch.manual_seed(0)
    layer = SpectralConv(2, 3, (6, 5), dtype=torch.float64)
    generator = torch.Generator().manual_seed(1)
    coefficients = torch.randn(2, 2, 5, 5, 2, generator=generator, dtype=torch.float64)

    def field(n):
        x = torch.arange(n, dtype=torch.float64) / n
        out = torch.zeros(2, 2, n, n, dtype=torch.float64)
        for i in range(5):
            for j in range(5):
                phase = 2 * math.pi * (i * x[:, None] + (j - 2) * x[None, :])
                out += coefficients[..., i, j, 0, None, None] * torch.cos(phase)
                out += coefficients[..., i, j, 1, None, None] * torch.sin(phase)
        return out

    coarse, fine = layer(field(32)), layer(field(64))
    torch.testing.assert_close(fine[..., ::2, ::2], coarse, rtol=0, atol=1e-12)
    network = Network(1, 1, (8,), 8, periodic=False, dtype=torch.float64)
    assert network(torch.randn(2, 40, 1, dtype=torch.float64)).shape == (2, 40, 1)


def _burgers_exact(x, t, nu=0.1, a=1.5):
    """Periodic Cole–Hopf solution u = -2ν θ_x/θ, θ = a + exp(-νκ²t) cos κx, κ = 2π."""
    k = 2 * math.pi
    decay = torch.exp(-nu * k * k * t)
    return 2 * nu * k * decay * torch.sin(k * x) / (a + decay * torch.cos(k * x))


def test_pino_burgers_residual_converges_at_order_two_in_time():
    """Spectral x, central t: the residual of an exact solution falls ~4x per halving of Δt."""
    x = torch.arange(64, dtype=torch.float64) / 64
    errors = []
    for n_times in (41, 81, 161):
        t = torch.linspace(0.0, 0.5, n_times, dtype=torch.float64)
        u = _burgers_exact(x[:, None], t[None, :])[None]
        errors.append(burgers_residual(u, 0.1, 1.0, 0.5 / (n_times - 1)).abs().max().item())
    rates = np.log2(np.array(errors[:-1]) / np.array(errors[1:]))
    assert np.all(rates > 1.8), (errors, rates)


def test_pino_darcy_residual_matches_the_pde_at_order_two():
    """-div(a grad u) - f of u = sin(πx) sin(πy), a = 1 + x y² on 17, 33, 65 nodes: rate 2."""
    pi, errors = math.pi, []
    for n in (17, 33, 65):
        axis = torch.linspace(0, 1, n, dtype=torch.float64)
        x, y = torch.meshgrid(axis, axis, indexing="ij")
        a, u = 1 + x * y**2, torch.sin(pi * x) * torch.sin(pi * y)
        f = 2 * pi**2 * a * u - y**2 * pi * torch.cos(pi * x) * torch.sin(pi * y) \
            - 2 * x * y * pi * torch.sin(pi * x) * torch.cos(pi * y)
        errors.append(darcy_residual(u[None], a[None], f[None]).abs().max().item())
    rates = np.log2(np.array(errors[:-1]) / np.array(errors[1:]))
    assert np.all(np.abs(rates - 2) < 0.1), rates


def test_pino_vorticity_residual_vanishes_on_the_reference_solution():
    """Reference snapshots of forced NS (ν = 1e-3, 32²): residual falls ≥2.5x per halving of Δt."""
    from pde_lab.reference.navier_stokes_2d import (
        fno_forcing,
        gaussian_random_field_2d,
        navier_stokes_vorticity_2d,
    )

    w0 = gaussian_random_field_2d(32, 1.0, 2.5, 7.0, math.sqrt(2) * 7**1.5, 0)
    errors = []
    for dt in (0.1, 0.05, 0.025):
        _, w = navier_stokes_vorticity_2d(w0 - w0.mean(), 0.0125, 1.0, np.arange(0, 1 + 1e-9, dt), 1.0, 1e-3,
                                          fno_forcing(32))
        snapshots = torch.as_tensor(np.moveaxis(w, 0, -1))[None]
        errors.append(vorticity_residual(snapshots, 1e-3, 1.0, dt)[..., 1:-1].abs().max().item())
    assert errors[-1] < 0.01 * np.abs(w).max() and errors[0] / errors[1] > 2.5 and errors[1] / errors[2] > 2.5


def test_pino_adds_the_pde_term_and_lowers_the_residual():
    """Same data and budget on a space-time grid (32 x 9): measured mean squared residual 10.8
    (FNO) vs 0.46 (PINO, pde_weight 0.1), test rel L2 0.075 vs 0.13."""
    family = BurgersFamily(resolution=32, reference_resolution=128, grf_modes=12, n_times=9, dt=5e-3)
    settings = dict(family=family, n_train=32, n_test=8, epochs=30, batch_size=4, modes=8, width=16, workers=1,
                    progress=False, device="cpu")
    plain, physics = FNO(**settings).train(), PINO(**settings, pde_weight=0.1).train()
    problem = family.problem(500)
    inputs = torch.as_tensor(np.repeat(family.inputs(problem)[:, None, :], 9, axis=1)[None], dtype=torch.float32)
    residuals = [family.residual(t.predict(inputs), inputs).square().mean().item() for t in (plain, physics)]
    assert residuals[1] < 0.2 * residuals[0]
    assert plain.stats["test_rel_l2"] < 0.15 and physics.stats["test_rel_l2"] < 0.2


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError, match="unknown family"):
        FNO(family="heat").train()
    with pytest.raises(ValueError, match="space-time"):
        PINO(family=FAMILY, workers=1).train()
    with pytest.raises(ValueError, match="not a member"):
        from problems import burgers

        solve(burgers(), FNO(**SMALL))
    with pytest.raises(ValueError, match="learn families of problems"):
        from problems import poisson

        solve(poisson(), "fno")
    with pytest.raises(ValueError, match="epochs"):
        FNO(**{**SMALL, "epochs": 0}).train()


def test_fno_benchmark_fast_keeps_the_contract():
    """All three families run side by side with their reference; ratios are consistent with the rows."""
    from pde_lab.bench import run_benchmark

    record = run_benchmark("fno", fast=True)
    names = [row["name"] for row in record["rows"]]
    assert names == ["burgers-fno", "burgers-reference", "darcy-fno", "darcy-reference",
                     "navier-stokes-fno", "navier-stokes-reference"]
    rows = {row["name"]: row for row in record["rows"]}
    for family in ("burgers", "darcy", "navier_stokes"):
        name = family.replace("_", "-")
        ratio = record["ratios"][f"{family}_reference_wall_over_fno_wall_per_sample"]
        assert ratio == pytest.approx(rows[f"{name}-reference"]["wall_s"] / rows[f"{name}-fno"]["wall_s"])
        assert 0 < rows[f"{name}-fno"]["rel_l2"] < 10
    assert {"darcy_fno_rel_l2_over_target", "navier_stokes_fno_rel_l2_over_target"} <= set(record["ratios"])


def test_speed_benchmark_times_the_bench_architecture_at_each_batch_size():
    """``fno-speed``: the reference row, one FNO row per batch size, ratios consistent with them; the
    network timed is the ``fno`` bench's architecture at the same scale (same parameter count)."""
    from pde_lab.bench import run_benchmark
    from pde_lab.bench.operator_speed import BATCHES, TARGET_SPEED_UP, run
    from pde_lab.bench.operators import SCALES
    from pde_lab.data.families import make_family

    record = run_benchmark("fno-speed", fast=True)
    reference, *passes = record["rows"]
    assert reference["name"] == "navier-stokes-reference" and reference["wall_s"] > 0
    assert [row["batch"] for row in passes] == list(BATCHES["fast"])
    family_options, solver_options = SCALES["fast"]["navier-stokes"]
    family = make_family("navier-stokes", **family_options)
    solver = FNO(family=family, modes=solver_options["modes"], width=solver_options["width"])
    for row in passes:
        network = solver._network(family, *row["channels"])
        assert row["parameters"] == sum(p.numel() * (2 if p.is_complex() else 1) for p in network.parameters())
        assert row["wall_s"] > 0
        ratio = record["ratios"][f"navier_stokes_reference_wall_over_fno_wall_per_sample_batch_{row['batch']}"]
        assert ratio == pytest.approx(reference["wall_s"] / row["wall_s"])
        assert record["ratios"][f"navier_stokes_speed_up_batch_{row['batch']}_over_target"] == pytest.approx(
            ratio / TARGET_SPEED_UP)
    with pytest.raises(ValueError, match="unknown family 'heat'"):
        run(fast=True, family="heat")
