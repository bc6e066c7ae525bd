r"""High-dimensional steady problems on the unit ball with known solutions (STDE benchmarks).

Shi, Hu, Lin & Kawaguchi, "Stochastic Taylor Derivative Estimator", NeurIPS 2024, app. I.
On the unit ball :math:`B^d = \{\|x\| < 1\}` with :math:`u = 0` on the sphere, the exact
"two-body" solution is

.. math::

    u^*(x) = (1 - \|x\|^2) \sum_{i=1}^{d-1} c_i \sin\big(x_i + \cos x_{i+1} + x_{i+1}\cos x_i\big),
    \qquad c_i \sim \mathcal N(0, 1) \text{ (seeded)},

and the data :math:`g` of each equation is computed from :math:`u^*` in closed form:

- ``poisson_nd``:     :math:`-\Delta u = -\Delta u^*`;
- ``allen_cahn_nd``:  :math:`\Delta u + u - u^3 = g`;
- ``sine_gordon_nd``: :math:`\Delta u + \sin u = g`.

With :math:`b = 1 - \|x\|^2`, :math:`w = \sum_i c_i \sin\varphi_i` and
:math:`\varphi_i = x_i + \cos x_{i+1} + x_{i+1}\cos x_i`,
:math:`\Delta u^* = b\,\Delta w - 4\, x\cdot\nabla w - 2 d\, w`, where
:math:`\Delta \sin\varphi = \cos\varphi\, \Delta\varphi - \sin\varphi\, |\nabla\varphi|^2` and only
:math:`\partial_{x_i}\varphi_i = 1 - x_{i+1}\sin x_i`,
:math:`\partial_{x_{i+1}}\varphi_i = \cos x_i - \sin x_{i+1}`,
:math:`\partial^2_{x_i}\varphi_i = -x_{i+1}\cos x_i`,
:math:`\partial^2_{x_{i+1}}\varphi_i = -\cos x_{i+1}` are nonzero.

The paper enforces the boundary condition with the ansatz :math:`(1 - \|x\|^2)\,\mathrm{MLP}(x)`;
here it is a Dirichlet condition like every other problem, so any solver can take it. The
geometry is :class:`Ball` below: ``geometries`` has no ``d``-dimensional ball (``Disk`` is 2D,
``Box`` 3D), and the paper samples radii uniformly, not volume-uniformly.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from geometries import Ball
from pde_lab import Dirichlet, Problem

__all__ = ["allen_cahn_nd", "poisson_nd", "sine_gordon_nd", "two_body", "two_body_laplacian"]


def _coefficients(points: torch.Tensor, p: Any) -> torch.Tensor:
    return torch.as_tensor(p.coefficients, dtype=points.dtype, device=points.device)


def two_body(points: torch.Tensor, p: Any) -> torch.Tensor:
    r""":math:`u^*(x) = (1 - \|x\|^2) \sum_i c_i \sin(x_i + \cos x_{i+1} + x_{i+1} \cos x_i)`."""
    a, b = points[:, :-1], points[:, 1:]
    phase = a + torch.cos(b) + b * torch.cos(a)
    return (1 - points.square().sum(1)) * (torch.sin(phase) @ _coefficients(points, p))


def two_body_laplacian(points: torch.Tensor, p: Any) -> torch.Tensor:
    r""":math:`\Delta u^*` in closed form (see the module docstring)."""
    c = _coefficients(points, p)
    a, b = points[:, :-1], points[:, 1:]
    phase = a + torch.cos(b) + b * torch.cos(a)
    sin, cos = torch.sin(phase), torch.cos(phase)
    d_a, d_b = 1 - b * torch.sin(a), torch.cos(a) - torch.sin(b)
    lap_phase = -b * torch.cos(a) - torch.cos(b)
    lap_w = (cos * lap_phase - sin * (d_a.square() + d_b.square())) @ c
    x_grad_w = (cos * (a * d_a + b * d_b)) @ c
    w = sin @ c
    d = points.shape[1]
    return (1 - points.square().sum(1)) * lap_w - 4 * x_grad_w - 2 * d * w


def _problem(name: str, dim: int, seed: int, residual, description: str) -> Problem:
    if isinstance(dim, bool) or not isinstance(dim, int) or dim < 2:
        raise ValueError(f"dim must be an int >= 2, got {dim!r}")
    coefficients = tuple(np.random.default_rng(seed).standard_normal(dim - 1).tolist())
    return Problem(
        name=name,
        geometry=Ball.unit(dim),
        residual=residual,
        boundary_conditions=(Dirichlet(0.0),),
        parameters={"dim": dim, "seed": seed, "coefficients": coefficients},
        exact_solution=two_body,
        description=f"{description} on the unit ball in {dim}D, u = 0 on the sphere; exact two-body solution",
    )


def poisson_nd(dim: int = 20, seed: int = 0) -> Problem:
    """``d``-dimensional Poisson, -Δu = -Δu* on the unit ball, u = 0 on the sphere (two-body u*)."""
    return _problem("poisson-nd", dim, seed, lambda f, p: -f.lap("u") + two_body_laplacian(f.space, p),
                    "-Δu = f")


def allen_cahn_nd(dim: int = 20, seed: int = 0) -> Problem:
    """``d``-dimensional Allen–Cahn, Δu + u - u³ = g on the unit ball (two-body u*)."""

    def residual(f, p):
        exact = two_body(f.space, p)
        data = two_body_laplacian(f.space, p) + exact - exact**3
        return f.lap("u") + f.u - f.u**3 - data

    return _problem("allen-cahn-nd", dim, seed, residual, "Δu + u - u³ = g")


def sine_gordon_nd(dim: int = 20, seed: int = 0) -> Problem:
    """``d``-dimensional sine-Gordon, Δu + sin u = g on the unit ball (two-body u*)."""

    def residual(f, p):
        data = two_body_laplacian(f.space, p) + torch.sin(two_body(f.space, p))
        return f.lap("u") + torch.sin(f.u) - data

    return _problem("sine-gordon-nd", dim, seed, residual, "Δu + sin u = g")
