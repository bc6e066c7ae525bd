r"""Kassam–Trefethen ETDRK4 for stiff semilinear PDEs in Fourier space.

A. K. Kassam and L. N. Trefethen, "Fourth-order time-stepping for stiff PDEs",
SIAM J. Sci. Comput. 26 (2005) 1214–1233; S. M. Cox and P. C. Matthews,
J. Comput. Phys. 176 (2002) 430–455.

After a spatial Fourier transform a semilinear PDE :math:`u_t = \mathcal{L} u + \mathcal{N}(u)`
becomes the ODE system

.. math:: \hat v_t = L \odot \hat v + \hat N(\hat v),

with a diagonal linear symbol :math:`L` (one number per Fourier mode). The exponential
time-differencing Runge–Kutta scheme of order four (ETDRK4, Cox–Matthews) integrates the
linear part exactly and advances with step :math:`h`:

.. math::

   a &= e^{hL/2} \hat v_n + Q\, \hat N(\hat v_n), \qquad
   b = e^{hL/2} \hat v_n + Q\, \hat N(a), \\
   c &= e^{hL/2} a + Q\, (2\hat N(b) - \hat N(\hat v_n)), \\
   \hat v_{n+1} &= e^{hL} \hat v_n + f_1 \hat N(\hat v_n)
       + 2 f_2 (\hat N(a) + \hat N(b)) + f_3 \hat N(c),

with :math:`Q = h\,\frac{e^{z/2}-1}{z}`, :math:`f_1 = h\,\frac{-4-z+e^z(4-3z+z^2)}{z^3}`,
:math:`f_2 = h\,\frac{2+z+e^z(z-2)}{z^3}`, :math:`f_3 = h\,\frac{-4-3z-z^2+e^z(4-z)}{z^3}`
and :math:`z = hL`. These suffer from cancellation for small :math:`|z|`, so each is evaluated
by the Kassam–Trefethen contour integral: the mean of the function over ``n_contour`` points
:math:`z + e^{2\pi i (j - 1/2)/M}` on the unit circle around :math:`z` (trapezoid rule of the
Cauchy integral, exponentially accurate; complex mean, real part kept for a real symbol).

The integrator is shape-agnostic: ``linear_symbol`` and the state may be 1-D (``fft``),
2-D (``rfft2``) or anything else, as long as ``nonlinear`` maps a state to an array of the
same shape. The 1-D equations (Kuramoto–Sivashinsky, Allen–Cahn, Burgers) live in
:mod:`pde_lab.reference.spectral_1d`, the 2-D ones in :mod:`pde_lab.reference.spectral_2d`.

Cost: four evaluations of :math:`\hat N` per step (each typically one inverse and one forward
FFT, :math:`O(N\log N)`) plus ~20 vector operations; the coefficients cost
:math:`O(M N)` once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from pde_lab.validation import check_non_negative, check_positive

#: Relative tolerance used to decide whether a save time is an integer multiple of ``dt``.
SAVE_TIME_RTOL: float = 1e-9

_CONTOUR_CHUNK = 8192


@dataclass(frozen=True)
class Etdrk4Coefficients:
    """ETDRK4 coefficient arrays for one step size (shapes equal the linear symbol's).

    Attributes
    ----------
    exp_full, exp_half : np.ndarray
        :math:`e^{hL}` and :math:`e^{hL/2}`.
    q, f1, f2, f3 : np.ndarray
        The stage and update weights defined in the module docstring (already times ``h``).
    dt : float
        The step size :math:`h` they were computed for.
    """

    exp_full: np.ndarray
    exp_half: np.ndarray
    q: np.ndarray
    f1: np.ndarray
    f2: np.ndarray
    f3: np.ndarray
    dt: float


def etdrk4_coefficients(
    linear_symbol: np.ndarray, dt: float, n_contour: int = 64
) -> Etdrk4Coefficients:
    r"""Compute the ETDRK4 weights for ``linear_symbol`` and step ``dt``.

    Parameters
    ----------
    linear_symbol : np.ndarray
        Diagonal linear operator :math:`L` in Fourier space, any shape, real or complex.
    dt : float
        Step size :math:`h > 0`.
    n_contour : int, optional
        Number :math:`M` of points on the unit circle around each :math:`hL` used for the
        contour-integral evaluation of the :math:`\varphi`-functions (default 64, which gives
        ~1e-15 relative accuracy).

    Returns
    -------
    Etdrk4Coefficients
        Arrays of the same shape as ``linear_symbol``; real when the symbol is real.
    """
    symbol = np.asarray(linear_symbol)
    check_positive("dt", dt)
    if not np.all(np.isfinite(symbol)):
        raise ValueError("linear_symbol contains NaN or inf.")
    if int(n_contour) < 8:
        raise ValueError(f"n_contour must be >= 8 for an accurate contour mean, got {n_contour}.")
    z = (dt * symbol).astype(complex).ravel()
    roots = np.exp(2j * np.pi * (np.arange(1, n_contour + 1) - 0.5) / n_contour)
    weights = np.empty((4, z.size), dtype=complex)
    for start in range(0, z.size, _CONTOUR_CHUNK):
        zz = z[start : start + _CONTOUR_CHUNK, None] + roots[None, :]
        ez = np.exp(zz)
        weights[0, start : start + _CONTOUR_CHUNK] = np.mean((np.exp(zz / 2) - 1) / zz, axis=1)
        zz3 = zz**3
        weights[1, start : start + _CONTOUR_CHUNK] = np.mean(
            (-4 - zz + ez * (4 - 3 * zz + zz**2)) / zz3, axis=1
        )
        weights[2, start : start + _CONTOUR_CHUNK] = np.mean((2 + zz + ez * (zz - 2)) / zz3, axis=1)
        weights[3, start : start + _CONTOUR_CHUNK] = np.mean(
            (-4 - 3 * zz - zz**2 + ez * (4 - zz)) / zz3, axis=1
        )
    if np.isrealobj(symbol):
        weights = weights.real
    q, f1, f2, f3 = (dt * w.reshape(symbol.shape) for w in weights)
    return Etdrk4Coefficients(
        exp_full=np.exp(dt * symbol),
        exp_half=np.exp(dt * symbol / 2),
        q=q,
        f1=f1,
        f2=f2,
        f3=f3,
        dt=float(dt),
    )


def etdrk4_step(
    v_hat: np.ndarray,
    coefficients: Etdrk4Coefficients,
    nonlinear: Callable[[np.ndarray], np.ndarray],
) -> np.ndarray:
    r"""Advance :math:`\hat v_t = L\hat v + \hat N(\hat v)` by one ETDRK4 step (order 4).

    Parameters
    ----------
    v_hat : np.ndarray
        State in Fourier space at :math:`t_n`.
    coefficients : Etdrk4Coefficients
        From :func:`etdrk4_coefficients` for the same symbol and step.
    nonlinear : callable
        :math:`\hat v \mapsto \hat N(\hat v)`, same shape in and out (autonomous).

    Returns
    -------
    np.ndarray
        State at :math:`t_n + h`.
    """
    c = coefficients
    n_v = nonlinear(v_hat)
    a = c.exp_half * v_hat + c.q * n_v
    n_a = nonlinear(a)
    b = c.exp_half * v_hat + c.q * n_a
    n_b = nonlinear(b)
    cc = c.exp_half * a + c.q * (2 * n_b - n_v)
    n_c = nonlinear(cc)
    return c.exp_full * v_hat + c.f1 * n_v + 2 * c.f2 * (n_a + n_b) + c.f3 * n_c


def save_step_indices(
    dt: float, t_final: float, save_times: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Validate a save schedule and return ``(times, step_indices)``.

    Every save time must be an integer multiple of ``dt`` (relative tolerance
    ``SAVE_TIME_RTOL``) so that snapshots are hit exactly, without interpolation.

    Parameters
    ----------
    dt : float
        Step size, > 0.
    t_final : float
        Final time, >= 0 and an integer multiple of ``dt``.
    save_times : np.ndarray, optional
        Non-decreasing times in ``[0, t_final]``; default ``[0, t_final]``.

    Returns
    -------
    times : np.ndarray
        The save times as float64.
    step_indices : np.ndarray
        Number of steps from ``t = 0`` to each save time.

    Raises
    ------
    ValueError
        On a non-positive ``dt``, unsorted or out-of-range times, or a time that ``dt`` does
        not divide.
    """
    check_positive("dt", dt)
    check_non_negative("t_final", t_final)
    times = np.array([0.0, t_final] if save_times is None else save_times, dtype=float)
    if times.ndim != 1 or times.size == 0:
        raise ValueError(f"save_times must be a non-empty 1-D array, got shape {times.shape}.")
    if not np.all(np.isfinite(times)):
        raise ValueError("save_times contains NaN or inf.")
    if np.any(np.diff(times) < 0):
        raise ValueError("save_times must be non-decreasing.")
    t_max = t_final * (1 + SAVE_TIME_RTOL) + SAVE_TIME_RTOL * dt
    if times[0] < 0 or times[-1] > t_max:
        raise ValueError(f"save_times must lie in [0, t_final={t_final}], got {times[[0, -1]]}.")
    for name, t in [("t_final", t_final)] + [("save time", t) for t in times]:
        ratio = t / dt
        if abs(ratio - round(ratio)) > SAVE_TIME_RTOL * max(1.0, ratio):
            raise ValueError(
                f"{name} {t!r} is not an integer multiple of dt={dt!r} (ratio {ratio:.6g}); "
                "choose dt = (save interval) / k for an integer k."
            )
    return times, np.rint(times / dt).astype(np.int64)


def etdrk4_integrate(
    v_hat0: np.ndarray,
    linear_symbol: np.ndarray,
    nonlinear: Callable[[np.ndarray], np.ndarray],
    dt: float,
    t_final: float,
    save_times: np.ndarray | None = None,
    n_contour: int = 64,
) -> tuple[np.ndarray, np.ndarray]:
    r"""Integrate :math:`\hat v_t = L\hat v + \hat N(\hat v)` with ETDRK4 from ``t = 0``.

    Parameters
    ----------
    v_hat0 : np.ndarray
        Initial state in Fourier space, same shape as ``linear_symbol``.
    linear_symbol, nonlinear, n_contour
        See :func:`etdrk4_coefficients` and :func:`etdrk4_step`.
    dt, t_final, save_times
        See :func:`save_step_indices`; each save time is hit exactly and the integration
        stops at the last save time.

    Returns
    -------
    times : np.ndarray, shape (n_times,)
    v_hat : np.ndarray, shape (n_times, *linear_symbol.shape), complex
        Fourier-space snapshots.

    Raises
    ------
    ValueError
        On inconsistent shapes or an invalid time grid.
    FloatingPointError
        When the solution becomes non-finite (step too large for the explicit part).
    """
    v = np.array(v_hat0, dtype=complex)
    symbol = np.asarray(linear_symbol)
    if v.shape != symbol.shape:
        raise ValueError(f"v_hat0 shape {v.shape} differs from linear_symbol {symbol.shape}.")
    if not np.all(np.isfinite(v)):
        raise ValueError("initial condition contains NaN or inf.")
    times, steps = save_step_indices(dt, t_final, save_times)
    probe = np.asarray(nonlinear(v))
    if probe.shape != v.shape:
        raise ValueError(f"nonlinear returned shape {probe.shape}, expected {v.shape}.")
    coefficients = etdrk4_coefficients(symbol, dt, n_contour)
    snapshots = np.empty((times.size, *v.shape), dtype=complex)
    n_done = 0
    for i, n_target in enumerate(steps):
        for _ in range(n_target - n_done):
            v = etdrk4_step(v, coefficients, nonlinear)
        if not np.all(np.isfinite(v)):
            raise FloatingPointError(
                f"ETDRK4 solution became non-finite before t={times[i]:g} (dt={dt:g}); "
                "reduce dt or increase the resolution."
            )
        n_done = n_target
        snapshots[i] = v
    return times, snapshots


def etdrk4_1d(
    u0: np.ndarray,
    linear_symbol: np.ndarray,
    nonlinear: Callable[[np.ndarray], np.ndarray],
    dt: float,
    t_final: float,
    save_times: np.ndarray | None = None,
    n_contour: int = 64,
) -> tuple[np.ndarray, np.ndarray]:
    r"""ETDRK4 for a real 1-D periodic PDE :math:`u_t = \mathcal{L}u + \mathcal{N}(u)`.

    The grid is :math:`x_j = x_0 + L_{dom}\, j/N`, :math:`j = 0..N-1`; the state is carried as
    ``np.fft.fft(u)``, so ``linear_symbol[k]`` belongs to the wavenumber
    ``2*pi/L_dom * np.fft.fftfreq(N, 1/N)[k]``.

    Parameters
    ----------
    u0 : np.ndarray, shape (N,)
        Real initial values on the grid, N >= 4.
    linear_symbol : np.ndarray, shape (N,)
        Fourier symbol of :math:`\mathcal{L}` (e.g. :math:`-\nu k^2` for diffusion).
    nonlinear : callable
        Maps ``fft(u)`` to ``fft(N(u))`` (shape (N,) complex).
    dt, t_final, save_times, n_contour
        See :func:`etdrk4_integrate`.

    Returns
    -------
    times : np.ndarray, shape (n_times,)
    u : np.ndarray, shape (n_times, N)
        Real snapshots on the grid.
    """
    u0 = np.asarray(u0, dtype=float)
    if u0.ndim != 1 or u0.size < 4:
        raise ValueError(f"u0 must be 1-D with at least 4 points, got shape {u0.shape}.")
    if np.shape(linear_symbol) != u0.shape:
        raise ValueError(f"linear_symbol shape {np.shape(linear_symbol)} != u0 shape {u0.shape}.")
    times, v_hat = etdrk4_integrate(
        np.fft.fft(u0), linear_symbol, nonlinear, dt, t_final, save_times, n_contour
    )
    return times, np.fft.ifft(v_hat, axis=-1).real
