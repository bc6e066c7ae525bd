r"""Gaussian random fields for random PDE data, as in the FNO data sets (Li et al., ICLR 2021).

All fields have the covariance operator :math:`C = \sigma^2(-\Delta + \tau^2 I)^{-\alpha}`,
diagonal in the eigenfunctions of :math:`-\Delta` on the domain, so a sample is a series

.. math:: g(x) = \sum_m \sigma\,(\lambda_m + \tau^2)^{-\alpha/2}\,\xi_m\,\phi_m(x),
   \qquad \xi_m \sim N(0, 1)\ \text{i.i.d.},

with :math:`(\lambda_m, \phi_m)` the Laplace eigenpairs: Fourier modes on a periodic
interval (Burgers: :math:`625(-\Delta + 25 I)^{-2}`, i.e. :math:`\sigma = 25, \tau = 5,
\alpha = 2`), cosines on the unit square for Neumann conditions (Darcy:
:math:`(-\Delta + 9I)^{-2}`, then thresholded). The periodic 2D field of the NS data lives in
:func:`pde_lab.reference.navier_stokes_2d.gaussian_random_field_2d`.

A sample is stored as its *modes* :math:`\sigma(\lambda_m + \tau^2)^{-\alpha/2}\xi_m` (a
fixed number of them), so the same random function can be evaluated on any grid: that is
what makes an operator's evaluation at a finer resolution meaningful.
"""

from __future__ import annotations

import numpy as np

from pde_lab.validation import check_int, check_non_negative

__all__ = [
    "cosine_modes_2d",
    "evaluate_cosine_2d",
    "evaluate_periodic_1d",
    "periodic_modes_1d",
    "sample_seed",
]


def sample_seed(seed: int, index: int) -> int:
    """The seed of sample ``index`` of a data set seeded ``seed``: reproducible alone.

    Sample ``i`` never depends on how many samples came before it, so chunks can be
    generated in any order, in parallel, or again after an interruption.
    """
    for name, value in (("seed", seed), ("index", index)):
        check_int(name, value, minimum=0)
    return int(np.random.SeedSequence([int(seed), int(index)]).generate_state(1)[0])


def _check(alpha: float, tau: float, modes: int) -> None:
    if not np.isfinite(alpha) or alpha <= 0.5:
        raise ValueError(f"alpha must be > 1/2 (a square-integrable field), got {alpha!r}")
    check_non_negative("tau", tau)
    check_int("modes", modes)


def periodic_modes_1d(
    seed: int, modes: int = 512, length: float = 1.0, alpha: float = 2.0, tau: float = 5.0,
    sigma: float = 25.0, zero_mean: bool = False,
) -> np.ndarray:
    r"""Complex Fourier coefficients :math:`c_m`, :math:`m = 0..` ``modes`` of a periodic GRF.

    :math:`g(x) = c_0 + 2\,\mathrm{Re}\sum_{m\ge1} c_m e^{2\pi i m x/L}` with
    :math:`\mathbb E|c_m|^2 = \sigma^2(k_m^2 + \tau^2)^{-\alpha}`, :math:`k_m = 2\pi m/L`
    (real :math:`c_0`; ``zero_mean`` drops it). Defaults: the FNO Burgers initial data.
    Mode :math:`m` is drawn from the same two numbers of the stream whatever ``modes`` is, so
    a larger ``modes`` extends the same random function by higher modes.
    """
    _check(alpha, tau, modes)
    rng = np.random.default_rng(seed)
    k = 2 * np.pi * np.arange(modes + 1) / length
    amplitude = sigma * (k**2 + tau**2) ** (-alpha / 2)
    pairs = rng.standard_normal((modes + 1, 2))  # mode m uses draws 2m, 2m+1: more modes extend the series
    xi = (pairs[:, 0] + 1j * pairs[:, 1]) / np.sqrt(2)
    xi[0] = 0.0 if zero_mean else pairs[0, 0]
    return amplitude * xi


def evaluate_periodic_1d(coefficients: np.ndarray, x: np.ndarray, length: float = 1.0) -> np.ndarray:
    """The real field of :func:`periodic_modes_1d` at points ``x`` (any shape)."""
    x = np.asarray(x, dtype=float)
    m = np.arange(len(coefficients))
    phase = np.exp(2j * np.pi * np.multiply.outer(x, m) / length)
    return coefficients[0].real + 2 * np.real(phase[..., 1:] @ coefficients[1:])


def cosine_modes_2d(
    seed: int, modes: int = 64, alpha: float = 2.0, tau: float = 3.0, sigma: float | None = None,
) -> np.ndarray:
    r"""Coefficients ``(modes, modes)`` of a GRF on :math:`[0, 1]^2` with Neumann conditions.

    :math:`g = \sum_{m \ne 0} c_m \cos(\pi m_1 x)\cos(\pi m_2 y)`,
    :math:`c_m = \sigma(\pi^2|m|^2 + \tau^2)^{-\alpha/2}\xi_m`, :math:`\sigma = \tau^{\alpha-1}`
    by default; defaults: the FNO Darcy coefficient (before thresholding, where only the
    sign matters).
    """
    _check(alpha, tau, modes)
    sigma = tau ** (alpha - 1) if sigma is None else float(sigma)
    m1, m2 = np.meshgrid(np.arange(modes), np.arange(modes), indexing="ij")
    amplitude = sigma * (np.pi**2 * (m1**2 + m2**2) + tau**2) ** (-alpha / 2)
    amplitude[0, 0] = 0.0
    return amplitude * np.random.default_rng(seed).standard_normal((modes, modes))


def evaluate_cosine_2d(coefficients: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The field of :func:`cosine_modes_2d` on the tensor grid ``x`` × ``y`` (1D arrays), ``ij``."""
    m = np.arange(coefficients.shape[0])
    cx = np.cos(np.pi * np.multiply.outer(np.asarray(x, dtype=float), m))
    cy = np.cos(np.pi * np.multiply.outer(np.asarray(y, dtype=float), m))
    return cx @ coefficients @ cy.T
