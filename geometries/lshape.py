"""The L-shaped domain :math:`[-1, 1]^2 \\setminus (0, 1] \\times (0, 1]`."""

from __future__ import annotations

import math
from dataclasses import dataclass
from types import ModuleType
from typing import Any, ClassVar

import numpy as np

from geometries.base import Geometry, cells_per_axis, check_element_count
from geometries.polygon import deepxde_polygon

__all__ = ["LShape"]


@dataclass(frozen=True)
class LShape(Geometry):
    """The L-shape of DeepXDE's Poisson example: the square :math:`[-1, 1]^2` without its
    upper-right quadrant, area 3, with a re-entrant corner at the origin.

    Solutions of :math:`-\\Delta u = f` here have an :math:`r^{2/3}` corner singularity.
    Interior sampling maps the method's sequence onto :math:`[-1, 1]^2` and keeps the points
    inside (DeepXDE's polygon sampler ignores the method).
    """

    #: Counter-clockwise from the re-entrant corner, as in DeepXDE's example.
    VERTICES: ClassVar[tuple[tuple[float, float], ...]] = (
        (0.0, 0.0),
        (1.0, 0.0),
        (1.0, -1.0),
        (-1.0, -1.0),
        (-1.0, 1.0),
        (0.0, 1.0),
    )

    @property
    def dim(self) -> int:
        return 2

    @property
    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        return np.array([-1.0, -1.0]), np.array([1.0, 1.0])

    @property
    def area(self) -> float:
        return 3.0

    def _build_deepxde(self, dde: ModuleType) -> Any:
        return deepxde_polygon(dde, self.VERTICES)

    def _interior_candidates(self, dde: ModuleType, m: int, method: str) -> np.ndarray:
        return self._bounding_box_candidates(dde, m, method)

    def _mesh(self, h: float):
        """Tensor triangulation of :math:`[-1, 1]^2` minus the removed quadrant.

        With ``k = ceil(sqrt(2) / h)`` cells per unit length, ``MeshTri1.init_tensor`` on
        ``2k + 1`` nodes per axis has the origin as a node; the triangles whose centroid lies
        in :math:`(0, 1)^2` are removed. The mesh covers the L-shape exactly and its longest
        edge, a cell diagonal, is ``sqrt(2) / k <= h``.
        """
        from skfem import MeshTri

        per_unit = cells_per_axis(1.0, h, math.sqrt(2.0))
        check_element_count(6 * per_unit**2, h, "LShape")
        axis = np.linspace(-1.0, 1.0, 2 * per_unit + 1)
        axis[per_unit] = 0.0  # the re-entrant corner is a node, exactly
        square = MeshTri.init_tensor(axis, axis)
        centroids = square.p[:, square.t].mean(axis=1)
        removed = np.nonzero((centroids[0] > 0) & (centroids[1] > 0))[0]
        return square.remove_elements(removed)
