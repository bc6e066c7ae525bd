"""Argument checks shared by the solvers, engines and data generators: one wording for a bad value.

Every check raises ``ValueError`` naming the argument and repeating the value it got, e.g.
``width must be a positive int, got 0``. A ``bool`` is never accepted as a number (``True``
is an ``int`` in Python, but ``width=True`` is a mistake, not 1).

>>> check_int("width", 64)
64
>>> from types import SimpleNamespace
>>> check_ints(SimpleNamespace(width=64, depth=0), ("width", "depth"))
Traceback (most recent call last):
...
ValueError: depth must be a positive int, got 0
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

__all__ = ["check_bool", "check_bools", "check_int", "check_ints", "check_non_negative", "check_positive", "check_positives"]


def check_int(name: str, value: Any, minimum: int = 1) -> int:
    """``value`` as an ``int`` if it is an integer (Python or NumPy) ≥ ``minimum``; else ``ValueError``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        bound = "a positive int" if minimum == 1 else "a non-negative int" if minimum == 0 else f"an int >= {minimum}"
        raise ValueError(f"{name} must be {bound}, got {value!r}")
    return int(value)


def check_ints(owner: Any, names: Iterable[str], minimum: int = 1) -> None:
    """:func:`check_int` on each attribute ``names`` of ``owner`` (a solver's settings:
    ``check_ints(self, ("width", "depth"))``)."""
    for name in names:
        check_int(name, getattr(owner, name), minimum)


def check_positive(name: str, value: Any) -> float:
    """``value`` as a ``float`` if it is a finite real number > 0; else ``ValueError``."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
            or not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a positive finite number, got {value!r}")
    return float(value)


def check_non_negative(name: str, value: Any) -> float:
    """``value`` as a ``float`` if it is a finite real number >= 0; else ``ValueError``."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
            or not (math.isfinite(value) and value >= 0):
        raise ValueError(f"{name} must be a non-negative finite number, got {value!r}")
    return float(value)


def check_positives(owner: Any, names: Iterable[str]) -> None:
    """:func:`check_positive` on each attribute ``names`` of ``owner``
    (``check_positives(self, ("learning_rate", "decay_rate"))``)."""
    for name in names:
        check_positive(name, getattr(owner, name))


def check_bool(name: str, value: Any) -> bool:
    """``value`` as a ``bool`` if it is ``True`` or ``False`` (Python or NumPy); else ``ValueError``
    (a switch given as ``"no"`` or ``0`` is a mistake, and ``"no"`` would read as true)."""
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def check_bools(owner: Any, names: Iterable[str]) -> None:
    """:func:`check_bool` on each attribute ``names`` of ``owner``."""
    for name in names:
        check_bool(name, getattr(owner, name))
