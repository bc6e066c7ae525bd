r"""Fourier pseudo-spectral references on the periodic square :math:`[0, L)^2`.

Grid :math:`(x_i, y_j) = (iL/n, jL/n)`, arrays indexed ``u[i, j] = u(x_i, y_j)`` (``ij``).
States are carried as ``np.fft.rfft2`` coefficients, shape ``(n, n//2 + 1)``; derivatives are
exact on the trigonometric interpolant (Nyquist modes of odd derivatives set to zero). The
optional 2/3 rule zeroes the nonlinear term at modes with :math:`|m_x| \ge n/3` or
:math:`|m_y| \ge n/3` (Orszag 1971); for a quadratic term and a state inside the kept band this
is the exact Galerkin truncation. Time stepping: ETDRK4
(:mod:`pde_lab.reference.etdrk4`), order 4 in time, spectral in space.

Benchmarks (TENG, Chen et al., ICML 2024, on :math:`[0, 2\pi)^2`, :math:`T = 4`): heat
:math:`u_t = 0.1\Delta u` (:func:`heat_2d`, exact), Allen–Cahn
:math:`u_t = 0.005\Delta u + u - u^3` (:func:`allen_cahn_2d`) and Burgers
:math:`u_t = -u(u_x + u_y) + 0.01\Delta u` (:func:`burgers_2d`). Vorticity Navier–Stokes is in
:mod:`pde_lab.reference.navier_stokes_2d`.

Cost per ETDRK4 step: four nonlinear evaluations of one ``irfft2`` and one ``rfft2`` each
(:math:`O(n^2 \log n)`); e.g. :func:`burgers_2d` at :math:`n = 256`: ~5 ms per step, the TENG
horizon (800 steps of 0.005) in ~4 s on one core.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from pde_lab.reference.etdrk4 import etdrk4_integrate
from pde_lab.validation import check_non_negative, check_positive


def periodic_grid_2d(n: int, length: float = 2 * np.pi) -> tuple[np.ndarray, np.ndarray]:
    """Meshgrid ``(x, y)`` (``ij`` indexing) of ``n x n`` points on ``[0, length)^2``."""
    if int(n) != n or n < 4:
        raise ValueError(f"n must be an integer >= 4, got {n!r}.")
    check_positive("length", length)
    x = length * np.arange(n) / n
    return np.meshgrid(x, x, indexing="ij")


def wavenumbers_2d(n: int, length: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    r"""Angular wavenumbers :math:`2\pi m/L` in ``rfft2`` layout.

    Returns
    -------
    kx, ky : np.ndarray, shapes (n, 1) and (1, n//2 + 1)
        For even derivatives (Laplacian :math:`-(k_x^2 + k_y^2)`).
    kx_odd, ky_odd : np.ndarray
        Same with the Nyquist modes zeroed (even ``n``), for first derivatives.
    """
    periodic_grid_2d(n, length)
    scale = 2 * np.pi / length
    kx = (scale * np.fft.fftfreq(n, d=1.0 / n))[:, None]
    ky = (scale * np.fft.rfftfreq(n, d=1.0 / n))[None, :]
    kx_odd, ky_odd = kx.copy(), ky.copy()
    if n % 2 == 0:
        kx_odd[n // 2, 0] = 0.0
        ky_odd[0, -1] = 0.0
    return kx, ky, kx_odd, ky_odd


def dealias_mask_2d(n: int) -> np.ndarray:
    """2/3-rule mask in ``rfft2`` layout: True where ``|m_x| < n/3`` and ``|m_y| < n/3``."""
    mx = np.abs(np.fft.fftfreq(n, d=1.0 / n))[:, None]
    my = np.fft.rfftfreq(n, d=1.0 / n)[None, :]
    return (mx < n / 3) & (my < n / 3)


def check_square_field(u0: np.ndarray, name: str = "u0") -> np.ndarray:
    """Return ``u0`` as a float array after checking it is finite, square and ``n >= 4``."""
    u0 = np.asarray(u0, dtype=float)
    if u0.ndim != 2 or u0.shape[0] != u0.shape[1] or u0.shape[0] < 4:
        raise ValueError(f"{name} must be a square n x n array with n >= 4, got {u0.shape}.")
    if not np.all(np.isfinite(u0)):
        raise ValueError(f"{name} contains NaN or inf.")
    return u0


def etdrk4_2d(
    u0: np.ndarray,
    linear_symbol: np.ndarray,
    nonlinear: Callable[[np.ndarray], np.ndarray],
    dt: float,
    t_final: float,
    save_times: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    r"""ETDRK4 for a real periodic 2-D PDE :math:`u_t = \mathcal{L}u + \mathcal{N}(u)`.

    Parameters
    ----------
    u0 : np.ndarray, shape (n, n)
        Real initial values on :func:`periodic_grid_2d`.
    linear_symbol : np.ndarray, shape (n, n//2 + 1)
        Fourier symbol of :math:`\mathcal{L}` in ``rfft2`` layout.
    nonlinear : callable
        Maps ``rfft2(u)`` to ``rfft2(N(u))``.
    dt, t_final, save_times
        Step and save schedule (save times multiples of ``dt``).

    Returns
    -------
    times : np.ndarray, shape (n_times,)
    u : np.ndarray, shape (n_times, n, n)
    """
    u0 = check_square_field(u0)
    times, v_hat = etdrk4_integrate(
        np.fft.rfft2(u0), linear_symbol, nonlinear, dt, t_final, save_times
    )
    return times, np.fft.irfft2(v_hat, s=u0.shape, axes=(-2, -1))


def heat_2d(
    u0: np.ndarray,
    length: float = 2 * np.pi,
    diffusivity: float = 0.1,
    save_times: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    r"""Exact solution of the periodic heat equation :math:`u_t = D\Delta u`.

    Each Fourier mode decays exactly: :math:`\hat u_k(t) = \hat u_k(0)\,e^{-D|k|^2 t}`
    (TENG heat benchmark: :math:`D = 0.1` on :math:`[0, 2\pi)^2`). Exact for the trigonometric
    interpolant of ``u0``; cost one FFT pair per save time.

    Parameters
    ----------
    u0 : np.ndarray, shape (n, n)
    length : float, optional
        Side :math:`L` (default :math:`2\pi`).
    diffusivity : float, optional
        :math:`D \ge 0` (default 0.1).
    save_times : np.ndarray, optional
        Output times ``>= 0`` (default ``[0, 1]``); any values, no step size involved.

    Returns
    -------
    times : np.ndarray, shape (n_times,)
    u : np.ndarray, shape (n_times, n, n)
    """
    u0 = check_square_field(u0)
    diffusivity = check_non_negative("diffusivity", diffusivity)
    times = np.array([0.0, 1.0] if save_times is None else save_times, dtype=float)
    if times.ndim != 1 or not np.all(np.isfinite(times)) or np.any(times < 0):
        raise ValueError("save_times must be a 1-D array of finite times >= 0.")
    kx, ky, _, _ = wavenumbers_2d(u0.shape[0], length)
    decay = np.exp(-diffusivity * (kx**2 + ky**2)[None] * times[:, None, None])
    return times, np.fft.irfft2(np.fft.rfft2(u0)[None] * decay, s=u0.shape, axes=(-2, -1))


def burgers_2d(
    u0: np.ndarray,
    dt: float,
    t_final: float,
    save_times: np.ndarray | None = None,
    length: float = 2 * np.pi,
    nu: float = 0.01,
    dealias: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    r"""Scalar 2-D Burgers :math:`u_t = -u(u_x + u_y) + \nu\Delta u`, periodic (TENG setting).

    Split as :math:`L = -\nu|k|^2`, :math:`\hat N = -\tfrac{i}{2}(k_x + k_y)\widehat{u^2}`
    (conservative form of :math:`-u(u_x+u_y)`), 2/3 rule by default; ETDRK4, order 4.
    Exact solution for checks: with :math:`s = x + y` and :math:`a > 1`,
    :math:`u = 2\nu e^{-2\nu t}\sin s\,/\,(a + e^{-2\nu t}\cos s)` (Cole–Hopf of the 1-D
    Burgers equation :math:`w_t + 2ww_s = 2\nu w_{ss}` that :math:`u = w(x+y, t)` satisfies).

    Parameters
    ----------
    u0 : np.ndarray, shape (n, n)
    dt, t_final, save_times
        Step and save schedule (save times multiples of ``dt``).
    length : float, optional
        Side :math:`L` (default :math:`2\pi`).
    nu : float, optional
        Viscosity (default 0.01).
    dealias : bool, optional
        2/3 rule on the nonlinear term (default True).

    Returns
    -------
    times : np.ndarray, shape (n_times,)
    u : np.ndarray, shape (n_times, n, n)
    """
    nu = check_non_negative("nu", nu)
    n = check_square_field(u0).shape[0]
    kx, ky, kx_odd, ky_odd = wavenumbers_2d(n, length)
    factor = -0.5j * (kx_odd + ky_odd) * (dealias_mask_2d(n) if dealias else 1.0)

    def nonlinear(u_hat: np.ndarray) -> np.ndarray:
        u = np.fft.irfft2(u_hat, s=(n, n))
        return factor * np.fft.rfft2(u * u)

    return etdrk4_2d(u0, -nu * (kx**2 + ky**2), nonlinear, dt, t_final, save_times)


def allen_cahn_2d(
    u0: np.ndarray,
    dt: float,
    t_final: float,
    save_times: np.ndarray | None = None,
    length: float = 2 * np.pi,
    diffusion: float = 0.005,
    reaction: float = 1.0,
    dealias: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    r"""2-D Allen–Cahn :math:`u_t = D\Delta u + r(u - u^3)`, periodic (TENG: :math:`D = 0.005`).

    :math:`L = -D|k|^2`, :math:`\hat N = r\,\widehat{(u - u^3)}` with the 2/3 rule by default
    (the TENG data were generated that way; note the 2/3 rule removes only part of the
    aliasing of a cubic). ETDRK4, order 4 in time.

    Parameters
    ----------
    u0 : np.ndarray, shape (n, n)
    dt, t_final, save_times
        Step and save schedule (save times multiples of ``dt``).
    length : float, optional
        Side :math:`L` (default :math:`2\pi`).
    diffusion, reaction : float, optional
        :math:`D` (default 0.005) and :math:`r` (default 1).
    dealias : bool, optional
        2/3 rule on the nonlinear term (default True).

    Returns
    -------
    times : np.ndarray, shape (n_times,)
    u : np.ndarray, shape (n_times, n, n)
    """
    n = check_square_field(u0).shape[0]
    kx, ky, _, _ = wavenumbers_2d(n, length)
    factor = reaction * (dealias_mask_2d(n) if dealias else 1.0)

    def nonlinear(u_hat: np.ndarray) -> np.ndarray:
        u = np.fft.irfft2(u_hat, s=(n, n))
        return factor * np.fft.rfft2(u - u**3)

    return etdrk4_2d(u0, -diffusion * (kx**2 + ky**2), nonlinear, dt, t_final, save_times)
