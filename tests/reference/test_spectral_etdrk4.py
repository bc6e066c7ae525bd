"""Numerical evidence for the ETDRK4 integrator and the 1-D Fourier references."""

from __future__ import annotations

import numpy as np
import pytest

from pde_lab.reference.etdrk4 import etdrk4_1d, etdrk4_coefficients, save_step_indices
from pde_lab.reference.spectral_1d import (
    allen_cahn_1d,
    burgers_periodic_1d,
    fourier_wavenumbers,
    kuramoto_sivashinsky_1d,
    periodic_grid,
)

KS_REGULAR = {"alpha": 5.0, "beta": 0.5, "gamma": 0.005}


def _rel_l2(u: np.ndarray, ref: np.ndarray) -> float:
    return float(np.linalg.norm(u - ref) / np.linalg.norm(ref))


def _burgers_exact(x: np.ndarray, t: float, nu: float, a: float) -> np.ndarray:
    """Periodic Cole–Hopf solution u = -2 nu theta_x / theta, theta = a + e^{-nu t} cos x."""
    decay = np.exp(-nu * t)
    return 2 * nu * decay * np.sin(x) / (a + decay * np.cos(x))


def test_contour_coefficients_match_closed_forms() -> None:
    """phi-function weights: contour mean vs the closed form (large |z|) and Taylor (small |z|)."""
    z = np.array([-200.0, -30.0, -3.0, -0.5, 0.7, 2.0])
    c = etdrk4_coefficients(z, dt=1.0)
    e = np.exp(z)
    closed = {
        "q": (np.exp(z / 2) - 1) / z,
        "f1": (-4 - z + e * (4 - 3 * z + z**2)) / z**3,
        "f2": (2 + z + e * (z - 2)) / z**3,
        "f3": (-4 - 3 * z - z**2 + e * (4 - z)) / z**3,
    }
    for name, value in closed.items():
        np.testing.assert_allclose(getattr(c, name), value, rtol=1e-12, err_msg=name)
    # z -> 0 limits: q = 1/2, f1 = 1/6, f2 = 1/6, f3 = 1/6 (Simpson-like weights), no cancellation
    tiny = etdrk4_coefficients(np.array([1e-9, 0.0, -1e-9]), dt=1.0)
    for name, limit in [("q", 0.5), ("f1", 1 / 6), ("f2", 1 / 6), ("f3", 1 / 6)]:
        np.testing.assert_allclose(getattr(tiny, name), limit, rtol=1e-8, err_msg=name)


def test_ks_regular_is_fourth_order_in_time() -> None:
    """Fitted slope of log error vs log dt is 4 +- 0.3 (KS regular, N = 32, t in [0, 0.05]).

    Measured: errors 1.1e-8, 8.6e-10, 5.9e-11, 3.8e-12 for dt = 5e-4 .. 6.25e-5, slope 3.85.
    (For dt >~ 1e-3 the stiff modes give the known ETDRK4 order reduction to ~3.)
    """
    n, t_final = 32, 0.05
    x = periodic_grid(n, 2.0, -1.0)
    u0 = -np.sin(np.pi * x)
    steps = np.array([100, 200, 400, 800])
    _, ref = kuramoto_sivashinsky_1d(
        u0, 2.0, **KS_REGULAR, dt=t_final / (8 * steps[-1]), t_final=t_final
    )
    errors = []
    for m in steps:
        _, u = kuramoto_sivashinsky_1d(u0, 2.0, **KS_REGULAR, dt=t_final / m, t_final=t_final)
        errors.append(_rel_l2(u[-1], ref[-1]))
    slope = np.polyfit(np.log(t_final / steps), np.log(errors), 1)[0]
    assert abs(slope - 4.0) < 0.3, (slope, errors)


def test_linear_only_matches_exact_exponential() -> None:
    """With N = 0 (KS alpha = 0; Allen–Cahn reaction = 0) ETDRK4 equals exp(L t) exactly."""
    n = 64
    x = periodic_grid(n, 2.0, -1.0)
    u0 = np.exp(np.sin(np.pi * x)) - 1.0
    k, _ = fourier_wavenumbers(n, 2.0)
    times = np.array([0.0, 0.1, 0.5, 1.0])
    _, u = kuramoto_sivashinsky_1d(u0, 2.0, 0.0, 0.5, 0.005, 1e-3, 1.0, times)
    symbol = 0.5 * k**2 - 0.005 * k**4
    exact = np.fft.ifft(np.fft.fft(u0)[None] * np.exp(symbol[None] * times[:, None])).real
    assert np.max(np.abs(u - exact)) < 1e-12 * np.max(np.abs(exact))  # modes grow to ~4e4
    _, u = allen_cahn_1d(u0, 2.0, 1e-2, 1.0, times, diffusion=0.05, reaction=0.0)
    exact = np.fft.ifft(np.fft.fft(u0)[None] * np.exp(-0.05 * k**2 * times[:, None])).real
    assert np.max(np.abs(u - exact)) < 1e-12


def test_burgers_periodic_spectral_accuracy() -> None:
    """Error vs the exact Cole–Hopf solution drops exponentially with N (a = 1.1, nu = 0.1).

    Measured at t = 0.5: 3.5e-4 (N=32), 4.6e-8 (N=64), 7e-14 (N=128).
    """
    nu, a, t_final = 0.1, 1.1, 0.5
    errors = []
    for n in (32, 64, 128):
        x = periodic_grid(n, 2 * np.pi)
        _, u = burgers_periodic_1d(_burgers_exact(x, 0.0, nu, a), 2 * np.pi, nu, 1e-3, t_final)
        exact = _burgers_exact(x, t_final, nu, a)
        errors.append(np.max(np.abs(u[-1] - exact)) / np.max(np.abs(exact)))
    assert errors[0] / errors[1] > 1e3
    assert errors[1] / errors[2] > errors[0] / errors[1]
    assert errors[2] < 1e-10


def test_allen_cahn_converges_in_space_and_dealiasing_is_harmless_when_resolved() -> None:
    """Causal-PINN Allen–Cahn at t = 1 against N = 2048 on shared grid points: 1.9e-7 (N=512),
    1.5e-10 (N=1024). (u0 = x^2 cos(pi x) has a periodic kink at x = +-1, so convergence is
    only algebraic early on: 3e-6 at t = 0.25 for N = 512.) KS with and without the 2/3 rule
    agree to 1e-10 when N resolves the solution."""
    solutions = {}
    for n in (512, 1024, 2048):
        x = periodic_grid(n, 2.0, -1.0)
        _, u = allen_cahn_1d(x**2 * np.cos(np.pi * x), 2.0, 1e-3, 1.0)
        solutions[n] = u[-1]
    assert _rel_l2(solutions[512], solutions[2048][::4]) < 1e-6
    assert _rel_l2(solutions[1024], solutions[2048][::2]) < 1e-9

    x = periodic_grid(128, 2.0, -1.0)
    args = (-np.sin(np.pi * x), 2.0, *KS_REGULAR.values(), 1e-4, 0.1)
    _, plain = kuramoto_sivashinsky_1d(*args)
    _, dealiased = kuramoto_sivashinsky_1d(*args, dealias=True)
    assert _rel_l2(dealiased[-1], plain[-1]) < 1e-10


def test_save_times_are_hit_exactly() -> None:
    """Snapshots at save times equal separate runs to those times (no interpolation)."""
    x = periodic_grid(32, 2 * np.pi)
    u0 = _burgers_exact(x, 0.0, 0.1, 1.5)
    times, u = burgers_periodic_1d(u0, 2 * np.pi, 0.1, 0.01, 0.3, np.array([0.0, 0.1, 0.3]))
    _, single = burgers_periodic_1d(u0, 2 * np.pi, 0.1, 0.01, 0.1)
    np.testing.assert_array_equal(times, [0.0, 0.1, 0.3])
    np.testing.assert_allclose(u[0], u0, rtol=0, atol=1e-15)
    np.testing.assert_allclose(u[1], single[-1], rtol=0, atol=1e-15)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"dt": 0.0}, "dt must be"),
        ({"dt": np.nan}, "dt must be"),
        ({"dt": 0.03}, "not an integer multiple of dt"),
        ({"save_times": np.array([0.0, 0.05, 0.125])}, "not an integer multiple"),
        ({"save_times": np.array([0.1, 0.0])}, "non-decreasing"),
        ({"save_times": np.array([0.0, 2.0])}, r"must lie in \[0, t_final"),
        ({"t_final": -1.0}, "t_final must be"),
    ],
)
def test_time_grid_validation(kwargs: dict, message: str) -> None:
    args = {"dt": 0.01, "t_final": 1.0, "save_times": None} | kwargs
    with pytest.raises(ValueError, match=message):
        save_step_indices(**args)


def test_input_validation() -> None:
    x = periodic_grid(16, 2 * np.pi)
    u0 = np.sin(x)
    symbol = -(fourier_wavenumbers(16, 2 * np.pi)[0] ** 2)
    zero = np.zeros_like
    with pytest.raises(ValueError, match="at least 4"):
        etdrk4_1d(np.ones(3), np.ones(3), zero, 0.1, 1.0)
    with pytest.raises(ValueError, match="linear_symbol shape"):
        etdrk4_1d(u0, symbol[:8], zero, 0.1, 1.0)
    with pytest.raises(ValueError, match="NaN or inf"):
        etdrk4_1d(np.where(x > 1, np.nan, u0), symbol, zero, 0.1, 1.0)
    with pytest.raises(ValueError, match="nonlinear returned shape"):
        etdrk4_1d(u0, symbol, lambda v: v[:4], 0.1, 1.0)
    with pytest.raises(ValueError, match="integer >= 4"):
        periodic_grid(2, 1.0)
    with pytest.raises(ValueError, match="nu must be"):
        burgers_periodic_1d(u0, 2 * np.pi, -1.0, 0.1, 1.0)


def test_blow_up_is_reported() -> None:
    """A step far beyond the explicit stability limit raises FloatingPointError with advice."""
    x = periodic_grid(64, 2 * np.pi)
    with np.errstate(all="ignore"), pytest.raises(FloatingPointError, match="reduce dt"):
        burgers_periodic_1d(50 * np.sin(x), 2 * np.pi, 0.0, 1.0, 200.0)


@pytest.mark.slow
def test_causal_pinn_presets_are_converged_in_time() -> None:
    """Presets at the published dt = 1e-5 vs dt = 1e-4 (~1.5 min): chaotic KS differs by 1.0e-7."""
    from pde_lab.reference.spectral_1d import (
        allen_cahn_reference,
        ks_chaotic_reference,
        ks_regular_reference,
    )

    for preset in (ks_regular_reference, ks_chaotic_reference, allen_cahn_reference):
        x, times, fine = preset()
        _, _, coarse = preset(dt=1e-4)
        assert fine.shape == (times.size, x.size)
        assert _rel_l2(coarse, fine) < 1e-6, preset.__name__
