r"""Poisson problems.

``poisson()`` -- manufactured solution on the unit square (the classic PINN benchmark):

.. math::

    -\Delta u = 2\pi^2 \sin(\pi x)\sin(\pi y) \quad\text{in } (0,1)^2, \qquad u = 0 \text{ on } \partial\Omega,

exact solution :math:`u = \sin(\pi x)\sin(\pi y)`.

``poisson_lshape()`` -- the L-shaped domain :math:`(-1,1)^2 \setminus [0,1]^2` of DeepXDE's
``Poisson_Lshape`` example, :math:`-\Delta u = 1`, :math:`u = 0` on the boundary. The
re-entrant corner makes :math:`u \in H^{5/3-\epsilon}` only; no closed form, so the reference
is a P2 finite-element solution on a fine mesh.
"""

from __future__ import annotations

import math

import torch

from geometries import LShape, Rectangle
from pde_lab import Dirichlet, Problem


def poisson() -> Problem:
    """2D Poisson with the manufactured solution sin(πx)·sin(πy) on the unit square."""
    pi = math.pi
    return Problem(
        name="poisson",
        geometry=Rectangle((0.0, 0.0), (1.0, 1.0)),
        residual=lambda f, p: -f.lap("u") - 2 * pi**2 * torch.sin(pi * f.x) * torch.sin(pi * f.y),
        boundary_conditions=(Dirichlet(0.0),),
        exact_solution=lambda xy, p: torch.sin(pi * xy[:, 0]) * torch.sin(pi * xy[:, 1]),
        description="-Δu = 2π² sin(πx) sin(πy) on (0,1)², u = 0; exact sin(πx) sin(πy)",
    )


def _fem_reference(problem: Problem):
    from pde_lab.solvers.reference.fem import FEM

    return FEM(order=2, h=0.02).solve(problem)


def poisson_lshape(source: float = 1.0) -> Problem:
    """2D Poisson, -Δu = source on the L-shape (-1,1)² minus [0,1]², u = 0; FEM reference."""
    return Problem(
        name="poisson-lshape",
        geometry=LShape(),
        residual=lambda f, p: -f.lap("u") - p.source,
        boundary_conditions=(Dirichlet(0.0),),
        parameters={"source": float(source)},
        reference_solver=_fem_reference,
        description="-Δu = 1 on the L-shape (-1,1)² \\ [0,1]², u = 0; P2 FEM reference",
    )
