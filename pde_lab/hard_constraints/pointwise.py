r"""The PDE read pointwise from derivative values on the grid.

The hard-constraint rows need the PDE residual at grid nodes whose derivative values are
already known (basis partials contracted with weights). :class:`ValuesEngine` serves those
values to the problem's own residual through :class:`~pde_lab.fields.Fields`, so the
equation is written once, as for every other solver; :func:`required_partials` finds which
partials it reads by one probing evaluation.
"""

from __future__ import annotations

import torch

from pde_lab.fields import Fields, as_field_tuple
from pde_lab.problem import Problem

__all__ = ["ValuesEngine", "required_partials", "stream_function_of"]


class ValuesEngine:
    """Fields engine returning given derivative values: ``{axes: (n,)}`` for the first field
    (``()`` is the field), ``{(name, axes): (n,)}`` for a derived one."""

    name = "values"

    def __init__(self, values: dict) -> None:
        self.given = values

    def key(self, fields: Fields, index: int, axes: tuple[int, ...]):
        return axes if index == 0 else (fields.names[index], axes)

    def values(self, fields: Fields) -> torch.Tensor:
        return torch.stack([self.given[self.key(fields, i, ())] for i in range(len(fields.names))], dim=1)

    def partial(self, fields: Fields, index: int, axes: tuple[int, ...]) -> torch.Tensor:
        key = self.key(fields, index, axes)
        if key not in self.given:
            raise KeyError(f"basis partial {key} was not prepared")
        return self.given[key]


class _Recorder:
    def __init__(self) -> None:
        self.read: set[tuple[int, tuple[int, ...]]] = set()

    def values(self, fields: Fields) -> torch.Tensor:
        self.read.update((i, ()) for i in range(len(fields.names)))
        return torch.full((fields.points.shape[0], len(fields.names)), 0.5, dtype=fields.points.dtype)

    def partial(self, fields: Fields, index: int, axes: tuple[int, ...]) -> torch.Tensor:
        self.read.add((index, axes))
        return torch.zeros(fields.points.shape[0], dtype=fields.points.dtype)


def stream_function_of(problem: Problem) -> str | None:
    """The derived field's name if ``problem`` declares ``stream_function = (psi, w)``, w its first field."""
    declared = problem.parameters.get("stream_function")
    if declared is None:
        return None
    psi, w = declared
    if tuple(problem.fields) != (w, psi):
        raise ValueError(f"stream_function {declared!r} needs fields ({w!r}, {psi!r}), got {problem.fields}")
    return psi


def required_partials(problem: Problem) -> tuple[list[tuple[int, ...]], list[tuple[int, ...]]]:
    """The partials the PDE reads (by one probing evaluation) of the first field, plus first
    derivatives in every coordinate, and those of the derived field (the stream function)."""
    recorder = _Recorder()
    points = torch.full((3, problem.input_dim), 0.5, dtype=torch.float64)
    fields = Fields(lambda x: x, points, problem.fields, problem.coordinate_names, recorder)
    pde = problem.rate or problem.residual
    as_field_tuple(pde(fields, problem.parameters), problem.fields)
    axes = {a for i, a in recorder.read if i == 0} | {(i,) for i in range(problem.spatial_dim)}  # normal derivatives
    if problem.is_time_dependent:
        axes.add((problem.input_dim - 1,))
    derived = {a for i, a in recorder.read if i == 1 and a}
    if any(len(a) > 2 for a in axes | derived):
        raise ValueError("hard constraints on the grid support derivatives up to second order")
    order = lambda a: (len(a), a)  # noqa: E731
    return sorted(axes, key=order), sorted(derived, key=order)
