"""The points a causal PINN window trains on (:mod:`pde_lab.solvers.causal`).

Seeded generators, the spatial pool and initial-condition points, the axes embedded exactly
as periodic, and the soft penalty for the boundary conditions the embedding leaves out.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from pde_lab.problem import Problem

__all__ = ["as_columns", "at_time", "embedded_axes", "seeded_generator", "soft_boundary", "space_pool"]


def seeded_generator(seed: int):
    import torch

    return torch.Generator().manual_seed(int(seed))


def embedded_axes(problem: Problem) -> tuple[int, ...]:
    """Spatial axes with a ``Periodic`` condition for every field: embedded exactly."""
    from pde_lab.conditions import Periodic

    axes = []
    for axis in range(problem.spatial_dim):
        covered: set[str] = set()
        for condition in problem.boundary_conditions:
            if isinstance(condition, Periodic) and condition.axis == axis:
                covered |= set(problem.fields) if condition.field is None else {condition.field}
        if covered == set(problem.fields):
            axes.append(axis)
    return tuple(axes)


def space_pool(problem, n, seed, device, dtype):
    import torch

    space = np.asarray(problem.geometry.sample_interior(n, method="uniform", seed=seed), dtype=float)
    return torch.as_tensor(space, dtype=dtype, device=device)


def at_time(space, t):
    import torch

    return torch.cat([space, torch.full_like(space[:, :1], float(t))], dim=1)


def as_columns(values, n_fields):
    import torch

    values = torch.as_tensor(values)
    values = values.reshape(len(values), -1)
    if values.shape[1] != n_fields:
        raise ValueError(f"initial_condition returned {values.shape[1]} columns for {n_fields} fields")
    if not torch.isfinite(values).all():
        raise ValueError("initial_condition returned NaN or inf")
    return values


def soft_boundary(problem, span, periodic, n_boundary, seed, device, dtype):
    """Penalty for the conditions the embedding does not satisfy exactly, or ``None``."""
    from pde_lab.collocation import Collocation, loss_terms, sample_collocation
    from pde_lab.conditions import Periodic

    kept = tuple(c for c in problem.boundary_conditions if not (isinstance(c, Periodic) and c.axis in periodic))
    if not kept:
        return None
    window = dataclasses.replace(problem, boundary_conditions=kept, time_span=tuple(span))
    sampled = sample_collocation(window, n_interior=1, n_boundary=n_boundary, n_initial=1, method="uniform",
                                 seed=seed + 11, device=device, dtype=dtype)
    # loss_terms also forms the PDE term; on this one interior point it costs next to nothing
    only = Collocation(interior=sampled.interior, boundary=sampled.boundary, periodic=sampled.periodic)
    return lambda network: loss_terms(window, network, only)["boundary"]
