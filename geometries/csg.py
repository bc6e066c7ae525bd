"""Constructive solid geometry: union, difference and intersection of two geometries.

Point queries are DeepXDE's ``CSGUnion``, ``CSGDifference`` and ``CSGIntersection``. Their
*samplers* are not used, because for this purpose they misbehave: ``CSGUnion.random_points``
ignores the method (always pseudo-random); ``CSGDifference``/``CSGIntersection`` re-call the
operand's sampler in a loop, which for the deterministic sequences (Sobol, Halton,
Hammersley) returns the same points again, so the result holds duplicates; and their
boundary loops never end when the first batch of a deterministic sequence is filtered out.
Instead:

* interior: the method's sequence on the bounding box, kept where strictly inside;
* boundary: the operands' boundary samples (DeepXDE's samplers), pooled, shuffled, kept where
  on the CSG boundary. As in DeepXDE each operand contributes equally many candidates, so the
  density along the boundary is uniform per operand, not over the whole boundary.

CSG geometries cannot be meshed (:meth:`Geometry.mesh` raises ``ValueError``).
"""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np

from geometries.base import Geometry

__all__ = ["CSGDifference", "CSGIntersection", "CSGUnion"]


@dataclass(frozen=True)
class _CSG(Geometry):
    """Shared parts of the three CSG operations (abstract)."""

    first: Geometry
    second: Geometry

    def __post_init__(self) -> None:
        for operand in (self.first, self.second):
            if not isinstance(operand, Geometry):
                raise TypeError(
                    f"{type(self).__name__} operands must be Geometry objects, got {operand!r}"
                )
        if self.first.dim != self.second.dim:
            raise ValueError(
                f"{type(self).__name__}: dimensions differ ({self.first!r} has dim "
                f"{self.first.dim}, {self.second!r} has dim {self.second.dim})"
            )

    @property
    def dim(self) -> int:
        return self.first.dim

    def _interior_candidates(self, dde: ModuleType, m: int, method: str) -> np.ndarray:
        return self._bounding_box_candidates(dde, m, method)

    def _boundary_candidates(self, dde: ModuleType, m: int, method: str) -> np.ndarray:
        pool = np.concatenate(
            [
                np.asarray(self.first._boundary_candidates(dde, m, method), dtype=np.float64),
                np.asarray(self.second._boundary_candidates(dde, m, method), dtype=np.float64),
            ]
        )
        return pool[np.random.permutation(len(pool))]


@dataclass(frozen=True)
class CSGUnion(_CSG):
    """:math:`A \\cup B`, written ``a | b``."""

    @property
    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        (lo1, hi1), (lo2, hi2) = self.first.bounds, self.second.bounds
        return np.minimum(lo1, lo2), np.maximum(hi1, hi2)

    def _build_deepxde(self, dde: ModuleType) -> Any:
        return dde.CSGUnion(self.first._deepxde, self.second._deepxde)


@dataclass(frozen=True)
class CSGDifference(_CSG):
    """:math:`\\overline{A \\setminus B}`, written ``a - b``; the cut keeps its boundary."""

    @property
    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        return self.first.bounds

    def _build_deepxde(self, dde: ModuleType) -> Any:
        return dde.CSGDifference(self.first._deepxde, self.second._deepxde)


@dataclass(frozen=True)
class CSGIntersection(_CSG):
    """:math:`A \\cap B`, written ``a & b``.

    Raises ``ValueError`` at construction when the operands' bounding boxes do not overlap
    with positive volume (the intersection would be empty or flat).
    """

    def __post_init__(self) -> None:
        super().__post_init__()
        lo, hi = self.bounds
        if np.any(lo >= hi):
            raise ValueError(
                f"CSGIntersection of {self.first!r} and {self.second!r} is empty or has zero "
                f"volume: their bounding boxes overlap only in lo={lo.tolist()}, hi={hi.tolist()}"
            )

    @property
    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        (lo1, hi1), (lo2, hi2) = self.first.bounds, self.second.bounds
        return np.maximum(lo1, lo2), np.minimum(hi1, hi2)

    def _build_deepxde(self, dde: ModuleType) -> Any:
        return dde.CSGIntersection(self.first._deepxde, self.second._deepxde)
