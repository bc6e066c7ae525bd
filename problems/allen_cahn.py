r"""Allen–Cahn equations.

``allen_cahn()`` -- the causal-PINN benchmark (Wang, Sankaran & Perdikaris 2022):

.. math::

    u_t = D\,u_{xx} + 5u - 5u^3, \qquad x \in [-1, 1] \text{ periodic},\ t \in [0, 1],

with :math:`D = 10^{-4}` and :math:`u_0 = x^2\cos(\pi x)`. Reference: Fourier pseudo-spectral
ETDRK4 on 512 points (the scheme that generated the paper's ``AC.mat``).

``allen_cahn_2d()`` -- the TENG benchmark: :math:`u_t = D\,\Delta u + u - u^3` on the
2π-periodic square, :math:`D = 0.005`, :math:`T = 4`, with the separable initial data of
:mod:`problems.heat`. Reference: pseudo-spectral ETDRK4 on a 128² grid.
"""

from __future__ import annotations

import math

import torch

from geometries import Interval, Rectangle
from pde_lab import Periodic, Problem
from pde_lab.validation import check_positive
from problems.heat import separable_initial


def _spectral(n: int, dt: float):
    def reference(problem: Problem):
        from pde_lab.solvers.reference.spectral import Spectral

        return Spectral(n=n, dt=dt).solve(problem)

    return reference


def allen_cahn(diffusion: float = 1e-4, t_final: float = 1.0, resolution: int = 512, dt: float = 1e-4) -> Problem:
    """1D periodic Allen–Cahn of the causal-PINN paper; ``resolution``/``dt`` set the reference."""
    return Problem(
        name="allen-cahn",
        geometry=Interval(-1.0, 1.0),
        time_span=(0.0, check_positive("t_final", t_final)),
        rate=lambda f, p: p.diffusion * f.u_xx + 5 * f.u - 5 * f.u**3,
        initial_condition=lambda x: x[:, 0] ** 2 * torch.cos(math.pi * x[:, 0]),
        boundary_conditions=(Periodic(0),),
        parameters={"diffusion": check_positive("diffusion", diffusion)},
        reference_solver=_spectral(resolution, dt),
        description="u_t = 1e-4 u_xx + 5u - 5u³, periodic on [-1,1], u0 = x² cos(πx); spectral reference",
    )


def allen_cahn_2d(diffusion: float = 0.005, t_final: float = 4.0, resolution: int = 128, dt: float = 1e-2) -> Problem:
    """2D periodic Allen–Cahn of the TENG paper."""
    return Problem(
        name="allen-cahn-2d",
        geometry=Rectangle((0.0, 0.0), (2 * math.pi, 2 * math.pi)),
        time_span=(0.0, check_positive("t_final", t_final)),
        rate=lambda f, p: p.diffusion * f.lap("u") + f.u - f.u**3,
        initial_condition=separable_initial,
        boundary_conditions=(Periodic(0), Periodic(1)),
        parameters={"diffusion": check_positive("diffusion", diffusion)},
        reference_solver=_spectral(resolution, dt),
        description="u_t = 0.005 Δu + u - u³ on the 2π-periodic square (TENG); spectral reference",
    )
