r"""Heat equation on the periodic square, the TENG benchmark (Chen et al., ICML 2024).

.. math::

    u_t = \nu\,\Delta u \quad\text{on } [0, 2\pi)^2,\ t \in [0, T], \qquad \nu = 0.1,\ T = 4,

periodic in x and y. The initial data is separable, :math:`u_0 = f(x)\,g(y)` with even
cosine harmonics in x and odd sine harmonics in y (the character of TENG's stored
coefficients, which are not distributed with the paper; ours is a closed form), so every
Fourier mode decays exactly: :math:`\hat u_k(t) = \hat u_k(0)\,e^{-\nu|k|^2 t}`.
"""

from __future__ import annotations

import math

import torch

from geometries import Rectangle
from pde_lab import Periodic, Problem
from pde_lab.validation import check_positive

#: f(x) = sum a cos(k x) and g(y) = sum b sin(k y), as (coefficient, wavenumber) pairs
COSINES_X = ((0.6, 0), (0.3, 2), (0.1, 4))
SINES_Y = ((0.5, 1), (0.15, 3))


def separable_initial(xy: torch.Tensor) -> torch.Tensor:
    """u0(x, y) = f(x) g(y); max |u0| ≈ 0.52."""
    f = sum(a * torch.cos(k * xy[:, 0]) for a, k in COSINES_X)
    g = sum(b * torch.sin(k * xy[:, 1]) for b, k in SINES_Y)
    return f * g


def _exact(xt: torch.Tensor, p) -> torch.Tensor:
    x, y, t = xt[:, 0], xt[:, 1], xt[:, 2]
    return sum(
        a * b * torch.cos(kx * x) * torch.sin(ky * y) * torch.exp(-p.nu * (kx**2 + ky**2) * t)
        for a, kx in COSINES_X
        for b, ky in SINES_Y
    )


def heat(nu: float = 0.1, t_final: float = 4.0) -> Problem:
    """2D periodic heat equation with an exact Fourier-mode solution (TENG's setting)."""
    check_positive("diffusivity nu", nu)
    return Problem(
        name="heat",
        geometry=Rectangle((0.0, 0.0), (2 * math.pi, 2 * math.pi)),
        time_span=(0.0, float(t_final)),
        rate=lambda f, p: p.nu * f.lap("u"),
        initial_condition=separable_initial,
        boundary_conditions=(Periodic(0), Periodic(1)),
        parameters={"nu": float(nu)},
        exact_solution=_exact,
        description="u_t = ν Δu on the 2π-periodic square, exact Fourier-mode solution (TENG)",
    )
