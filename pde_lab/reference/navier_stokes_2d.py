r"""Incompressible 2-D Navier–Stokes in vorticity form on the periodic square :math:`[0, L)^2`.

.. math::

   \omega_t + \mathbf{u}\cdot\nabla\omega = \nu\Delta\omega + f, \qquad
   \mathbf{u} = \nabla^\perp\psi = (\psi_y, -\psi_x), \qquad -\Delta\psi = \omega.

Fourier pseudo-spectral in space (2/3 rule), ETDRK4 in time (order 4; the viscous term is
integrated exactly): :math:`L = -\nu|k|^2`,
:math:`\hat N = -i k_x \widehat{u\omega} - i k_y \widehat{v\omega} + \hat f`, using
:math:`\mathbf u\cdot\nabla\omega = \nabla\cdot(\mathbf u\omega)`. With the 2/3 rule and a
vorticity inside the kept band this is the Galerkin truncation, which conserves the energy
budget :math:`dE/dt = -2\nu Z` (unforced) exactly in semi-discrete form.

Settings in the literature: Causal PINN (Wang et al. 2022), :math:`[0, 2\pi)^2`,
:math:`\nu = 0.01`; FNO (Li et al., ICLR 2021), :math:`[0, 1)^2`, :math:`\nu = 10^{-3}`,
forcing :func:`fno_forcing`, initial vorticity from a Gaussian random field
(:func:`gaussian_random_field_2d`, :math:`\alpha = 2.5`, :math:`\tau = 7`).

Cost per step: four nonlinear evaluations, each three ``irfft2`` and two ``rfft2`` of size
:math:`n^2`: ~2 ms per step at :math:`n = 128`, ~10 ms at :math:`n = 256` (one core).
"""

from __future__ import annotations

import numpy as np

from pde_lab.reference.spectral_2d import (
    check_square_field,
    dealias_mask_2d,
    etdrk4_2d,
    periodic_grid_2d,
    wavenumbers_2d,
)
from pde_lab.validation import check_non_negative


def _streamfunction_hat(omega_hat: np.ndarray, k2: np.ndarray) -> np.ndarray:
    """:math:`\\hat\\psi = \\hat\\omega/|k|^2`, zero mean mode."""
    safe = np.where(k2 == 0, 1.0, k2)
    return np.where(k2 == 0, 0.0, omega_hat / safe)


def stream_function(omega: np.ndarray, length: float = 2 * np.pi) -> np.ndarray:
    r"""Zero-mean :math:`\psi` with :math:`-\Delta\psi = \omega` for ``omega (..., n, n)`` on the periodic grid."""
    omega = np.asarray(omega, dtype=float)
    n = omega.shape[-1]
    kx, ky, _, _ = wavenumbers_2d(n, length)
    return np.fft.irfft2(_streamfunction_hat(np.fft.rfft2(omega), kx**2 + ky**2), s=(n, n))


def velocity_from_vorticity(
    omega: np.ndarray, length: float = 2 * np.pi
) -> tuple[np.ndarray, np.ndarray]:
    r"""Velocity :math:`(u, v) = (\psi_y, -\psi_x)` with :math:`-\Delta\psi = \omega`.

    Parameters
    ----------
    omega : np.ndarray, shape (..., n, n)
        Vorticity on :func:`~pde_lab.reference.spectral_2d.periodic_grid_2d`; leading axes
        (e.g. snapshots) are kept. Its mean is ignored (a periodic velocity has zero-mean curl).
    length : float, optional
        Side :math:`L` (default :math:`2\pi`).

    Returns
    -------
    u, v : np.ndarray
        Same shape as ``omega``; the velocity has zero mean.
    """
    omega = np.asarray(omega, dtype=float)
    n = omega.shape[-1]
    kx, ky, kx_odd, ky_odd = wavenumbers_2d(n, length)
    psi_hat = _streamfunction_hat(np.fft.rfft2(omega), kx**2 + ky**2)
    u = np.fft.irfft2(1j * ky_odd * psi_hat, s=(n, n))
    v = np.fft.irfft2(-1j * kx_odd * psi_hat, s=(n, n))
    return u, v


def kinetic_energy(omega: np.ndarray, length: float = 2 * np.pi) -> np.ndarray:
    r"""Kinetic energy :math:`E = \tfrac12\int |\mathbf u|^2\,dx` of vorticity (..., n, n)."""
    u, v = velocity_from_vorticity(omega, length)
    return 0.5 * length**2 * np.mean(u**2 + v**2, axis=(-2, -1))


def enstrophy(omega: np.ndarray, length: float = 2 * np.pi) -> np.ndarray:
    r"""Enstrophy :math:`Z = \tfrac12\int \omega^2\,dx` of vorticity fields (..., n, n)."""
    return 0.5 * length**2 * np.mean(np.asarray(omega) ** 2, axis=(-2, -1))


def navier_stokes_vorticity_2d(
    omega0: np.ndarray,
    dt: float,
    t_final: float,
    save_times: np.ndarray | None = None,
    length: float = 2 * np.pi,
    nu: float = 1e-2,
    forcing: np.ndarray | None = None,
    dealias: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    r"""Solve the vorticity equation (module docstring) with Fourier + ETDRK4.

    Exact solution for checks: the Taylor–Green vortex
    :math:`\omega = 2\sin x\sin y\,e^{-2\nu t}` on :math:`[0, 2\pi)^2` (there
    :math:`\psi = \omega/2`, so :math:`\mathbf u\cdot\nabla\omega = 0`).

    Parameters
    ----------
    omega0 : np.ndarray, shape (n, n)
        Initial vorticity on :func:`~pde_lab.reference.spectral_2d.periodic_grid_2d`; must have
        zero mean (to 1e-10 relative).
    dt, t_final, save_times
        Step and save schedule (save times multiples of ``dt``). Explicit part: keep
        :math:`\Delta t\,\max|\mathbf u|\, k_{max} \lesssim 1`.
    length : float, optional
        Side :math:`L` (default :math:`2\pi`).
    nu : float, optional
        Viscosity (default 1e-2; the FNO data use 1e-3 on :math:`[0, 1)^2`).
    forcing : np.ndarray, shape (n, n), optional
        Time-independent forcing :math:`f` on the grid, e.g. :func:`fno_forcing`.
    dealias : bool, optional
        2/3 rule on the nonlinear term (default True).

    Returns
    -------
    times : np.ndarray, shape (n_times,)
    omega : np.ndarray, shape (n_times, n, n)
        Vorticity snapshots; velocities follow from :func:`velocity_from_vorticity`.
    """
    omega0 = check_square_field(omega0, "omega0")
    nu = check_non_negative("nu", nu)
    scale = np.max(np.abs(omega0))
    if abs(np.mean(omega0)) > 1e-10 * max(scale, 1e-300):
        raise ValueError(
            f"omega0 has mean {np.mean(omega0):.3e}; a periodic vorticity has zero mean, "
            "subtract it first."
        )
    n = omega0.shape[0]
    forcing_hat = 0.0
    if forcing is not None:
        forcing_hat = np.fft.rfft2(check_square_field(forcing, "forcing"))
        if forcing_hat.shape != (n, n // 2 + 1):
            raise ValueError(f"forcing shape {np.shape(forcing)} != omega0 shape {omega0.shape}.")
    kx, ky, kx_odd, ky_odd = wavenumbers_2d(n, length)
    k2 = kx**2 + ky**2
    mask = dealias_mask_2d(n) if dealias else 1.0
    grad_x, grad_y = -1j * kx_odd * mask, -1j * ky_odd * mask

    def nonlinear(omega_hat: np.ndarray) -> np.ndarray:
        psi_hat = _streamfunction_hat(omega_hat, k2)
        u = np.fft.irfft2(1j * ky_odd * psi_hat, s=(n, n))
        v = np.fft.irfft2(-1j * kx_odd * psi_hat, s=(n, n))
        omega = np.fft.irfft2(omega_hat, s=(n, n))
        return grad_x * np.fft.rfft2(u * omega) + grad_y * np.fft.rfft2(v * omega) + forcing_hat

    return etdrk4_2d(omega0, -nu * k2, nonlinear, dt, t_final, save_times)


def fno_forcing(n: int, length: float = 1.0) -> np.ndarray:
    r"""FNO forcing :math:`f = 0.1(\sin(2\pi(x+y)/L) + \cos(2\pi(x+y)/L))` on the n x n grid."""
    x, y = periodic_grid_2d(n, length)
    phase = 2 * np.pi * (x + y) / length
    return 0.1 * (np.sin(phase) + np.cos(phase))


def gaussian_random_field_2d(
    n: int,
    length: float = 1.0,
    alpha: float = 2.5,
    tau: float = 7.0,
    sigma: float | None = None,
    seed: int = 0,
) -> np.ndarray:
    r"""Zero-mean periodic Gaussian random field, seeded, on the n x n grid of ``[0, L)^2``.

    Covariance operator :math:`\sigma^2(\tau^2 - \Delta)^{-\alpha}`: the Fourier coefficients
    (``u = sum_k c_k exp(i k.x)``) are independent up to :math:`c_{-k} = \bar c_k`, with
    :math:`\mathbb E|c_k|^2 = \sigma^2 (|k|^2 + \tau^2)^{-\alpha}`, :math:`k = 2\pi m/L`,
    :math:`c_0 = 0`; they are drawn by filtering white noise from
    ``np.random.default_rng(seed)``, so the field is real and its statistics do not depend on
    ``n`` (beyond the truncation :math:`|m| \le n/2`). Default :math:`\sigma = \tau^{\alpha-1}`
    and :math:`\alpha = 2.5`, :math:`\tau = 7` on :math:`[0, 1)^2` are the FNO data-generator
    parameters (Li et al. 2021); by our reading, its sampler (real part of a complex sum) has
    :math:`\mathbb E|c_k|^2 = 2\sigma^2(\dots)^{-\alpha}`, so pass
    ``sigma=np.sqrt(2) * tau ** (alpha - 1)`` to match its amplitude in distribution (samples
    cannot match: different random streams). Smoothness grows with :math:`\alpha`: samples lie
    in :math:`H^s` for :math:`s < \alpha - 1`.

    Parameters
    ----------
    n : int
        Grid size (n x n).
    length : float, optional
        Side :math:`L` (default 1).
    alpha, tau : float, optional
        Decay exponent (> 1) and inverse length scale (>= 0).
    sigma : float, optional
        Amplitude (default :math:`\tau^{\alpha-1}`).
    seed : int, optional
        Seed for ``np.random.default_rng``.

    Returns
    -------
    np.ndarray, shape (n, n)
    """
    if not np.isfinite(alpha) or alpha <= 1:
        raise ValueError(f"alpha must be > 1, got {alpha!r}.")
    tau = check_non_negative("tau", tau)
    sigma = tau ** (alpha - 1) if sigma is None else sigma
    kx, ky, _, _ = wavenumbers_2d(n, length)
    k2 = kx**2 + ky**2
    amplitude = sigma * np.where(k2 == 0, 0.0, (k2 + tau**2 + (k2 == 0)) ** (-alpha / 2))
    noise = np.random.default_rng(seed).standard_normal((n, n))
    return np.fft.irfft2(amplitude * np.fft.rfft2(noise, norm="ortho"), s=(n, n), norm="forward")
