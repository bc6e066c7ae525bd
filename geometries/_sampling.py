"""Argument checks, seeding and the draw-until-enough loop shared by all geometries.

DeepXDE's samplers draw from numpy's *global* random state (``np.random.random``,
``np.random.choice``, skopt's samplers with ``random_state=None``). :func:`seeded_global_rng`
seeds that state for one call and puts the caller's state back afterwards, so sampling is
reproducible and leaves no trace on ``np.random``.
"""

from __future__ import annotations

import contextlib
import math
import operator
from collections.abc import Callable, Iterator, Sequence

import numpy as np

__all__ = [
    "SAMPLING_METHODS",
    "check_count",
    "check_points",
    "check_seed",
    "check_spacing",
    "deepxde_method",
    "draw_until",
    "finite_vector",
    "seeded_global_rng",
]

#: pde_lab's method names and the names :func:`deepxde.geometry.sample` expects.
SAMPLING_METHODS: dict[str, str] = {
    "uniform": "pseudo",
    "sobol": "Sobol",
    "hammersley": "Hammersley",
    "halton": "Halton",
    "lhs": "LHS",
}

# Upper bound on candidates drawn by draw_until, as a multiple of the points requested.
_MAX_CANDIDATES_PER_POINT = 256
_MIN_CANDIDATE_CAP = 2**16


def deepxde_method(method: str) -> str:
    """Translate a pde_lab sampling method name into DeepXDE's spelling."""
    try:
        return SAMPLING_METHODS[method]
    except (KeyError, TypeError):
        known = ", ".join(repr(name) for name in SAMPLING_METHODS)
        raise ValueError(f"unknown sampling method {method!r}; known methods: {known}") from None


def check_count(n: int, name: str = "n") -> int:
    """Return ``n`` as an ``int`` after checking that it is a positive integer."""
    if isinstance(n, bool):  # bad input is a ValueError throughout geometries
        raise ValueError(f"{name} must be a positive integer, got {n!r}")  # noqa: TRY004
    try:
        value = operator.index(n)
    except TypeError:
        raise ValueError(f"{name} must be a positive integer, got {n!r}") from None
    if value <= 0:
        raise ValueError(f"{name} must be a positive integer, got {value}")
    return value


def check_seed(seed: int | None) -> int | None:
    """Return ``seed`` after checking it is ``None`` or an integer in ``[0, 2**32)``."""
    if seed is None:
        return None
    if isinstance(seed, bool):
        raise ValueError(f"seed must be None or an integer in [0, 2**32), got {seed!r}")  # noqa: TRY004
    try:
        value = operator.index(seed)
    except TypeError:
        raise ValueError(f"seed must be None or an integer in [0, 2**32), got {seed!r}") from None
    if not 0 <= value < 2**32:
        raise ValueError(f"seed must be None or an integer in [0, 2**32), got {value}")
    return value


def check_spacing(h: float) -> float:
    """Return the mesh size ``h`` as a float after checking it is finite and positive."""
    try:
        value = float(h)
    except (TypeError, ValueError):
        raise ValueError(f"mesh size h must be a positive number, got {h!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"mesh size h must be finite and > 0, got {h!r}")
    return value


def finite_vector(
    values: Sequence[float] | np.ndarray, length: int, name: str
) -> tuple[float, ...]:
    """Return ``values`` as a tuple of ``length`` finite floats, or raise ``ValueError``."""
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be {length} numbers, got {values!r}") from None
    if array.shape != (length,):
        raise ValueError(f"{name} must have {length} coordinates, got shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must be finite, got {tuple(array.tolist())}")
    return tuple(float(v) for v in array)


def check_points(points: np.ndarray, dim: int, what: str = "points") -> np.ndarray:
    """Return ``points`` as a float64 array of shape ``(n, dim)``, or raise ``ValueError``."""
    try:
        array = np.asarray(points, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{what} must be a numeric array of shape (n, {dim})") from None
    if array.ndim != 2 or array.shape[1] != dim:
        raise ValueError(f"{what} must have shape (n, {dim}), got {array.shape}")
    return array


@contextlib.contextmanager
def seeded_global_rng(seed: int | None) -> Iterator[None]:
    """Seed ``np.random``'s global state for the block, then restore the caller's state.

    ``seed=None`` draws fresh OS entropy, so unseeded calls differ from each other but the
    global state is still restored.
    """
    saved = np.random.get_state()
    np.random.seed(np.random.SeedSequence().generate_state(4) if seed is None else seed)
    try:
        yield
    finally:
        np.random.set_state(saved)


def _unique_rows_in_order(points: np.ndarray) -> np.ndarray:
    _, first = np.unique(points, axis=0, return_index=True)
    return points[np.sort(first)]


def draw_until(
    draw: Callable[[int], np.ndarray],
    keep: Callable[[np.ndarray], np.ndarray],
    n: int,
    *,
    unique: bool,
    description: str,
) -> np.ndarray:
    """Return ``n`` points of ``draw(m)`` that pass ``keep``, growing ``m``.

    ``draw(m)`` is asked for ``m = n`` candidates first, then for more (a fresh, larger
    batch, *not* an extra batch: for deterministic sequences this keeps the result a
    function of ``n`` alone) until ``n`` survive the filter. Gives up with ``ValueError``
    once a batch of ``cap = max(256 n, 2**16)`` candidates yields fewer than ``n``: the set
    is then empty or fills less than ``n / cap`` of the region the candidates come from.

    When more than ``n`` candidates survive, ``n`` of them are chosen at random (from
    ``np.random``, seeded by the caller) rather than the first ``n``: low-discrepancy
    sequences such as Hammersley are ordered along an axis, and their first ``n`` points
    after rejection would cover only part of a non-convex domain.
    """
    cap = max(_MAX_CANDIDATES_PER_POINT * n, _MIN_CANDIDATE_CAP)
    m = n
    while True:
        candidates = np.asarray(draw(m), dtype=np.float64)
        kept = candidates[keep(candidates)]
        if unique:
            kept = _unique_rows_in_order(kept)
        if len(kept) >= n:
            chosen = np.sort(np.random.choice(len(kept), size=n, replace=False)) if len(kept) > n else slice(None)
            return np.ascontiguousarray(kept[chosen])
        if m >= cap:
            raise ValueError(
                f"could only draw {len(kept)} of {n} {description} from {m} candidates; "
                "the set looks empty, or too small a part of its bounding box to sample"
            )
        rate = len(kept) / m
        wanted = math.ceil(1.25 * n / rate) if rate > 0 else 4 * m
        m = min(cap, max(2 * m, wanted))
