"""The closed ball in any dimension (DeepXDE's ``Hypersphere``), sampled for high-dimensional PDEs."""

from __future__ import annotations

import math
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np

from geometries.base import Geometry

#: Evaluation points of a ball in more than three dimensions (a tensor grid has 5**d nodes).
EVALUATION_POINTS = 4096


@dataclass(frozen=True)
class Ball(Geometry):
    """The closed ball ``|x - center| <= radius`` in any dimension; DeepXDE's ``Hypersphere``.

    Interior points follow the STDE paper: radius uniform on ``[0, radius)``, direction uniform
    on the sphere (from the first and the other ``d`` columns of the chosen sequence), so every
    radius is trained on; volume-uniform sampling would put almost all points near the sphere
    once ``d`` is large. Above three dimensions :meth:`grid` returns :data:`EVALUATION_POINTS`
    seeded points drawn the same way instead of a tensor grid.
    """

    center: tuple[float, ...]
    radius: float = 1.0

    def __post_init__(self) -> None:
        center = tuple(float(c) for c in np.asarray(self.center, dtype=np.float64).reshape(-1))
        if not center or not all(math.isfinite(c) for c in center):
            raise ValueError(f"Ball center must be finite coordinates, got {self.center!r}")
        if not (math.isfinite(self.radius) and self.radius > 0):
            raise ValueError(f"Ball radius must be finite and > 0, got {self.radius!r}")
        object.__setattr__(self, "center", center)
        object.__setattr__(self, "radius", float(self.radius))

    @classmethod
    def unit(cls, dim: int) -> Ball:
        """The unit ball centred at the origin of :math:`\\mathbb{R}^{dim}`."""
        if isinstance(dim, bool) or not isinstance(dim, int) or dim < 1:
            raise ValueError(f"dim must be a positive int, got {dim!r}")
        return cls((0.0,) * dim, 1.0)

    @property
    def dim(self) -> int:
        return len(self.center)

    @property
    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        center = np.array(self.center)
        return center - self.radius, center + self.radius

    def _build_deepxde(self, dde: ModuleType) -> Any:
        return dde.Hypersphere(list(self.center), self.radius)

    def _radial(self, uniform: np.ndarray) -> np.ndarray:
        from scipy.stats import norm

        radius = np.clip(uniform[:, :1], 0.0, 1.0 - 1e-12)
        direction = norm.ppf(np.clip(uniform[:, 1:], 1e-12, 1 - 1e-12))
        direction /= np.linalg.norm(direction, axis=1, keepdims=True)
        return np.asarray(self.center) + self.radius * radius * direction

    def _interior_candidates(self, dde: ModuleType, m: int, method: str) -> np.ndarray:
        return self._radial(np.asarray(dde.sample(m, self.dim + 1, method), dtype=np.float64))

    def grid(self, n_per_axis: int) -> np.ndarray:
        if self.dim <= 3:
            return super().grid(n_per_axis)
        rng = np.random.default_rng(20240)
        return self._radial(rng.uniform(size=(EVALUATION_POINTS, self.dim + 1)))
