"""Evidence for the 2-D vorticity Navier–Stokes reference."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.integrate import simpson

from pde_lab.reference.navier_stokes_2d import (
    enstrophy,
    fno_forcing,
    gaussian_random_field_2d,
    kinetic_energy,
    navier_stokes_vorticity_2d,
    velocity_from_vorticity,
)
from pde_lab.reference.spectral_2d import dealias_mask_2d, periodic_grid_2d, wavenumbers_2d


def _band_limited(omega: np.ndarray) -> np.ndarray:
    """Project onto the 2/3-rule band, so that the truncation is exactly Galerkin."""
    n = omega.shape[-1]
    return np.fft.irfft2(np.fft.rfft2(omega) * dealias_mask_2d(n), s=(n, n))


def test_taylor_green_vortex_is_exact() -> None:
    """omega = 2 sin x sin y e^{-2 nu t}, u = (sin x cos y, -cos x sin y) e^{-2 nu t}."""
    x, y = periodic_grid_2d(32)
    nu, times = 0.01, np.linspace(0.0, 2.0, 5)
    times, omega = navier_stokes_vorticity_2d(2 * np.sin(x) * np.sin(y), 0.1, 2.0, times, nu=nu)
    decay = np.exp(-2 * nu * times)[:, None, None]
    np.testing.assert_allclose(omega, 2 * np.sin(x) * np.sin(y) * decay, rtol=0, atol=1e-10)
    u, v = velocity_from_vorticity(omega)
    np.testing.assert_allclose(u, np.sin(x) * np.cos(y) * decay, rtol=0, atol=1e-10)
    np.testing.assert_allclose(v, -np.cos(x) * np.sin(y) * decay, rtol=0, atol=1e-10)


def test_forced_taylor_green_is_steady() -> None:
    """f = 2 nu omega_0 balances the viscous decay of omega_0 = 2 sin x sin y exactly."""
    x, y = periodic_grid_2d(32)
    omega0 = 2 * np.sin(x) * np.sin(y)
    nu = 0.05
    _, omega = navier_stokes_vorticity_2d(omega0, 0.05, 3.0, nu=nu, forcing=2 * nu * omega0)
    np.testing.assert_allclose(omega[-1], omega0, rtol=0, atol=1e-10)


def test_time_order_is_four() -> None:
    """Nonlinear case (n = 32, nu = 0.01, t in [0, 1]); measured errors 1.1e-6 .. 2.6e-10,
    slope 4.00, against a dt/8 run."""
    x, y = periodic_grid_2d(32)
    omega0 = 2 * np.sin(x) * np.sin(y) + np.cos(3 * x + y) + 0.5 * np.sin(x - 2 * y)
    steps = np.array([25, 50, 100, 200])
    _, ref = navier_stokes_vorticity_2d(omega0, 1.0 / (8 * steps[-1]), 1.0)
    errors = []
    for m in steps:
        _, omega = navier_stokes_vorticity_2d(omega0, 1.0 / m, 1.0)
        errors.append(np.linalg.norm(omega[-1] - ref[-1]) / np.linalg.norm(ref[-1]))
    slope = np.polyfit(np.log(1.0 / steps), np.log(errors), 1)[0]
    assert abs(slope - 4.0) < 0.3, (slope, errors)


def test_energy_and_enstrophy_decay_with_exact_budget() -> None:
    """Random field (FNO parameters, [0,1)^2, nu = 1e-3, n = 64): E and Z decrease
    monotonically and E(T) - E(0) = -2 nu int Z dt to 1e-6 (measured 7e-10) relative."""
    length, nu = 1.0, 1e-3
    omega0 = _band_limited(gaussian_random_field_2d(64, length, seed=1))
    times, omega = navier_stokes_vorticity_2d(
        omega0, 1e-3, 1.0, np.linspace(0, 1, 101), length=length, nu=nu
    )
    energy, ens = kinetic_energy(omega, length), enstrophy(omega, length)
    assert np.all(np.diff(energy) < 0) and np.all(np.diff(ens) < 0)
    change = energy[-1] - energy[0]
    assert abs(change + 2 * nu * simpson(ens, x=times)) < 1e-6 * abs(change)


def test_forced_energy_budget() -> None:
    """FNO forcing: dE/dt = -2 nu Z + int psi f (measured agreement 2e-10 relative)."""
    n, length, nu = 64, 1.0, 1e-3
    forcing = fno_forcing(n, length)
    omega0 = _band_limited(gaussian_random_field_2d(n, length, seed=3))
    times, omega = navier_stokes_vorticity_2d(
        omega0, 2e-3, 1.0, np.linspace(0, 1, 101), length=length, nu=nu, forcing=forcing
    )
    kx, ky, _, _ = wavenumbers_2d(n, length)
    k2 = np.where(kx**2 + ky**2 == 0, np.inf, kx**2 + ky**2)
    psi = np.fft.irfft2(np.fft.rfft2(omega) / k2, s=(n, n))
    power = length**2 * np.mean(psi * forcing, axis=(-2, -1))
    energy = kinetic_energy(omega, length)
    rate = simpson(-2 * nu * enstrophy(omega, length) + power, x=times)
    assert abs(energy[-1] - energy[0] - rate) < 1e-6 * abs(energy[-1] - energy[0])


def test_velocity_is_divergence_free_and_curl_recovers_vorticity() -> None:
    n = 32
    omega = _band_limited(gaussian_random_field_2d(n, 2 * np.pi, alpha=3.0, tau=2.0, seed=5))
    u, v = velocity_from_vorticity(omega)
    _, _, kx_odd, ky_odd = wavenumbers_2d(n, 2 * np.pi)
    u_hat, v_hat = np.fft.rfft2(u), np.fft.rfft2(v)
    divergence = np.fft.irfft2(1j * kx_odd * u_hat + 1j * ky_odd * v_hat, s=(n, n))
    curl = np.fft.irfft2(1j * kx_odd * v_hat - 1j * ky_odd * u_hat, s=(n, n))
    assert np.max(np.abs(divergence)) < 1e-12
    np.testing.assert_allclose(curl, omega, rtol=0, atol=1e-12)


def test_random_field_is_seeded_zero_mean_with_the_stated_variance() -> None:
    """Var omega(x) = sum_k sigma^2 (|k|^2 + tau^2)^{-alpha}; 200 samples within 5%."""
    n, alpha, tau = 32, 2.5, 7.0
    a = gaussian_random_field_2d(n, seed=11)
    np.testing.assert_array_equal(a, gaussian_random_field_2d(n, seed=11))
    assert not np.allclose(a, gaussian_random_field_2d(n, seed=12))
    assert abs(np.mean(a)) < 1e-15
    k = 2 * np.pi * np.fft.fftfreq(n, d=1.0 / n)
    k2 = (k[:, None] ** 2 + k[None, :] ** 2).ravel()[1:]
    expected = np.sum(tau ** (2 * alpha - 2) * (k2 + tau**2) ** (-alpha))
    samples = [np.mean(gaussian_random_field_2d(n, seed=s) ** 2) for s in range(200)]
    assert abs(np.mean(samples) / expected - 1) < 0.05


def test_validation() -> None:
    x, _ = periodic_grid_2d(16)
    with pytest.raises(ValueError, match="zero mean"):
        navier_stokes_vorticity_2d(1.0 + np.sin(x), 0.1, 1.0)
    with pytest.raises(ValueError, match="forcing"):
        navier_stokes_vorticity_2d(np.sin(x), 0.1, 1.0, forcing=np.zeros((8, 8)))
    with pytest.raises(ValueError, match="nu must be"):
        navier_stokes_vorticity_2d(np.sin(x), 0.1, 1.0, nu=-1.0)
    with pytest.raises(ValueError, match="alpha must be"):
        gaussian_random_field_2d(16, alpha=1.0)
