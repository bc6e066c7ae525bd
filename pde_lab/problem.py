"""The problem description: pure data, handed unchanged to every solver.

A :class:`Problem` holds a geometry, an optional time span, the names of the unknown
fields, the PDE (a *rate* for evolution problems, a *residual* otherwise), boundary and
initial conditions, parameters, and optionally an exact solution and a reference solver.
Nothing is sampled and nothing is stored while solving: collocation belongs to the solver.

All callables in a problem act on ``torch`` tensors: points have shape ``(n, d)`` for steady
problems and ``(n, d + 1)`` (time in the last column) for evolution problems.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pde_lab.conditions import BoundaryCondition, Dirichlet, Neumann, Periodic
from pde_lab.transport import Transport

if TYPE_CHECKING:
    from pde_lab.fields import Fields
    from pde_lab.solution import Solution

__all__ = ["Parameters", "Problem"]


class Parameters(Mapping[str, Any]):
    """Immutable named parameters with attribute access: ``p.nu``.

    Numbers must be finite; callables (a source term, a coefficient field) are allowed.

    >>> p = Parameters(nu=0.01)
    >>> p.nu
    0.01
    """

    def __init__(self, **values: Any) -> None:
        for name, value in values.items():
            _check_finite(name, value)
        object.__setattr__(self, "_values", dict(values))

    def __getattr__(self, name: str) -> Any:
        try:
            return self._values[name]
        except KeyError:
            known = ", ".join(sorted(self._values)) or "none"
            raise AttributeError(f"no parameter {name!r}; parameters are: {known}") from None

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("Parameters are immutable; use Problem.with_parameters(...)")

    def __getitem__(self, name: str) -> Any:
        return self._values[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}={v!r}" for k, v in self._values.items())
        return f"Parameters({inner})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Parameters) and self._values == other._values

    def __hash__(self) -> int:
        return hash(tuple(sorted((k, repr(v)) for k, v in self._values.items())))


def _check_finite(name: str, value: Any) -> None:
    if isinstance(value, bool) or callable(value) or isinstance(value, str):
        return
    if isinstance(value, (int, float)):
        if not math.isfinite(value):
            raise ValueError(f"parameter {name!r} must be finite, got {value!r}")
        return
    try:  # arrays / tensors of numbers
        import numpy as np

        array = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        return
    if not np.all(np.isfinite(array)):
        raise ValueError(f"parameter {name!r} contains NaN or inf")


Rate = Callable[["Fields", Parameters], Any]
Residual = Callable[["Fields", Parameters], Any]


@dataclass(frozen=True, eq=False)
class Problem:
    r"""A PDE problem, defined once and handed to any solver.

    Evolution problems give the rate :math:`u_t = F[u]`; steady problems give the residual
    :math:`R[u] = 0`. Both are written with lazy derivative access, e.g.::

        rate=lambda f, p: -f.u * f.u_x + p.nu * f.u_xx          # Burgers
        residual=lambda f, p: -f.lap("u") - p.source(f.space)   # Poisson

    Parameters
    ----------
    name
        Lower-case, hyphenated name (``"poisson"``, ``"burgers"``).
    geometry
        The spatial domain (see :mod:`geometries`).
    fields
        Names of the unknown fields; a rate/residual for several fields returns a tuple
        or a dict keyed by field name.
    rate, residual
        Exactly one of them. ``rate`` requires ``time_span`` and ``initial_condition``.
    boundary_conditions
        :class:`~pde_lab.conditions.Dirichlet`, :class:`~pde_lab.conditions.Neumann`,
        :class:`~pde_lab.conditions.Periodic`.
    initial_condition
        ``x -> u(x, t0)``, shape ``(n,)`` or ``(n, n_fields)``.
    time_span
        ``(t0, t1)`` with ``t0 < t1``, or ``None`` for steady problems.
    parameters
        Named constants and coefficient functions, reachable as ``p.name`` in the PDE.
    exact_solution
        Optional ``(points, p) -> u`` (``p`` the parameters, so the exact solution follows
        :meth:`with_parameters`), used as the reference when present.
    reference_solver
        Optional ``problem -> Solution`` building a trustworthy numerical reference
        (FEM, spectral); called by :meth:`reference`.
    description
        One line for listings.
    transport
        Optional :class:`~pde_lab.transport.Transport`: for a scalar convection–diffusion
        rate :math:`u_t = -a \cdot \nabla u + D \Delta u`, which part is convection
        (velocity :math:`a`) and which diffusion (:math:`D`). Read by Lagrangian solvers
        (``"lpinn"``); every other solver ignores it.
    gauge
        Fields known only up to an additive constant (at each instant): a pressure with
        velocity-only boundary conditions. Errors (:meth:`Solution.error_vs`) compare them
        after removing their mean over the evaluation points, per time level:
        :math:`\|(p - \bar p) - (p_\text{ref} - \bar p_\text{ref})\|`.
    """

    name: str
    geometry: Any
    fields: tuple[str, ...] = ("u",)
    rate: Rate | None = None
    residual: Residual | None = None
    boundary_conditions: tuple[BoundaryCondition, ...] = ()
    initial_condition: Callable[[Any], Any] | None = None
    time_span: tuple[float, float] | None = None
    parameters: Parameters = field(default_factory=Parameters)
    exact_solution: Callable[[Any], Any] | None = None
    reference_solver: Callable[[Problem], Solution] | None = None
    description: str = ""
    transport: Transport | None = None
    gauge: tuple[str, ...] = ()
    # not an init field: dataclasses.replace() gives the copy an empty cache, never the original's reference
    _cache: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise TypeError("Problem.name must be a non-empty string")
        for attr in ("dim", "contains", "sample_interior", "sample_boundary"):
            if not hasattr(self.geometry, attr):
                raise TypeError(
                    f"Problem.geometry must be a geometries.Geometry (missing .{attr}), "
                    f"got {type(self.geometry).__name__}"
                )
        fields = tuple(self.fields) if not isinstance(self.fields, str) else (self.fields,)
        if not fields or not all(isinstance(n, str) and n.isidentifier() for n in fields):
            raise ValueError(f"fields must be identifiers, got {self.fields!r}")
        object.__setattr__(self, "fields", fields)
        if isinstance(self.parameters, Mapping) and not isinstance(self.parameters, Parameters):
            object.__setattr__(self, "parameters", Parameters(**self.parameters))
        if (self.rate is None) == (self.residual is None):
            raise ValueError("give exactly one of rate= (evolution) or residual= (steady)")
        if self.time_span is not None:
            t0, t1 = (float(t) for t in self.time_span)
            if not (math.isfinite(t0) and math.isfinite(t1) and t0 < t1):
                raise ValueError(f"time_span must be finite with t0 < t1, got {self.time_span}")
            object.__setattr__(self, "time_span", (t0, t1))
        if self.rate is not None and (self.time_span is None or self.initial_condition is None):
            raise ValueError("an evolution problem (rate=...) needs time_span and initial_condition")
        conditions = tuple(self.boundary_conditions)
        for condition in conditions:
            if not isinstance(condition, (Dirichlet, Neumann, Periodic)):
                raise TypeError(f"unknown boundary condition {condition!r}")
            if condition.field is None and not isinstance(condition, Periodic) and len(fields) > 1:
                raise ValueError(f"{condition!r} must name its field: the problem has fields {fields}")
            if condition.field is not None and condition.field not in fields:
                raise ValueError(f"{condition!r} names field {condition.field!r}; fields: {fields}")
            if isinstance(condition, Periodic) and not 0 <= condition.axis < self.geometry.dim:
                raise ValueError(f"Periodic axis {condition.axis} out of range for dim {self.geometry.dim}")
        object.__setattr__(self, "boundary_conditions", conditions)
        gauge = (self.gauge,) if isinstance(self.gauge, str) else tuple(self.gauge)
        if not set(gauge) <= set(fields):
            raise ValueError(f"gauge names fields {sorted(set(gauge) - set(fields))} the problem does not have: {fields}")
        object.__setattr__(self, "gauge", gauge)
        if self.transport is not None:
            if not isinstance(self.transport, Transport):
                raise TypeError(f"Problem.transport must be a pde_lab.transport.Transport, got {self.transport!r}")
            if self.rate is None or len(fields) != 1:
                raise ValueError("transport= describes the rate of a one-field evolution problem (rate=..., one field)")

    # ---------------------------------------------------------------- properties
    @property
    def is_time_dependent(self) -> bool:
        return self.time_span is not None

    @property
    def spatial_dim(self) -> int:
        return int(self.geometry.dim)

    @property
    def input_dim(self) -> int:
        """Columns of a point: space, plus time for evolution problems."""
        return self.spatial_dim + (1 if self.is_time_dependent else 0)

    @property
    def coordinate_names(self) -> tuple[str, ...]:
        """``("x",)``, ``("x", "y")``, ``("x", "y", "z")`` or ``("x1", ..., "xd")``, then ``"t"``."""
        d = self.spatial_dim
        names = ("x", "y", "z")[:d] if d <= 3 else tuple(f"x{i + 1}" for i in range(d))
        return names + (("t",) if self.is_time_dependent else ())

    # ------------------------------------------------------------------- methods
    def with_parameters(self, **values: Any) -> Problem:
        """A copy with some parameters replaced (validated like the originals)."""
        unknown = set(values) - set(self.parameters)
        if unknown:
            raise ValueError(f"unknown parameters {sorted(unknown)}; known: {sorted(self.parameters)}")
        merged = Parameters(**{**dict(self.parameters), **values})
        return dataclasses.replace(self, parameters=merged)

    def reference(self) -> Solution:
        """The trustworthy answer: the exact solution if known, else the reference solver's.

        Computed once per problem instance and memoised.
        """
        if "reference" not in self._cache:
            if self.exact_solution is not None:
                from pde_lab.solution import Solution

                self._cache["reference"] = Solution.from_function(self, self.exact, solver="exact")
            elif self.reference_solver is not None:
                self._cache["reference"] = self.reference_solver(self)
            else:
                raise ValueError(
                    f"problem {self.name!r} has no exact solution and no reference solver; "
                    "pass a reference to error_vs(...) explicitly"
                )
        return self._cache["reference"]

    def exact(self, points: Any) -> Any:
        """The exact solution at torch ``points`` with this problem's parameters."""
        if self.exact_solution is None:
            raise ValueError(f"problem {self.name!r} has no exact solution")
        return self.exact_solution(points, self.parameters)

    @property
    def has_reference(self) -> bool:
        return self.exact_solution is not None or self.reference_solver is not None

    def evaluation_points(self, resolution: int | None = None) -> Any:
        """Deterministic points (numpy, float64) on which errors are measured.

        Up to three dimensions: a tensor grid of the bounding box restricted to the domain
        (``resolution`` nodes per axis). Above three: ``resolution`` (default 4096) seeded
        uniform samples of the domain, since a grid would grow as ``resolution**d``.
        Evolution problems add ``resolution`` instants (1D) or ``max(11, resolution // 4)``.
        """
        import numpy as np

        d = self.spatial_dim
        if d > 3:
            space = np.asarray(self.geometry.sample_interior(resolution or 4096, method="uniform", seed=20261122))
        else:
            resolution = resolution or {1: 201, 2: 81, 3: 21}[d]
            space = np.asarray(self.geometry.grid(resolution), dtype=float)
        if not self.is_time_dependent:
            return space
        t0, t1 = self.time_span
        n_times = resolution if d == 1 else 20 if d > 3 else max(11, resolution // 4)
        times = np.linspace(t0, t1, n_times)
        grid = np.repeat(times, len(space))
        return np.column_stack([np.tile(space, (n_times, 1)), grid])

    def __repr__(self) -> str:
        kind = "evolution" if self.is_time_dependent else "steady"
        return f"Problem({self.name!r}, {kind}, fields={self.fields}, geometry={self.geometry!r})"
