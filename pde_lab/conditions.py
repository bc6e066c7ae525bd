"""Boundary conditions: where on the boundary, which field, and what value.

``value`` is a number or a callable of the boundary points (torch tensor ``(n, d)``, or
``(n, d + 1)`` with time last) returning ``(n,)``; ``where`` optionally selects part of
the boundary: a callable of the same points returning a boolean mask. ``where=None``
means the whole boundary.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["BoundaryCondition", "Dirichlet", "Neumann", "Periodic"]

Value = float | Callable[[Any], Any]
Where = Callable[[Any], Any] | None


def _check_value(value: Any, kind: str) -> None:
    if callable(value):
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{kind} value must be a number or a callable of the points, got {type(value).__name__}")
    if not math.isfinite(value):
        raise ValueError(f"{kind} value must be finite, got {value!r}")


@dataclass(frozen=True)
class Dirichlet:
    r"""Prescribed value :math:`u = g` on (part of) the boundary."""

    value: Value = 0.0
    where: Where = None
    field: str | None = "u"

    def __post_init__(self) -> None:
        _check_value(self.value, "Dirichlet")


@dataclass(frozen=True)
class Neumann:
    r"""Prescribed outward normal derivative :math:`\partial u / \partial n = g`."""

    value: Value = 0.0
    where: Where = None
    field: str | None = "u"

    def __post_init__(self) -> None:
        _check_value(self.value, "Neumann")


@dataclass(frozen=True)
class Periodic:
    """Periodicity along one spatial axis: values and first derivatives match on opposite faces.

    ``field=None`` applies to every field.
    """

    axis: int = 0
    field: str | None = None

    def __post_init__(self) -> None:
        if isinstance(self.axis, bool) or not isinstance(self.axis, int) or self.axis < 0:
            raise ValueError(f"Periodic axis must be a non-negative int, got {self.axis!r}")


BoundaryCondition = Dirichlet | Neumann | Periodic


def evaluate_value(value: Value, points: Any) -> Any:
    """Evaluate a condition's value at torch points, broadcasting constants to ``(n,)``."""
    import torch

    if callable(value):
        out = torch.as_tensor(value(points), dtype=points.dtype, device=points.device)
        return out.reshape(-1) if out.ndim > 1 else out.expand(points.shape[0])
    return torch.full((points.shape[0],), float(value), dtype=points.dtype, device=points.device)
