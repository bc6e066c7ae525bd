r"""Fourier pseudo-spectral references for 1-D periodic PDEs, advanced with ETDRK4.

Grid: :math:`x_j = x_0 + L_{dom}\,j/N`, :math:`j = 0..N-1` (no duplicated endpoint).
Derivatives are exact on the trigonometric interpolant; for even :math:`N` the Nyquist mode of
odd derivatives is set to zero (Trefethen, *Spectral Methods in MATLAB*, ch. 3). Odd :math:`N`
is allowed: the published KS data use :math:`N = 511`. Quadratic terms are computed in
physical space; the optional 2/3 rule zeroes the modes :math:`|m| \ge N/3` of the nonlinear
term. It is off by default because the Causal-PINN data (Chebfun ``spin``, ETDRK4, 64 contour
points) were generated without it; ``shared/reference/methods_a.md`` reports that a numpy
ETDRK4 of this kind reproduces them to 1e-11 or better (not re-checked here: the ``.mat``
files are not in this repository).

Time stepping: :func:`pde_lab.reference.etdrk4.etdrk4_1d` (order 4 in time, spectral in space).
Cost per step: four evaluations of the nonlinear term, each one ``ifft`` and one ``fft`` of
length :math:`N`. :func:`ks_chaotic_reference` with the default :math:`N = 511`,
:math:`\Delta t = 10^{-5}` (1e5 steps) takes ~15 s on one CPU core.
"""

from __future__ import annotations

import numpy as np

from pde_lab.reference.etdrk4 import etdrk4_1d
from pde_lab.validation import check_non_negative, check_positive


def periodic_grid(n: int, length: float, x0: float = 0.0) -> np.ndarray:
    """Uniform periodic grid ``x0 + length * j / n``, ``j = 0..n-1``."""
    if int(n) != n or n < 4:
        raise ValueError(f"n must be an integer >= 4, got {n!r}.")
    check_positive("length", length)
    return x0 + length * np.arange(n) / n


def fourier_wavenumbers(n: int, length: float) -> tuple[np.ndarray, np.ndarray]:
    r"""Angular wavenumbers :math:`k = 2\pi m / L_{dom}` in ``np.fft.fft`` order.

    Returns
    -------
    k : np.ndarray, shape (n,)
        For even derivatives (:math:`\partial_x^2 \to -k^2`).
    k_odd : np.ndarray, shape (n,)
        Same with the Nyquist mode zeroed for even ``n``, for odd derivatives
        (:math:`\partial_x \to i k_{odd}`).
    """
    periodic_grid(n, length)  # validates n and length
    k = 2 * np.pi / length * np.fft.fftfreq(n, d=1.0 / n)
    k_odd = k.copy()
    if n % 2 == 0:
        k_odd[n // 2] = 0.0
    return k, k_odd


def dealias_mask(n: int) -> np.ndarray:
    """2/3-rule mask in ``fft`` order: True for kept modes ``|m| < n/3``."""
    m = np.abs(np.fft.fftfreq(n, d=1.0 / n))
    return m < n / 3


def kuramoto_sivashinsky_1d(
    u0: np.ndarray,
    length: float,
    alpha: float,
    beta: float,
    gamma: float,
    dt: float,
    t_final: float,
    save_times: np.ndarray | None = None,
    dealias: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    r"""Kuramoto–Sivashinsky :math:`u_t + \alpha u u_x + \beta u_{xx} + \gamma u_{xxxx} = 0`.

    Periodic on a domain of length ``length``. Split as :math:`\hat u_t = L\hat u + \hat N`
    with :math:`L = \beta k^2 - \gamma k^4` and
    :math:`\hat N = -\tfrac{\alpha}{2}\, i k\, \widehat{u^2}` (the conservative form
    :math:`-(\alpha/2)(u^2)_x`). ETDRK4, order 4 in time; spectral in space.

    Parameters
    ----------
    u0 : np.ndarray, shape (N,)
        Initial values on :func:`periodic_grid` ``(N, length, x0)``.
    length : float
        Domain length :math:`L_{dom}`.
    alpha, beta, gamma : float
        Coefficients of the equation (``alpha = 0`` leaves the exactly solvable linear PDE).
    dt, t_final, save_times
        Step and save schedule; every save time must be a multiple of ``dt``.
    dealias : bool, optional
        Apply the 2/3 rule to :math:`\widehat{u^2}` (default False).

    Returns
    -------
    times : np.ndarray, shape (n_times,)
    u : np.ndarray, shape (n_times, N)
    """
    k, k_odd = fourier_wavenumbers(np.size(u0), length)
    mask = dealias_mask(k.size) if dealias else 1.0
    factor = -0.5 * alpha * 1j * k_odd * mask

    def nonlinear(u_hat: np.ndarray) -> np.ndarray:
        u = np.fft.ifft(u_hat).real
        return factor * np.fft.fft(u * u)

    return etdrk4_1d(u0, beta * k**2 - gamma * k**4, nonlinear, dt, t_final, save_times)


def allen_cahn_1d(
    u0: np.ndarray,
    length: float,
    dt: float,
    t_final: float,
    save_times: np.ndarray | None = None,
    diffusion: float = 1e-4,
    reaction: float = 5.0,
) -> tuple[np.ndarray, np.ndarray]:
    r"""Allen–Cahn :math:`u_t = D u_{xx} + r (u - u^3)`, periodic.

    :math:`L = -D k^2`, :math:`\hat N = r\,\widehat{(u - u^3)}` (pointwise, no dealiasing: the
    cubic is evaluated on the grid as in Kassam–Trefethen). ETDRK4, order 4 in time.
    ``reaction = 0`` gives the heat equation, solved exactly by ETDRK4.

    Parameters
    ----------
    u0 : np.ndarray, shape (N,)
    length : float
    dt, t_final, save_times
        Step and save schedule (save times multiples of ``dt``).
    diffusion, reaction : float, optional
        :math:`D` (default 1e-4, Causal-PINN setting) and :math:`r` (default 5).

    Returns
    -------
    times : np.ndarray, shape (n_times,)
    u : np.ndarray, shape (n_times, N)
    """
    k, _ = fourier_wavenumbers(np.size(u0), length)

    def nonlinear(u_hat: np.ndarray) -> np.ndarray:
        u = np.fft.ifft(u_hat).real
        return reaction * np.fft.fft(u - u**3)

    return etdrk4_1d(u0, -diffusion * k**2, nonlinear, dt, t_final, save_times)


def burgers_periodic_1d(
    u0: np.ndarray,
    length: float,
    nu: float,
    dt: float,
    t_final: float,
    save_times: np.ndarray | None = None,
    dealias: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    r"""Viscous Burgers :math:`u_t + u u_x = \nu u_{xx}`, periodic.

    :math:`L = -\nu k^2`, :math:`\hat N = -\tfrac12 i k\,\widehat{u^2}`. ETDRK4, order 4 in
    time. Exact periodic solutions for checks follow from Cole–Hopf:
    :math:`u = -2\nu\,\theta_x/\theta` with :math:`\theta = a + e^{-\nu\kappa^2 t}\cos(\kappa x)`,
    :math:`a > 1`.

    Parameters
    ----------
    u0 : np.ndarray, shape (N,)
    length, nu : float
        Domain length and viscosity :math:`\nu \ge 0`.
    dt, t_final, save_times
        Step and save schedule (save times multiples of ``dt``).
    dealias : bool, optional
        2/3 rule on :math:`\widehat{u^2}` (default False).

    Returns
    -------
    times : np.ndarray, shape (n_times,)
    u : np.ndarray, shape (n_times, N)
    """
    nu = check_non_negative("nu", nu)
    k, k_odd = fourier_wavenumbers(np.size(u0), length)
    mask = dealias_mask(k.size) if dealias else 1.0
    factor = -0.5j * k_odd * mask

    def nonlinear(u_hat: np.ndarray) -> np.ndarray:
        u = np.fft.ifft(u_hat).real
        return factor * np.fft.fft(u * u)

    return etdrk4_1d(u0, -nu * k**2, nonlinear, dt, t_final, save_times)


def ks_regular_reference(
    n: int = 511, dt: float = 1e-5, save_times: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""Causal-PINN "regular" KS: :math:`\alpha=5, \beta=0.5, \gamma=0.005`.

    :math:`x \in [-1, 1)`, :math:`u_0 = -\sin(\pi x)`, :math:`t \in [0, 1]`, saved at 251 times
    by default (Wang, Sankaran & Perdikaris, arXiv 2203.07404). ``n = 511``, ``dt = 1e-5`` is
    the setting of the published ``ks_simple.mat`` (whose 512 points repeat the endpoint).

    Returns
    -------
    x : np.ndarray, shape (n,)
    times : np.ndarray, shape (n_times,)
    u : np.ndarray, shape (n_times, n)
    """
    x = periodic_grid(n, 2.0, -1.0)
    times = np.linspace(0.0, 1.0, 251) if save_times is None else save_times
    t, u = kuramoto_sivashinsky_1d(-np.sin(np.pi * x), 2.0, 5.0, 0.5, 0.005, dt, 1.0, times)
    return x, t, u


def ks_chaotic_reference(
    n: int = 511, dt: float = 1e-5, save_times: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""Causal-PINN chaotic KS: :math:`\alpha = 100/16, \beta = 100/16^2, \gamma = 100/16^4`.

    :math:`x \in [0, 2\pi)`, :math:`u_0 = \cos x\,(1 + \sin x)`, :math:`t \in [0, 1]`, 251 saves
    by default. With ``dt = 1e-4`` instead of 1e-5 the result changes by ~1e-7 (relative L2).

    Returns
    -------
    x, times, u : np.ndarray
        Grid (n,), times (n_times,), snapshots (n_times, n).
    """
    x = periodic_grid(n, 2 * np.pi)
    times = np.linspace(0.0, 1.0, 251) if save_times is None else save_times
    u0 = np.cos(x) * (1 + np.sin(x))
    coefficients = (100 / 16, 100 / 16**2, 100 / 16**4)
    t, u = kuramoto_sivashinsky_1d(u0, 2 * np.pi, *coefficients, dt, 1.0, times)
    return x, t, u


def allen_cahn_reference(
    n: int = 512, dt: float = 1e-5, save_times: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""Causal-PINN Allen–Cahn: :math:`u_t = 10^{-4}u_{xx} + 5(u - u^3)`, periodic.

    :math:`x \in [-1, 1)`, :math:`u_0 = x^2\cos(\pi x)`, :math:`t \in [0, 1]`, 201 saves
    (:math:`\Delta t = 0.005`) by default, on the grid of Raissi's ``AC.mat`` for ``n = 512``.
    The periodic extension of :math:`u_0` has a kink at :math:`x = \pm 1`, so the spatial
    error is algebraic at first: against :math:`N = 2048`, ``n = 512`` is off by 3e-6 (rel. L2)
    at :math:`t = 0.25` and 2e-7 at :math:`t = 1` (``n = 1024``: 7e-7 and 2e-10).

    Returns
    -------
    x, times, u : np.ndarray
        Grid (n,), times (n_times,), snapshots (n_times, n).
    """
    x = periodic_grid(n, 2.0, -1.0)
    times = np.linspace(0.0, 1.0, 201) if save_times is None else save_times
    t, u = allen_cahn_1d(x**2 * np.cos(np.pi * x), 2.0, dt, 1.0, times)
    return x, t, u
