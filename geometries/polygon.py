"""Simple polygons, given by their vertices."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np

from geometries.base import Geometry

__all__ = ["Polygon", "polygon_area"]


def polygon_area(vertices: np.ndarray) -> float:
    """Signed shoelace area; positive for counter-clockwise vertices."""
    x, y = vertices[:, 0], vertices[:, 1]
    return 0.5 * float(np.sum(x * np.roll(y, -1) - np.roll(x, -1) * y))


def _orientation(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> float:
    return float((b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0]))


def _segments_touch(p: np.ndarray, q: np.ndarray, r: np.ndarray, s: np.ndarray) -> bool:
    """Whether the closed segments ``pq`` and ``rs`` share a point."""
    o1, o2 = _orientation(p, q, r), _orientation(p, q, s)
    o3, o4 = _orientation(r, s, p), _orientation(r, s, q)
    if o1 * o2 > 0 or o3 * o4 > 0:
        return False
    if o1 == o2 == o3 == o4 == 0:  # collinear: do the projections overlap?
        return bool(
            np.all(np.maximum(p, q) >= np.minimum(r, s))
            and np.all(np.maximum(r, s) >= np.minimum(p, q))
        )
    return True


def check_simple_polygon(vertices: np.ndarray) -> None:
    """Raise ``ValueError`` unless ``vertices`` (``(k, 2)``) bound a simple polygon."""
    count = len(vertices)
    edges = [(vertices[i], vertices[(i + 1) % count]) for i in range(count)]
    for i, (start, end) in enumerate(edges):
        if np.array_equal(start, end):
            raise ValueError(f"Polygon has a zero-length edge at vertex {i}: {tuple(start)}")
    for i in range(count):
        for j in range(i + 1, count):
            adjacent = j == i + 1 or (i == 0 and j == count - 1)
            if adjacent:
                # Neighbours share a vertex; they must not fold back onto each other.
                shared = edges[i][1] if j == i + 1 else edges[i][0]
                a = edges[i][0] if j == i + 1 else edges[i][1]
                b = edges[j][1] if j == i + 1 else edges[j][0]
                folded = _orientation(a, shared, b) == 0 and np.dot(a - shared, b - shared) > 0
                if folded:
                    raise ValueError(f"Polygon edges {i} and {j} overlap (the boundary folds back)")
            elif _segments_touch(*edges[i], *edges[j]):
                raise ValueError(f"Polygon is not simple: edges {i} and {j} intersect")
    if polygon_area(vertices) == 0:
        raise ValueError("Polygon has zero area")


@dataclass(frozen=True)
class Polygon(Geometry):
    """A simple polygon (no self-intersections), vertices in either orientation.

    DeepXDE's ``Polygon`` refuses triangles and axis-aligned rectangles; those are handed to
    its ``Triangle`` and ``Rectangle`` instead. DeepXDE's polygon samplers ignore the
    requested method for interior points, so :meth:`sample_interior` maps the method's
    unit-square sequence onto the bounding box and keeps the points inside.

    pde_lab cannot mesh general polygons; :meth:`mesh` raises ``ValueError``.
    """

    vertices: tuple[tuple[float, float], ...]

    def __post_init__(self) -> None:
        try:
            array = np.asarray(self.vertices, dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError(
                f"Polygon vertices must be an array of shape (k, 2), got {self.vertices!r}"
            ) from None
        if array.ndim != 2 or array.shape[1] != 2 or array.shape[0] < 3:
            raise ValueError(
                f"Polygon vertices must have shape (k, 2) with k >= 3, got {array.shape}"
            )
        if not np.all(np.isfinite(array)):
            raise ValueError("Polygon vertices must be finite")
        check_simple_polygon(array)
        object.__setattr__(self, "vertices", tuple((float(x), float(y)) for x, y in array))

    @property
    def dim(self) -> int:
        return 2

    @property
    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        array = np.array(self.vertices)
        return array.min(axis=0), array.max(axis=0)

    @property
    def area(self) -> float:
        return abs(polygon_area(np.array(self.vertices)))

    def _build_deepxde(self, dde: ModuleType) -> Any:
        return deepxde_polygon(dde, self.vertices)

    def _interior_candidates(self, dde: ModuleType, m: int, method: str) -> np.ndarray:
        return self._bounding_box_candidates(dde, m, method)


def distance_to_edges(points: np.ndarray, vertices: np.ndarray) -> np.ndarray:
    """Distance from each point (``(n, 2)``) to the closed polygon boundary, shape ``(n,)``."""
    starts, edges = vertices, np.roll(vertices, -1, axis=0) - vertices
    offsets = points[:, None, :] - starts[None, :, :]  # (n, k, 2)
    along = np.clip(np.sum(offsets * edges, axis=-1) / np.sum(edges * edges, axis=-1), 0.0, 1.0)
    return np.linalg.norm(offsets - along[..., None] * edges, axis=-1).min(axis=1)


def deepxde_polygon(dde: ModuleType, vertices: Sequence[Sequence[float]]) -> Any:
    """DeepXDE's ``Triangle``, ``Rectangle`` or ``Polygon`` for these vertices.

    DeepXDE's ``Polygon.on_boundary`` and ``Triangle.on_boundary`` test
    ``isclose(|x - v_i| + |x - v_{i+1}|, |v_{i+1} - v_i|)`` with ``rtol=1e-5``, which
    accepts points up to about ``0.0022 |edge|`` away from an edge's midpoint (outside
    points included). Their ``on_boundary`` is replaced on the instance by a distance test,
    within ``1e-8 max(1, longest bounding-box side)`` of an edge, so that DeepXDE's CSG code
    uses it too.
    """
    array = np.asarray(vertices, dtype=np.float64)
    if len(array) != 3 and dde.Rectangle.is_valid(array):
        return dde.Rectangle(array.min(axis=0), array.max(axis=0))
    geometry = dde.Triangle(*array) if len(array) == 3 else dde.Polygon(array)
    tolerance = 1e-8 * max(1.0, float(np.ptp(array, axis=0).max()))
    geometry.on_boundary = lambda points: distance_to_edges(points, array) <= tolerance
    return geometry
