"""Translating a :class:`~pde_lab.problem.Problem` into DeepXDE's data, conditions and PDE.

Used by :mod:`pde_lab.solvers.deepxde_peer`; DeepXDE's public API only. What DeepXDE cannot
express (periodicity on a geometry without periodic images, a geometry with no DeepXDE
counterpart, a ``where`` mask that selects none of its boundary points) is a ``ValueError``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from pde_lab.conditions import Dirichlet, Neumann, Periodic, evaluate_value
from pde_lab.problem import Problem

__all__ = ["deepxde_pde", "deepxde_data"]


# --------------------------------------------------------------------- the PDE
def deepxde_pde(problem: Problem) -> Callable[[Any, Any], list]:
    r"""The function DeepXDE trains on: ``pde(x, y)`` -> one ``(n, 1)`` residual per field.

    ``x`` are DeepXDE's input points (requiring grad) and ``y = net(x)``; derivatives are
    taken by our :class:`~pde_lab.fields.Fields` on DeepXDE's graph. The residuals are those
    of :func:`pde_lab.collocation.pde_residuals`: :math:`\partial_t u - F[u]` or :math:`R[u]`.
    """
    from pde_lab.collocation import field_residuals
    from pde_lab.fields import Fields

    def pde(x, y) -> list:
        residuals = field_residuals(problem, Fields(lambda _points: y, x, problem.fields, problem.coordinate_names))
        return [r.expand(x.shape[0]).reshape(-1, 1) for r in residuals]

    return pde


# --------------------------------------------------------------- DeepXDE's data
def deepxde_data(dde, problem: Problem, options: Any, distribution: str) -> tuple:
    """``dde.data.PDE`` or ``TimePDE`` for ``problem``, and the number of boundary loss terms."""
    space = getattr(problem.geometry, "_deepxde", None)
    if space is None:
        raise ValueError(
            f"DeepXDE cannot express geometry {problem.geometry!r}: it has no DeepXDE counterpart "
            "(use a geometries.* domain)"
        )
    geometry = space
    if problem.is_time_dependent:
        geometry = dde.geometry.GeometryXTime(space, dde.geometry.TimeDomain(*problem.time_span))
    conditions, labels = _deepxde_boundary_conditions(dde, problem, space, geometry)
    n_boundary_terms = len(conditions)
    if problem.is_time_dependent:
        conditions += [
            _initial_condition(dde, problem, geometry, k) for k in range(len(problem.fields))
        ]
        labels += [f"the initial condition of {name!r}" for name in problem.fields]
    common = {
        "num_domain": options.n_interior,
        "num_boundary": options.n_boundary if n_boundary_terms else 0,
        "train_distribution": distribution,
    }
    try:
        if problem.is_time_dependent:
            data = dde.data.TimePDE(
                geometry, deepxde_pde(problem), conditions, num_initial=options.n_initial, **common
            )
        else:
            data = dde.data.PDE(geometry, deepxde_pde(problem), conditions, **common)
    except NotImplementedError as error:
        raise ValueError(f"DeepXDE cannot express problem {problem.name!r}: {error}") from None
    for count, label in zip(data.num_bcs, labels, strict=True):
        if count == 0:
            raise ValueError(
                f"{label} selects none of DeepXDE's {options.n_boundary} boundary points; "
                "check its `where`, or raise n_boundary"
            )
    return data, n_boundary_terms


def _deepxde_boundary_conditions(dde, problem: Problem, space, geometry) -> tuple[list, list[str]]:
    """DeepXDE's BCs for our conditions (two per field for Periodic), with a label for each."""
    conditions, labels = [], []
    for condition in problem.boundary_conditions:
        if isinstance(condition, Periodic):
            if type(space).periodic_point is dde.geometry.Geometry.periodic_point:
                raise ValueError(
                    f"DeepXDE cannot express {condition!r} on {problem.geometry!r}: its DeepXDE "
                    f"{type(space).__name__} has no periodic images (periodic_point)"
                )
            axis = condition.axis
            on_lower = _lower_face(axis, *(float(bound[axis]) for bound in problem.geometry.bounds))
            for name in problem.fields if condition.field is None else (condition.field,):
                k = problem.fields.index(name)
                conditions += [
                    dde.icbc.PeriodicBC(
                        geometry, axis, on_lower, derivative_order=order, component=k
                    )
                    for order in (0, 1)
                ]
                labels += [repr(condition)] * 2
            continue
        k = problem.fields.index(condition.field or problem.fields[0])
        kind = {Dirichlet: dde.icbc.DirichletBC, Neumann: dde.icbc.NeumannBC}[type(condition)]
        conditions.append(
            kind(geometry, _numpy_value(condition.value), _selector(condition.where), component=k)
        )
        labels.append(repr(condition))
    return conditions, labels


def _lower_face(axis: int, lower: float, upper: float) -> Callable[[np.ndarray, bool], bool]:
    """DeepXDE's ``on_boundary(x, on)`` for the face ``x[axis] = lower``; PeriodicBC pairs it."""
    tolerance = 1e-9 * max(1.0, upper - lower)
    return lambda x, on: bool(on) and abs(float(x[axis]) - lower) <= tolerance


def _numpy_value(value) -> Callable[[np.ndarray], np.ndarray]:
    """Our value (number or torch callable of points) as DeepXDE's ``numpy (n, D) -> (n, 1)``."""
    import torch

    def evaluate(points: np.ndarray) -> np.ndarray:
        tensor = torch.as_tensor(np.asarray(points, dtype=np.float64))
        out = evaluate_value(value, tensor).detach().cpu().numpy().reshape(-1, 1)
        return out.astype(points.dtype, copy=False)

    return evaluate


def _selector(where) -> Callable[[np.ndarray, bool], bool]:
    """DeepXDE's per-point ``on_boundary(x, on)`` from our optional ``where`` mask."""
    import torch

    if where is None:
        return lambda x, on: bool(on)

    def select(x: np.ndarray, on: bool) -> bool:
        if not on:
            return False
        mask = where(torch.as_tensor(np.asarray(x, dtype=np.float64)[None, :]))
        return bool(torch.as_tensor(mask).reshape(-1)[0])

    return select


def _initial_condition(dde, problem: Problem, geometry, k: int):
    import torch

    n_fields = len(problem.fields)

    def evaluate(points: np.ndarray) -> np.ndarray:
        space = torch.as_tensor(np.asarray(points[:, :-1], dtype=np.float64))
        out = torch.as_tensor(problem.initial_condition(space)).detach().cpu()
        out = out.reshape(len(points), -1)
        if out.shape[1] != n_fields:
            raise ValueError(
                f"initial_condition returned {out.shape[1]} columns for fields {problem.fields}"
            )
        return out[:, k : k + 1].numpy().astype(points.dtype, copy=False)

    return dde.icbc.IC(geometry, evaluate, lambda _x, on_initial: bool(on_initial), component=k)


# ---------------------------------------------------------------- the training
