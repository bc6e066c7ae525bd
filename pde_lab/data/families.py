r"""Problem families: random members whose reference solutions are an operator's data.

A :class:`Family` draws member ``i`` as an ordinary :class:`~pde_lab.problem.Problem`
(seeded by ``(seed, i)`` alone, see :func:`~pde_lab.data.grf.sample_seed`); the member's own
``reference()`` produces the target. ``inputs(problem)`` and ``targets(solution)`` put both
on the family's data grid, channels last; ``field(problem, outputs)`` turns an operator's
output grid back into a :class:`~pde_lab.solution.Solution` field. Inputs are read from the
problem itself (its initial condition or coefficient), so an operator trained on a family
answers any problem of the same form, not only the sampled ones.

Data grids are subsampled from the reference grid (the FNO recipe: generate fine, subsample),
and the random functions do not depend on ``resolution``: the same member at a finer
``resolution`` is the same function on a finer grid.

The families of the FNO paper (Li et al., "Fourier neural operator for parametric PDEs",
ICLR 2021):

- :class:`~pde_lab.data.burgers_family.BurgersFamily` -- :math:`u_t + u u_x = \nu u_{xx}` on
  the periodic unit interval, :math:`\nu = 0.1`, :math:`u_0 \sim N(0, 625(-\Delta + 25I)^{-2})`,
  map :math:`u_0 \mapsto u(\cdot, 1)` (or the trajectory on ``n_times`` instants, for PINO).
- :class:`~pde_lab.data.navier_stokes_family.NavierStokesFamily` -- vorticity on the unit
  torus, :math:`\nu = 10^{-3}`, map :math:`w|_{t=1..10} \mapsto w|_{t=11..50}`.
- ``DarcyFamily`` (in :mod:`problems.darcy`, with its FEM reference).

This module holds the machinery (the :class:`Family` base, the registry, shared helpers) and
re-exports the concrete families, so ``from pde_lab.data.families import BurgersFamily`` works.
"""

from __future__ import annotations

import abc
import dataclasses
import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from pde_lab.problem import Problem
from pde_lab.solution import Solution

__all__ = ["FAMILIES", "BurgersFamily", "Family", "NavierStokesFamily", "SnapshotGrid", "family_of", "make_family"]

#: Family names -> "module:Class"; imported only when used.
FAMILIES: dict[str, str] = {
    "burgers": "pde_lab.data.burgers_family:BurgersFamily",
    "navier-stokes": "pde_lab.data.navier_stokes_family:NavierStokesFamily",
    "darcy": "problems.darcy:DarcyFamily",
}


def make_family(family: str | Family, **options: Any) -> Family:
    """A family from its name in :data:`FAMILIES` and options, or a Family object unchanged."""
    if isinstance(family, Family):
        return dataclasses.replace(family, **options) if options else family
    if not isinstance(family, str) or family not in FAMILIES:
        raise ValueError(f"unknown family {family!r}; known families: {', '.join(sorted(FAMILIES))}")
    module, _, name = FAMILIES[family].partition(":")
    return getattr(importlib.import_module(module), name)(**options)


def family_of(problem: Problem) -> Family:
    """The family (with its default settings) whose members are problems like ``problem``."""
    for name in FAMILIES:
        family = make_family(name)
        if family.member_name == getattr(problem, "name", None):
            return family
    raise ValueError(f"neural operators learn families of problems ({', '.join(sorted(FAMILIES))}); "
                     f"none has members named {getattr(problem, 'name', problem)!r}")


@dataclass(frozen=True)
class SnapshotGrid:
    """A reference's raw grid data: ``values`` of shape ``(n_times, *grid, n_fields)``."""

    axes: tuple[np.ndarray, ...]
    times: np.ndarray | None
    values: np.ndarray


def stride(reference_resolution: int, resolution: int, periodic: bool) -> int:
    """Subsampling step from the reference grid to the data grid (which must divide it)."""
    fine, coarse = (reference_resolution, resolution) if periodic else (reference_resolution - 1, resolution - 1)
    if coarse < 1 or fine % coarse:
        kind = "n" if periodic else "n - 1"
        raise ValueError(f"resolution {resolution} must subsample the reference grid {reference_resolution} "
                         f"({kind} must divide {fine})")
    return fine // coarse


def torch_points(points: np.ndarray):
    """``points`` as a contiguous float64 torch tensor (what members' callables take)."""
    import torch

    return torch.as_tensor(np.ascontiguousarray(points), dtype=torch.float64)


class Family(abc.ABC):
    """A seeded random family of problems and the grids an operator sees (abstract).

    Concrete families are frozen dataclasses with at least ``resolution`` and ``seed``.
    """

    name: ClassVar[str]
    member_name: ClassVar[str]
    #: FNO settings of the paper for this family (original convention: modes per corner).
    fno_settings: ClassVar[dict[str, Any]] = {}
    resolution: int
    seed: int

    @abc.abstractmethod
    def problem(self, index: int) -> Problem:
        """Member ``index`` (reproducible alone)."""

    @abc.abstractmethod
    def inputs(self, problem: Problem, resolution: int | None = None) -> np.ndarray:
        """The operator's input, ``(*input_grid, channels)``, read from a member."""

    @abc.abstractmethod
    def output_axes(self, resolution: int | None = None) -> list[tuple[np.ndarray, bool]]:
        """Coordinates of each output-grid axis (scaled to [0, 1]) and whether it is periodic."""

    @abc.abstractmethod
    def targets(self, solution: Solution, resolution: int | None = None) -> np.ndarray:
        """A solution of a member on the output grid, ``(*output_grid, channels)``."""

    @abc.abstractmethod
    def field(self, problem: Problem, outputs: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
        """A Solution field from an operator's output grid for ``problem``."""

    @property
    def has_residual(self) -> bool:
        """Whether :meth:`residual` is available (PINO needs it)."""
        return type(self).residual is not Family.residual

    def residual(self, outputs: Any, inputs: Any) -> Any:
        """PDE residual of a batch of outputs ``(batch, *grid, c)`` on the output grid (torch), for PINO.

        ``inputs`` are the operator's inputs broadcast to the output grid.
        """
        raise ValueError(f"family {self.name!r} has no PDE residual on its output grid")

    def sample(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """``(inputs, targets)`` of member ``index`` at ``self.resolution``, via its reference."""
        problem = self.problem(index)
        reference = problem.reference()
        if not reference.status.ok:
            raise RuntimeError(f"reference of {self.name} member {index} failed: {reference.message}")
        return self.inputs(problem), self.targets(reference)

    def metadata(self) -> dict[str, Any]:
        """JSON-ready description: the family's name and every setting."""
        return {"family": self.name, **{k: v for k, v in dataclasses.asdict(self).items()}}

    def check_member(self, problem: Problem, **expected: Any) -> None:
        if not isinstance(problem, Problem):
            raise TypeError(f"expected a Problem, got {type(problem).__name__}")
        if problem.name != self.member_name:
            raise ValueError(f"problem {problem.name!r} is not a member of family {self.name!r} "
                             f"(members are {self.member_name!r} problems)")
        for key, value in expected.items():
            actual = problem.time_span if key == "time_span" else problem.parameters.get(key)
            if actual is None or not np.allclose(actual, value, rtol=1e-12, atol=0):
                raise ValueError(f"problem has {key} = {actual!r} but family {self.name!r} was trained "
                                 f"with {key} = {value!r}")


# The concrete families import the machinery above, so they come last.
from pde_lab.data.burgers_family import BurgersFamily
from pde_lab.data.navier_stokes_family import NavierStokesFamily
