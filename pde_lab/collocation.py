r"""Collocation points and the physics-informed loss terms built on them.

For an evolution problem :math:`u_t = F[u]` the interior term is the mean square of
:math:`u_t - F[u]`; for a steady problem, of the residual :math:`R[u]`. Boundary terms:
Dirichlet :math:`u - g`, Neumann :math:`\nabla u \cdot n - g`, periodic
:math:`u(x_{lo}) - u(x_{hi})` and the same for the first derivative along the axis.
Initial term: :math:`u(x, t_0) - u_0(x)`. With ``residual_on_boundary`` the interior term
also takes the boundary and initial points, so the PDE is enforced on the closed
space-time cylinder (DeepXDE's choice).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from pde_lab.conditions import Dirichlet, Neumann, Periodic, evaluate_value
from pde_lab.fields import Fields, as_field_tuple
from pde_lab.problem import Problem
from pde_lab.validation import check_bool, check_int

__all__ = ["Collocation", "sample_collocation", "loss_terms"]


@dataclass
class Collocation:
    """Sampled points, on the solver's device and dtype."""

    interior: torch.Tensor
    boundary: list[tuple[Any, torch.Tensor, torch.Tensor | None, torch.Tensor]] = field(default_factory=list)
    periodic: list[tuple[Periodic, torch.Tensor, torch.Tensor]] = field(default_factory=list)
    initial: tuple[torch.Tensor, torch.Tensor] | None = None
    on_boundary: torch.Tensor | None = None  # boundary and initial points where the PDE is also enforced

    def residual_points(self) -> torch.Tensor:
        """Where the PDE residual is taken: the interior points, and ``on_boundary`` when set."""
        return self.interior if self.on_boundary is None else torch.cat([self.interior, self.on_boundary])

    def to(self, dtype: torch.dtype) -> Collocation:
        """Cast every floating-point tensor (points, normals, targets) to ``dtype``, in place; returns self."""
        def cast(value: Any) -> Any:
            if isinstance(value, torch.Tensor):
                return value.to(dtype) if value.is_floating_point() else value
            if isinstance(value, tuple):
                return tuple(cast(item) for item in value)
            return value

        self.interior = cast(self.interior)
        self.boundary = [cast(entry) for entry in self.boundary]
        self.periodic = [cast(entry) for entry in self.periodic]
        self.initial, self.on_boundary = cast(self.initial), cast(self.on_boundary)
        return self


def _times(problem: Problem, n: int, rng: np.random.Generator) -> np.ndarray:
    t0, t1 = problem.time_span
    return rng.uniform(t0, t1, size=(n, 1))


def _with_time(problem: Problem, space: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    if not problem.is_time_dependent:
        return space
    return np.hstack([space, _times(problem, len(space), rng)])


def sample_collocation(
    problem: Problem,
    *,
    n_interior: int,
    n_boundary: int,
    n_initial: int,
    method: str = "hammersley",
    seed: int = 0,
    device: torch.device | str = "cpu",
    dtype: torch.dtype = torch.float32,
    residual_on_boundary: bool = False,
) -> Collocation:
    """Sample interior, boundary and initial points for ``problem``.

    Interior points come from the geometry (``method``: uniform, sobol, hammersley, ...),
    jointly over the space-time cylinder for evolution problems; boundary points get times
    uniformly at random from ``problem.time_span``. Everything is seeded by ``seed``.
    ``residual_on_boundary`` keeps every boundary point (all faces, whatever the conditions
    select) and every initial point in ``on_boundary`` too, for the PDE residual.
    """
    check_bool("residual_on_boundary", residual_on_boundary)
    for name, n in (("n_interior", n_interior), ("n_boundary", n_boundary), ("n_initial", n_initial)):
        check_int(name, n)
    rng = np.random.default_rng(seed)
    geometry = problem.geometry

    def tensor(array: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(np.asarray(array, dtype=np.float64), dtype=dtype, device=device)

    if problem.is_time_dependent:  # one joint sequence over the space-time cylinder
        interior = geometry.sample_space_time(n_interior, problem.time_span, method=method, seed=seed)
    else:
        interior = geometry.sample_interior(n_interior, method=method, seed=seed)
    collocation = Collocation(interior=tensor(interior))
    closure = []
    if problem.boundary_conditions:
        space = np.asarray(geometry.sample_boundary(n_boundary, method=method, seed=seed + 1))
        points = _with_time(problem, space, rng)
        if residual_on_boundary:
            closure.append(tensor(points))
        for condition in problem.boundary_conditions:
            if isinstance(condition, Periodic):
                collocation.periodic.append(_periodic_pairs(problem, condition, space, points, tensor))
                continue
            selected = tensor(points)
            normals = tensor(geometry.boundary_normal(space)) if isinstance(condition, Neumann) else None
            if condition.where is not None:
                mask = torch.as_tensor(condition.where(selected), dtype=torch.bool, device=selected.device)
                mask = mask.reshape(-1)
                if not bool(mask.any()):
                    raise ValueError(f"{condition!r}: its `where` selects none of the {len(space)} boundary points")
                selected = selected[mask]
                normals = normals[mask] if normals is not None else None
            target = evaluate_value(condition.value, selected)
            collocation.boundary.append((condition, selected, normals, target))
    if problem.is_time_dependent and problem.initial_condition is not None:
        t0 = problem.time_span[0]
        space = np.asarray(geometry.sample_interior(n_initial, method=method, seed=seed + 2))
        points = tensor(np.hstack([space, np.full((len(space), 1), t0)]))
        target = problem.initial_condition(points[:, :-1])
        target = torch.as_tensor(target, dtype=dtype, device=device).reshape(len(space), -1)
        if target.shape[1] != len(problem.fields):
            raise ValueError(
                f"initial_condition returned {target.shape[1]} columns for fields {problem.fields}"
            )
        if not torch.isfinite(target).all():
            raise ValueError("initial_condition returned NaN or inf")
        collocation.initial = (points, target)
        if residual_on_boundary:
            closure.append(points)
    if closure:
        collocation.on_boundary = torch.cat(closure)
    return collocation


def _periodic_pairs(problem: Problem, condition: Periodic, space: np.ndarray, points: np.ndarray, tensor) -> tuple:
    lower, upper = (np.asarray(b, dtype=float) for b in problem.geometry.bounds)
    axis = condition.axis
    on_lower = np.isclose(space[:, axis], lower[axis], atol=1e-9 * max(1.0, abs(upper[axis] - lower[axis])))
    if not on_lower.any():
        raise ValueError(f"{condition!r}: no boundary points on the lower face of axis {axis}")
    low = points[on_lower].copy()
    high = low.copy()
    high[:, axis] = upper[axis]
    return condition, tensor(low), tensor(high)


def _fields(problem: Problem, function, points: torch.Tensor, engine) -> Fields:
    # Only reverse mode differentiates with respect to the points; for the Taylor engines a
    # leaf that requires grad would make every backward pass also compute d(loss)/d(points).
    points = points.detach().clone()
    if engine is None or getattr(engine, "name", None) == "autograd":
        points.requires_grad_(True)
    return Fields(function, points, problem.fields, problem.coordinate_names, engine)


def pde_residuals(problem: Problem, function, points: torch.Tensor, engine=None) -> tuple[torch.Tensor, ...]:
    """Pointwise residuals, one ``(n,)`` tensor per field: ``u_t - F[u]`` or ``R[u]``."""
    return field_residuals(problem, _fields(problem, function, points, engine))


def field_residuals(problem: Problem, f: Fields) -> tuple[torch.Tensor, ...]:
    """The residuals of ``problem`` on a ready :class:`~pde_lab.fields.Fields` ``f``."""
    n = f.points.shape[0]
    if problem.rate is not None:
        rates = as_field_tuple(problem.rate(f, problem.parameters), problem.fields, n)
        return tuple(f.d(name, "t") - rate for name, rate in zip(problem.fields, rates, strict=True))
    residuals = as_field_tuple(problem.residual(f, problem.parameters), problem.fields, n, single=False)
    values = f.evaluated  # the network's outputs, when the residual used them
    for name, residual in zip(problem.fields, residuals, strict=True):
        # a residual computed from the network's outputs but without their gradient (a numpy array, a detached
        # tensor) would train on nothing
        if values is not None and values.requires_grad and not residual.requires_grad:
            raise ValueError(f"the residual for field {name!r} has lost the network's gradient (a numpy array "
                             "or a detached tensor?); write it with torch operations on f.u, f.u_x, f.lap('u'), ...")
    return residuals


def loss_terms(problem: Problem, function, collocation: Collocation, engine=None) -> dict[str, torch.Tensor]:
    """Mean-square loss terms: ``pde``, ``boundary`` (all conditions) and ``initial``."""
    residuals = pde_residuals(problem, function, collocation.residual_points(), engine)
    terms = {"pde": sum(r.square().mean() for r in residuals)}
    boundary = []
    for condition, points, normals, target in collocation.boundary:
        name = condition.field or problem.fields[0]
        if isinstance(condition, Dirichlet):
            boundary.append((function(points)[:, problem.fields.index(name)] - target).square().mean())
        else:
            f = _fields(problem, function, points, engine)
            flux = (f.grad(name) * normals).sum(dim=1)
            boundary.append((flux - target).square().mean())
    for condition, low, high in collocation.periodic:
        names = problem.fields if condition.field is None else (condition.field,)
        f_low, f_high = _fields(problem, function, low, engine), _fields(problem, function, high, engine)
        coordinate = problem.coordinate_names[condition.axis]
        for name in names:
            boundary.append((f_low.d(name) - f_high.d(name)).square().mean())
            boundary.append((f_low.d(name, coordinate) - f_high.d(name, coordinate)).square().mean())
    if boundary:
        terms["boundary"] = sum(boundary)
    if collocation.initial is not None:
        points, target = collocation.initial
        terms["initial"] = (function(points) - target).square().mean()
    return terms
