r"""One-dimensional diffusion–sorption (PDEBench; the PI-HC-MoE benchmark of Chalapathi, Du &
Krishnapriyan, ICLR 2024).

.. math::

    u_t = \frac{D}{R(u)}\,u_{xx}, \qquad x \in (0, 1),\ t \in (0, 500],\qquad
    R(u) = 1 + \frac{1-\phi}{\phi}\,\rho_s\,k\,n_f\,u^{\,n_f-1},

with :math:`D = 5\cdot10^{-4}`, porosity :math:`\phi = 0.29`, bulk density
:math:`\rho_s = 2880`, Freundlich :math:`k = 3.5\cdot10^{-4}` and exponent :math:`n_f = 0.874`
(PDEBench ``configs/diff-sorp.yaml``). :math:`R` is singular at :math:`u = 0`; as in PDEBench
and the paper's code it is regularised, :math:`u^{n_f-1} \to (\max(u, 0) + 10^{-6})^{n_f-1}`.

Data (PDEBench's generator): a constant initial state :math:`u(x, 0) = c_0`,
:math:`c_0 \sim U(0, 0.2)` per sample (``seed``), the inflow :math:`u(0, t) = 1` and the outflow
Robin condition :math:`u(1, t) = -D\,u_x(1, t)`. The papers write
:math:`u(1,t) = D\,\partial_x u(1,t)`; taken literally that sign makes the problem ill-posed
(a boundary mode growing like :math:`e^{D t/(R \ell^2)}` with :math:`\ell = D`); PDEBench's
finite-volume generator implements the ghost value :math:`D (c_{N-2} - c_{N-1})/\Delta x
= -D u_x`, which is the well-posed sign used here.

pde_lab's conditions have no Robin type yet, so the outflow condition is carried as the
parameter ``robin = ((where, length),)`` meaning :math:`u + \ell\,\partial_n u = 0` where
``where(points)`` holds; the hard-constraint solver (``hc-moe``) reads it. Solvers that only
know ``boundary_conditions`` see the inflow condition alone.

Reference: cell-centred finite volumes (``cells`` cells, second order, the boundary faces
closed by the two conditions) integrated by ``scipy.integrate.solve_ivp`` (BDF, banded
Jacobian sparsity, rtol 1e-8), evaluated with the boundary values appended to the nodes.
"""

from __future__ import annotations

import math
import time

import numpy as np
import torch

from geometries import Interval
from pde_lab import Dirichlet, Problem
from pde_lab.solution import Solution, Status
from pde_lab.validation import check_positive

__all__ = ["diffusion_sorption", "finite_volume_solution", "retardation"]

#: PDEBench's constants (configs/diff-sorp.yaml).
CONSTANTS = dict(D=5e-4, porosity=0.29, rho_s=2880.0, k_f=3.5e-4, n_f=0.874)
#: Regularisation of the Freundlich isotherm at u = 0 (PDEBench and the paper's code).
EPSILON = 1e-6
#: Reference resolution: cells and saved instants.
REFERENCE_CELLS, REFERENCE_SAVES = 1024, 501


def retardation(u, D=None, porosity=0.29, rho_s=2880.0, k_f=3.5e-4, n_f=0.874):
    r""":math:`R(u) = 1 + \frac{1-\phi}{\phi}\rho_s k n_f (\max(u,0) + \epsilon)^{n_f-1}` (torch or numpy)."""
    clip = torch.clamp(u, min=0.0) if isinstance(u, torch.Tensor) else np.maximum(u, 0.0)
    return 1.0 + (1.0 - porosity) / porosity * rho_s * k_f * n_f * (clip + EPSILON) ** (n_f - 1.0)


def _rate(f, p):
    R = retardation(f.u, porosity=p.porosity, rho_s=p.rho_s, k_f=p.k_f, n_f=p.n_f)
    return p.D / R * f.u_xx


def _left(points):
    return points[:, 0] <= 1e-12


def _right(points):
    return points[:, 0] >= 1.0 - 1e-12


def finite_volume_solution(problem: Problem, cells: int = REFERENCE_CELLS, saves: int = REFERENCE_SAVES,
                           rtol: float = 1e-8):
    """Method-of-lines finite volumes for ``problem``: ``(nodes, times, values (saves, nodes))``.

    Cell centres :math:`x_i = (i + 1/2)h`; the flux through the inflow face uses
    :math:`u_x \\approx (u_0 - 1)/(h/2)`, the outflow face value :math:`u_b` solves
    :math:`u_b = -D (u_b - u_{N-1})/(h/2)`. The returned nodes add the two face values.
    """
    from scipy.integrate import solve_ivp
    from scipy.sparse import diags

    p = problem.parameters
    h = 1.0 / cells
    centres = (np.arange(cells) + 0.5) * h
    inflow = 1.0
    beta = 2.0 * p.D / h  # outflow face: u_b = beta/(1+beta) u_{N-1}
    outflow_factor = beta / (1.0 + beta)
    kwargs = dict(porosity=p.porosity, rho_s=p.rho_s, k_f=p.k_f, n_f=p.n_f)

    def rhs(_t, u):
        flux = np.empty(cells + 1)  # u_x at the faces
        flux[1:-1] = np.diff(u) / h
        flux[0] = (u[0] - inflow) / (h / 2)
        flux[-1] = (outflow_factor * u[-1] - u[-1]) / (h / 2)
        return p.D / retardation(u, **kwargs) * np.diff(flux) / h

    t0, t1 = problem.time_span
    times = np.linspace(t0, t1, saves)
    u0 = np.asarray(problem.initial_condition(torch.as_tensor(centres[:, None])), dtype=float).reshape(-1)
    sparsity = diags([np.ones(cells - 1), np.ones(cells), np.ones(cells - 1)], [-1, 0, 1], shape=(cells, cells))
    result = solve_ivp(rhs, (t0, t1), u0, method="BDF", t_eval=times, rtol=rtol, atol=rtol * 1e-2,
                       jac_sparsity=sparsity)
    if not result.success:
        raise RuntimeError(f"finite-volume reference failed: {result.message}")
    interior = result.y.T
    left = np.full((saves, 1), inflow)
    left[0, 0] = u0[0]  # the initial state holds at t = 0 (the data jump at the corner)
    right = outflow_factor * interior[:, -1:]
    nodes = np.concatenate([[0.0], centres, [1.0]])
    return nodes, times, np.hstack([left, interior, right])


def _reference(problem: Problem) -> Solution:
    from pde_lab.solvers.reference.grid_field import GridField

    start = time.perf_counter()
    nodes, times, values = finite_volume_solution(problem)
    field = GridField([nodes], values[..., None], times, [None])
    stats = {"wall_s": time.perf_counter() - start, "peak_mem_mb": 0.0, "iterations": len(times),
             "device": "cpu", "dtype": "float64", "cells": REFERENCE_CELLS}
    return Solution(problem, field, "finite-volume", Status.CONVERGED,
                    f"finite volumes, {REFERENCE_CELLS} cells, BDF", stats, {}, (nodes, times, values))


def diffusion_sorption(initial_level: float | None = None, seed: int = 0, t_final: float = 500.0) -> Problem:
    """PDEBench's diffusion–sorption with a constant initial state.

    Parameters
    ----------
    initial_level
        :math:`c_0`; ``None`` draws it from :math:`U(0, 0.2)` with ``seed`` (PDEBench's family;
        numpy's ``default_rng``, so not bit-identical to PDEBench's legacy ``np.random.seed``).
    seed
        The family member when ``initial_level`` is ``None``.
    t_final
        End time (500 s in PDEBench and the paper).
    """
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    if initial_level is None:
        initial_level = float(np.random.default_rng(seed).uniform(0.0, 0.2))
    if not (isinstance(initial_level, (int, float)) and math.isfinite(initial_level) and 0 <= initial_level <= 1):
        raise ValueError(f"initial_level must be a number in [0, 1], got {initial_level!r}")
    check_positive("t_final", t_final)
    level = float(initial_level)
    return Problem(
        name="diffusion-sorption",
        geometry=Interval(0.0, 1.0),
        time_span=(0.0, float(t_final)),
        rate=_rate,
        initial_condition=lambda x: torch.full((x.shape[0],), level, dtype=x.dtype, device=x.device),
        boundary_conditions=(Dirichlet(1.0, where=_left),),
        parameters={**CONSTANTS, "initial_level": level, "robin": ((_right, CONSTANTS["D"]),)},
        reference_solver=_reference,
        description=f"u_t = D/R(u) u_xx (PDEBench diffusion-sorption), u0 = {level:.4f}, u(0,t) = 1",
    )
