"""Evidence for the Cole–Hopf Burgers solution and the Dirichlet Burgers reference."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.integrate import quad

from pde_lab.reference.cole_hopf import BURGERS_NU, burgers_cole_hopf, burgers_dirichlet_reference


def _cole_hopf_by_quad(x: float, t: float, nu: float = BURGERS_NU) -> float:
    """The same two integrals by adaptive quadrature, exponent shifted, peaks as breakpoints."""
    width = 2 * np.sqrt(nu * t)

    def exponent(eta: np.ndarray | float) -> np.ndarray | float:
        return -np.cos(np.pi * (x - eta)) / (2 * np.pi * nu) - eta**2 / (4 * nu * t)

    eta = np.linspace(-12 * width, 12 * width, 20001)
    peak = eta[np.argmax(exponent(eta))]
    shift = exponent(peak)
    opts = {
        "points": [peak - width, peak, peak + width],
        "epsabs": 1e-16,
        "epsrel": 1e-13,
        "limit": 500,
    }
    bounds = (-12 * width, 12 * width)
    num = quad(lambda e: np.sin(np.pi * (x - e)) * np.exp(exponent(e) - shift), *bounds, **opts)
    den = quad(lambda e: np.exp(exponent(e) - shift), *bounds, **opts)
    return -num[0] / den[0]


def test_initial_condition_is_exact_and_broadcasting() -> None:
    x = np.linspace(-1, 1, 11)
    u = burgers_cole_hopf(x[:, None], np.array([0.0, 0.5]))
    assert u.shape == (11, 2)
    np.testing.assert_array_equal(u[:, 0], -np.sin(np.pi * x))


@pytest.mark.filterwarnings("ignore::scipy.integrate.IntegrationWarning")
def test_matches_adaptive_quadrature_including_the_shock() -> None:
    """Gauss–Hermite (200 nodes) vs scipy quad: max difference 2e-15 measured, 1e-12 asserted."""
    x = np.array([-0.9, -0.5, -0.1, -0.01, -0.002, 0.0, 0.003, 0.02, 0.3, 0.77, 1.0])
    for t in (0.1, 0.5, 1.0):
        expected = np.array([_cole_hopf_by_quad(xi, t) for xi in x])
        np.testing.assert_allclose(burgers_cole_hopf(x, t), expected, rtol=0, atol=1e-12)


def _fd_residual(X: np.ndarray, T: np.ndarray, h: float) -> np.ndarray:
    """u_t + u u_x - nu u_xx by 4th-order central differences with step h in x and t."""
    first = np.array([1, -8, 0, 8, -1]) / 12
    second = np.array([-1, 16, -30, 16, -1]) / 12
    shifts = np.arange(-2, 3)
    ux = sum(w * burgers_cole_hopf(X + s * h, T) for w, s in zip(first, shifts)) / h
    uxx = sum(w * burgers_cole_hopf(X + s * h, T) for w, s in zip(second, shifts)) / h**2
    ut = sum(w * burgers_cole_hopf(X, T + s * h) for w, s in zip(first, shifts)) / h
    return ut + burgers_cole_hopf(X, T) * ux - BURGERS_NU * uxx


def test_solution_is_odd_and_satisfies_the_pde() -> None:
    """u(-x) = -u(x), u(+-1) = 0, and the finite-difference residual of the PDE away from the
    layer falls like h^4: 2.6e-7, 1.6e-8, 1.0e-9 for h = 4e-3, 2e-3, 1e-3 (|u_t| ~ 1.3)."""
    x = np.linspace(0.2, 0.9, 15)
    np.testing.assert_allclose(burgers_cole_hopf(-x, 0.5), -burgers_cole_hopf(x, 0.5), atol=1e-15)
    np.testing.assert_allclose(burgers_cole_hopf(np.array([-1.0, 1.0]), 0.7), 0.0, atol=1e-15)
    X, T = np.meshgrid(x, np.array([0.2, 0.5, 0.9]), indexing="ij")
    residuals = [np.max(np.abs(_fd_residual(X, T, h))) for h in (2e-3, 1e-3)]
    assert residuals[1] < 1e-8 and residuals[0] / residuals[1] > 10, residuals


def test_dirichlet_reference_matches_cole_hopf() -> None:
    """Defaults (nx = 1024, dt = 5e-4): rel. L2 2.8e-12 / 3.0e-8 / 2.0e-10 at t = 0.25/0.5/1."""
    save_times = np.array([0.0, 0.25, 0.5, 1.0])
    x, times, u = burgers_dirichlet_reference(save_times=save_times)
    assert x[0] == -1.0 and x[-1] == 1.0
    exact = burgers_cole_hopf(x[None, :], times[:, None])
    for i in range(1, 4):
        error = np.linalg.norm(u[i] - exact[i]) / np.linalg.norm(exact[i])
        assert error < 1e-6, (times[i], error)


def test_dirichlet_reference_general_initial_condition() -> None:
    """An asymmetric u0 keeps u(+-1) = 0 and converges spectrally in nx (nu = 0.02)."""

    def u0(x: np.ndarray) -> np.ndarray:
        return -np.sin(np.pi * x) + 0.4 * np.sin(2 * np.pi * x)

    runs = {
        nx: burgers_dirichlet_reference(0.02, nx, 1e-3, 0.5, initial_condition=u0)
        for nx in (64, 128, 256)
    }
    for _, _, u in runs.values():
        np.testing.assert_allclose(u[-1, [0, -1]], 0.0, atol=1e-14)
    fine = runs[256][2][-1]
    errors = [np.max(np.abs(runs[nx][2][-1] - fine[:: 256 // nx])) for nx in (64, 128)]
    assert errors[1] < 1e-9 and errors[0] / errors[1] > 1e3, errors


def test_validation() -> None:
    with pytest.raises(ValueError, match="t must be >= 0"):
        burgers_cole_hopf(0.1, -0.5)
    with pytest.raises(ValueError, match="nu must be"):
        burgers_cole_hopf(0.1, 0.5, nu=0.0)
    with pytest.raises(ValueError, match="finite"):
        burgers_cole_hopf(np.nan, 0.5)
    with pytest.raises(ValueError, match="vanish at x = -1 and x = 1"):
        burgers_dirichlet_reference(nx=32, initial_condition=np.cos)
    with pytest.raises(ValueError, match="not an integer multiple"):
        burgers_dirichlet_reference(nx=32, dt=3e-3, t_final=0.5)
