"""The time interval :math:`[t_0, t_1]` of an evolution problem."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from geometries._deepxde import deepxde_context
from geometries._sampling import (
    check_count,
    check_points,
    check_seed,
    deepxde_method,
    finite_vector,
    seeded_global_rng,
)

__all__ = ["TimeDomain"]


@dataclass(frozen=True)
class TimeDomain:
    """The closed time interval :math:`[t_0, t_1]`, ``t0 < t1``; DeepXDE's ``TimeDomain``.

    Not a :class:`~geometries.Geometry`: time has no boundary normal and no CSG. Times are
    column arrays of shape ``(n, 1)``.
    """

    t0: float
    t1: float

    def __post_init__(self) -> None:
        t0, t1 = finite_vector((self.t0, self.t1), 2, "TimeDomain (t0, t1)")
        if not t0 < t1:
            raise ValueError(f"TimeDomain needs t0 < t1 (positive duration), got t0={t0}, t1={t1}")
        object.__setattr__(self, "t0", t0)
        object.__setattr__(self, "t1", t1)

    @property
    def duration(self) -> float:
        """:math:`t_1 - t_0`."""
        return self.t1 - self.t0

    def contains(self, times: np.ndarray) -> np.ndarray:
        """Whether each time (shape ``(n, 1)``) lies in :math:`[t_0, t_1]`."""
        times = check_points(times, 1, "times")
        return (times[:, 0] >= self.t0) & (times[:, 0] <= self.t1)

    def sample(self, n: int, method: str = "sobol", seed: int | None = None) -> np.ndarray:
        """Sample ``n`` times in :math:`[t_0, t_1)` with DeepXDE's ``TimeDomain.random_points``.

        Parameters
        ----------
        n
            Number of times, ``n > 0``.
        method
            ``"uniform"``, ``"sobol"``, ``"hammersley"``, ``"halton"`` or ``"lhs"``; see
            :meth:`geometries.Geometry.sample_interior`.
        seed
            Seed for the random methods; numpy's global random state is restored afterwards.

        Returns
        -------
        numpy.ndarray
            Float64 array of shape ``(n, 1)``.
        """
        n = check_count(n)
        name = deepxde_method(method)
        with seeded_global_rng(check_seed(seed)), deepxde_context() as dde:
            times = dde.TimeDomain(self.t0, self.t1).random_points(n, random=name)
        return np.ascontiguousarray(np.asarray(times, dtype=np.float64).reshape(n, 1))

    def grid(self, n: int) -> np.ndarray:
        """``n >= 2`` equally spaced times from ``t0`` to ``t1`` inclusive, shape ``(n, 1)``."""
        n = check_count(n)
        if n < 2:
            raise ValueError(f"TimeDomain.grid needs n >= 2 (both end points), got {n}")
        return np.linspace(self.t0, self.t1, n)[:, None]
