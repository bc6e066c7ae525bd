"""One return type for every solver: a callable field with status, stats and history."""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from os import PathLike
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

if TYPE_CHECKING:
    from pde_lab.problem import Problem

__all__ = ["Solution", "Status", "relative_error", "finite_or_none"]


class Status(enum.Enum):
    """How a solve ended. ``Solution.message`` says what to do about it."""

    CONVERGED = "converged"
    BUDGET_EXHAUSTED = "budget_exhausted"
    DIVERGED = "diverged"
    FAILED = "failed"
    INTERRUPTED = "interrupted"
    EXACT = "exact"

    @property
    def ok(self) -> bool:
        return self in (Status.CONVERGED, Status.BUDGET_EXHAUSTED, Status.EXACT)


def _check_points(points: Any, dim: int) -> None:
    shape = tuple(points.shape)
    if len(shape) != 2 or shape[1] != dim:
        raise ValueError(
            f"points must have shape (n, {dim}) (space{' + time' if dim else ''} columns), got {shape}"
        )
    if shape[0] == 0:
        raise ValueError("points is empty")


def _as_float64(points: Any) -> np.ndarray:
    """numpy or torch points -> float64 numpy array, validating dtype and finiteness."""
    if hasattr(points, "detach"):
        if points.is_complex():
            raise TypeError("points must be real")
        points = points.detach().to("cpu").double().numpy()
    array = np.asarray(points)
    if array.dtype == object or not (np.issubdtype(array.dtype, np.number) or array.dtype == bool):
        raise TypeError(f"points must be a numeric array or tensor, got dtype {array.dtype}")
    if np.iscomplexobj(array):
        raise TypeError("points must be real")
    array = array.astype(np.float64, copy=False)
    if not np.all(np.isfinite(array)):
        raise ValueError("points contain NaN or inf")
    return array


def finite_or_none(value: Any) -> Any:
    """NaN and inf -> ``None`` (JSON ``null``); anything else unchanged."""
    return None if isinstance(value, float) and not np.isfinite(value) else value


def relative_error(value: np.ndarray, reference: np.ndarray, norm: str = "l2") -> float:
    """Relative error ``‖value − reference‖ / ‖reference‖`` in the discrete l2 or max norm."""
    difference = np.asarray(value, dtype=float) - np.asarray(reference, dtype=float)
    if norm == "l2":
        numerator, denominator = np.linalg.norm(difference), np.linalg.norm(reference)
    elif norm in ("max", "linf"):
        numerator, denominator = np.abs(difference).max(), np.abs(reference).max()
    else:
        raise ValueError(f"unknown norm {norm!r}; use 'l2' or 'max'")
    if not np.isfinite(numerator):
        return float("inf")
    return float(numerator / denominator) if denominator > 0 else float(numerator)


@dataclass(frozen=True, eq=False)
class Solution:
    """The answer of a solver for a :class:`~pde_lab.problem.Problem`.

    Attributes
    ----------
    problem
        The problem solved (never modified).
    field
        ``points (n, D) float64 numpy -> (n, n_fields)``; use :meth:`__call__` instead,
        which accepts numpy or torch and validates.
    solver
        Name of the solver that produced it.
    status, message
        How the solve ended, and an actionable message when it did not converge.
    stats
        ``wall_s``, ``peak_mem_mb``, ``iterations``, ``device``, ``dtype`` and solver extras.
    history
        Per-iteration records, e.g. ``history["loss"]``.
    model
        The trained network (neural solvers) or discrete solution (references), if any.
    """

    problem: Problem
    field: Callable[[np.ndarray], np.ndarray]
    solver: str
    status: Status = Status.CONVERGED
    message: str = ""
    stats: Mapping[str, Any] = field(default_factory=dict)
    history: Mapping[str, list] = field(default_factory=dict)
    model: Any = None

    @classmethod
    def from_function(cls, problem: Problem, function: Callable[[Any], Any], *, solver: str = "exact") -> Solution:
        """Wrap a torch function of points (an exact solution) as a Solution."""

        def evaluate(points: np.ndarray) -> np.ndarray:
            import torch

            out = function(torch.as_tensor(points, dtype=torch.float64))
            return np.asarray(out.detach().cpu() if hasattr(out, "detach") else out, dtype=float)

        stats = {"wall_s": 0.0, "peak_mem_mb": 0.0, "iterations": 0, "device": "cpu", "dtype": "float64"}
        return cls(problem, evaluate, solver, Status.EXACT, "exact solution", stats)

    # --------------------------------------------------------------- evaluate
    def __call__(self, points: Any) -> Any:
        """Evaluate the fields at ``points`` of shape ``(n, D)``; returns ``(n, n_fields)``.

        numpy in, numpy out; torch in, torch out (same dtype and device, no gradient).
        """
        is_torch = hasattr(points, "detach") and hasattr(points, "device")
        if not is_torch and not isinstance(points, np.ndarray):
            if isinstance(points, (list, tuple)):
                points = np.asarray(points, dtype=float)
            else:
                raise TypeError(f"points must be a numpy array or torch tensor, got {type(points).__name__}")
        _check_points(points, self.problem.input_dim)
        values = np.asarray(self.field(_as_float64(points)), dtype=float)
        values = values.reshape(len(values), -1)
        if is_torch:
            import torch

            dtype = points.dtype if points.is_floating_point() else torch.get_default_dtype()
            return torch.as_tensor(values, dtype=dtype, device=points.device)
        return values

    def error_vs(
        self,
        reference: Solution | Callable[[Any], Any] | None = None,
        *,
        norm: Literal["l2", "max"] = "l2",
        points: Any = None,
        field: str | None = None,
    ) -> float:
        """Relative error against a reference on the problem's evaluation points.

        Parameters
        ----------
        reference
            A Solution, a function of numpy points, or ``None`` for ``problem.reference()``.
        norm
            ``"l2"`` (discrete relative L2 on a uniform grid) or ``"max"``.
        points
            Evaluation points; default ``problem.evaluation_points()``.
        field
            Restrict to one field; default all fields together.

        Fields in ``problem.gauge`` (a pressure known up to a constant) are compared after
        removing their mean over ``points`` at each time level.
        """
        if reference is None:
            reference = self.problem.reference()
        if points is None:
            points = self.problem.evaluation_points()
        points = _as_float64(points)
        _check_points(points, self.problem.input_dim)
        mine = self(points)
        if isinstance(reference, Solution):
            theirs = reference(points)
        elif callable(reference):
            theirs = np.asarray(reference(points), dtype=float).reshape(len(points), -1)
        else:
            raise TypeError(f"reference must be a Solution or a callable, got {type(reference).__name__}")
        if theirs.shape != mine.shape:
            raise ValueError(f"reference gives shape {theirs.shape}, this solution {mine.shape}")
        if self.problem.gauge:
            mine, theirs = _remove_gauge(self.problem, points, mine), _remove_gauge(self.problem, points, theirs)
        if field is not None:
            index = self.problem.fields.index(field)
            mine, theirs = mine[:, index], theirs[:, index]
        return relative_error(mine, theirs, norm)

    # ----------------------------------------------------------------- output
    def export(self, path: str | PathLike, **options: Any) -> Any:
        """Write ParaView files: ``.vtu`` (steady) or ``.pvd`` + one ``.vtu`` per time."""
        from pde_lab.io import export_solution

        return export_solution(self, path, **options)

    def plot(self, path: str | PathLike | None = None, *, reference: Any = "auto", **options: Any) -> Any:
        """Draw the field, the error against the reference and the loss history."""
        from pde_lab.plot import plot_solution

        return plot_solution(self, path, reference=reference, **options)

    def summary(self) -> dict[str, Any]:
        """The machine-readable record printed by ``pde-lab solve --json``."""
        stats = dict(self.stats)
        return {
            "problem": self.problem.name,
            "solver": self.solver,
            "device": stats.get("device", "cpu"),
            "dtype": stats.get("dtype", "float64"),
            "wall_s": stats.get("wall_s"),
            "peak_mem_mb": stats.get("peak_mem_mb"),
            "iterations": stats.get("iterations"),
            "status": self.status.value,
            "message": self.message,
            "world_size": stats.get("world_size", 1),
        }

    def __repr__(self) -> str:
        wall = self.stats.get("wall_s")
        timing = f", wall_s={wall:.3g}" if isinstance(wall, (int, float)) else ""
        return f"Solution({self.problem.name!r}, solver={self.solver!r}, status={self.status.value}{timing})"


def _remove_gauge(problem: Problem, points: np.ndarray, values: np.ndarray) -> np.ndarray:
    """``values`` with the mean of each gauge field removed, per time level for evolution problems."""
    values = np.array(values, dtype=float, copy=True)
    levels = points[:, -1] if problem.is_time_dependent else np.zeros(len(points))
    _, group = np.unique(levels, return_inverse=True)
    counts = np.bincount(group)
    for name in problem.gauge:
        k = problem.fields.index(name)
        values[:, k] -= (np.bincount(group, weights=values[:, k]) / counts)[group]
    return values
