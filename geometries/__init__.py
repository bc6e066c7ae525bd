"""Geometries for pde_lab: point queries and sampling via DeepXDE, meshes via scikit-fem.

>>> from geometries import Disk, Rectangle
>>> domain = Rectangle((0, 0), (2, 1)) - Disk((1, 0.5), 0.25)
>>> domain.sample_interior(4, seed=0).shape
(4, 2)

Importing this package imports neither DeepXDE nor torch; DeepXDE is loaded on the first
point query or sample (see :mod:`geometries._deepxde`).
"""

from geometries.ball import Ball
from geometries.base import Geometry
from geometries.box import Box
from geometries.csg import CSGDifference, CSGIntersection, CSGUnion
from geometries.disk import Disk
from geometries.interval import Interval
from geometries.lshape import LShape
from geometries.polygon import Polygon
from geometries.rectangle import Rectangle
from geometries.time_domain import TimeDomain

__all__ = [
    "Ball",
    "Box",
    "CSGDifference",
    "CSGIntersection",
    "CSGUnion",
    "Disk",
    "Geometry",
    "Interval",
    "LShape",
    "Polygon",
    "Rectangle",
    "TimeDomain",
]
