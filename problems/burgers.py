r"""Viscous Burgers' equation in one dimension (Raissi et al. 2019; DeepXDE's Burgers example).

.. math::

    u_t = -u\,u_x + \nu\,u_{xx}, \qquad x \in [-1, 1],\ t \in [0, 1],

with :math:`u(x, 0) = -\sin(\pi x)`, :math:`u(\pm 1, t) = 0` and :math:`\nu = 0.01/\pi`.
A steep front (near-shock) forms at :math:`x = 0` around :math:`t \approx 0.3`.
Convection–diffusion split (for Lagrangian solvers): velocity :math:`u`, diffusivity :math:`\nu`.

Exact solution: the Cole–Hopf transform (Basdevant et al. 1986), evaluated by Gauss–Hermite
quadrature to about 1e-15 (:func:`pde_lab.reference.cole_hopf.burgers_cole_hopf`).
"""

from __future__ import annotations

import math

import torch

from geometries import Interval, Rectangle
from pde_lab import Dirichlet, Periodic, Problem
from pde_lab.transport import Transport
from pde_lab.validation import check_positive


def _cole_hopf(xt: torch.Tensor, p) -> torch.Tensor:
    from pde_lab.reference.cole_hopf import burgers_cole_hopf

    points = xt.detach().cpu().double().numpy()
    values = burgers_cole_hopf(points[:, 0], points[:, 1], nu=p.nu)
    return torch.as_tensor(values, dtype=xt.dtype, device=xt.device)


def burgers(nu: float = 0.01 / math.pi) -> Problem:
    """1D viscous Burgers on [-1, 1] × [0, 1] with u0 = -sin(πx) and zero Dirichlet data."""
    check_positive("viscosity nu", nu)
    return Problem(
        name="burgers",
        geometry=Interval(-1.0, 1.0),
        time_span=(0.0, 1.0),
        rate=lambda f, p: -f.u * f.u_x + p.nu * f.u_xx,
        initial_condition=lambda x: -torch.sin(math.pi * x[:, 0]),
        boundary_conditions=(Dirichlet(0.0),),
        parameters={"nu": float(nu)},
        exact_solution=_cole_hopf,
        description="u_t = -u u_x + ν u_xx on [-1,1]×[0,1], u0 = -sin(πx), u(±1) = 0",
        transport=Transport(velocity=lambda f, p: (f.u,), diffusion=lambda f, p: p.nu),
    )


def burgers_2d(nu: float = 0.01, t_final: float = 4.0, resolution: int = 128, dt: float = 5e-3) -> Problem:
    r"""2D periodic Burgers of the TENG paper: :math:`u_t = -u(u_x + u_y) + \nu\Delta u` on [0, 2π)².

    Initial data as in :mod:`problems.heat`; reference: pseudo-spectral ETDRK4 with 2/3
    dealiasing on a ``resolution``² grid.
    """
    from problems.heat import separable_initial

    check_positive("viscosity nu", nu)

    def reference(problem: Problem):
        from pde_lab.solvers.reference.spectral import Spectral

        return Spectral(n=resolution, dt=dt, dealias=True).solve(problem)

    return Problem(
        name="burgers-2d",
        geometry=Rectangle((0.0, 0.0), (2 * math.pi, 2 * math.pi)),
        time_span=(0.0, float(t_final)),
        rate=lambda f, p: -f.u * (f.u_x + f.u_y) + p.nu * f.lap("u"),
        initial_condition=separable_initial,
        boundary_conditions=(Periodic(0), Periodic(1)),
        parameters={"nu": float(nu)},
        reference_solver=reference,
        description="u_t = -u(u_x + u_y) + 0.01 Δu on the 2π-periodic square (TENG); spectral reference",
    )
