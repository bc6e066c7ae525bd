"""Figures a person would rather look at than read: field, error, loss history.

matplotlib is imported here only, with the non-interactive Agg backend when saving.
"""

from __future__ import annotations

from os import PathLike
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from pde_lab.solution import Solution

__all__ = ["NOT_LOSSES", "plot_solution", "draw_field", "plot_points"]

#: History series recorded with every loss that are not losses (solver diagnostics: the causal
#: PINN's ε, smallest causal weight and window; hc-moe's Levenberg–Marquardt iterations), left off
#: the loss panel.
NOT_LOSSES = frozenset({"iteration", "loss", "epsilon", "min_weight", "window", "lm_iterations"})


def _triangulation(points: np.ndarray, geometry: Any):
    """Delaunay triangulation of 2D points, masking triangles outside a non-convex domain."""
    import matplotlib.tri as mtri

    triangulation = mtri.Triangulation(points[:, 0], points[:, 1])
    centroids = points[triangulation.triangles].mean(axis=1)
    triangulation.set_mask(~np.asarray(geometry.contains(centroids), dtype=bool))
    return triangulation


def draw_field(ax: Any, problem: Any, points: np.ndarray, values: np.ndarray, title: str, cmap: str = "viridis") -> None:
    """Draw one scalar on ``points`` into ``ax``: a line (1D), a map (2D, or x–t for 1D evolution)."""
    d = problem.spatial_dim
    if problem.is_time_dependent and d == 1:
        x, t = points[:, 0], points[:, 1]
        nx = len(np.unique(x))
        image = ax.tripcolor(x, t, values, shading="gouraud", cmap=cmap) if len(x) % nx else \
            ax.pcolormesh(x.reshape(-1, nx), t.reshape(-1, nx), values.reshape(-1, nx), shading="auto", cmap=cmap)
        ax.set_xlabel("x")
        ax.set_ylabel("t")
        ax.figure.colorbar(image, ax=ax)
    elif d == 1:
        order = np.argsort(points[:, 0])
        ax.plot(points[order, 0], values[order])
        ax.set_xlabel("x")
    elif d == 2:
        image = ax.tricontourf(_triangulation(points[:, :2], problem.geometry), values, levels=40, cmap=cmap)
        ax.set_aspect("equal")
        ax.set_xlabel("x")
        ax.set_ylabel("y")
        ax.figure.colorbar(image, ax=ax)
    else:
        image = ax.scatter(points[:, 0], points[:, 1], c=values, s=4, cmap=cmap)
        ax.set_xlabel("x")
        ax.set_ylabel("y")
        ax.figure.colorbar(image, ax=ax)
    ax.set_title(title)


def plot_points(problem: Any) -> np.ndarray:
    """Evaluation points for the figure: the final instant for evolution problems in 2D+."""
    points = problem.evaluation_points()
    if problem.is_time_dependent and problem.spatial_dim > 1:
        final = points[:, -1].max()
        points = points[points[:, -1] == final]
    return points


def plot_solution(
    solution: Solution,
    path: str | PathLike | None = None,
    *,
    reference: Any = "auto",
    field: str | None = None,
) -> Any:
    """Three panels: the field, its error against the reference, the loss history.

    Parameters
    ----------
    path
        ``.png``/``.pdf``/``.svg`` to save to (atomically), or ``None`` to return the figure.
    reference
        ``"auto"`` uses the problem's exact solution when it has one (a reference solver
        is not run implicitly); a Solution or callable; ``None`` for no error panel.
    field
        The field to draw (default: the first).
    """
    import matplotlib

    if path is not None:
        from pde_lab.io import check_writable

        path = check_writable(path, (".png", ".pdf", ".svg"))
        matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    problem = solution.problem
    name = field or problem.fields[0]
    index = problem.fields.index(name)
    if reference == "auto":
        reference = problem.reference() if problem.exact_solution is not None else None
    points = plot_points(problem)
    values = solution(points)[:, index]
    figure, axes = plt.subplots(1, 3, figsize=(15, 4.2), constrained_layout=True)
    when = f" at t={points[0, -1]:.3g}" if problem.is_time_dependent and problem.spatial_dim > 1 else ""
    draw_field(axes[0], problem, points, values, f"{name} ({solution.solver}){when}")
    if reference is not None:
        theirs = reference(points) if hasattr(reference, "problem") else np.asarray(reference(points)).reshape(len(points), -1)
        error = values - theirs[:, index]
        relative = np.linalg.norm(error) / max(np.linalg.norm(theirs[:, index]), 1e-300)
        draw_field(axes[1], problem, points, np.abs(error), f"|error|, rel. L2 = {relative:.2e}", cmap="magma")
    else:
        axes[1].text(0.5, 0.5, "no reference given", ha="center", va="center", transform=axes[1].transAxes)
        axes[1].set_axis_off()
    loss = solution.history.get("loss") if solution.history else None
    if loss:
        steps = solution.history.get("iteration") or list(range(len(loss)))
        axes[2].semilogy(steps, loss, label="total")
        for term, series in solution.history.items():
            if term not in NOT_LOSSES and len(series) == len(loss):
                axes[2].semilogy(steps, series, lw=0.8, label=term)
        axes[2].set_xlabel("iteration")
        axes[2].set_ylabel("loss")
        axes[2].legend()
        axes[2].set_title(f"training loss ({solution.status.value})")
    else:
        axes[2].text(0.5, 0.5, f"{solution.solver}: no training history", ha="center", va="center",
                     transform=axes[2].transAxes)
        axes[2].set_axis_off()
    figure.suptitle(f"{problem.name} — {solution.solver}")
    if path is None:
        return figure
    from pde_lab.io import write_atomically

    try:
        return write_atomically(path, lambda temporary: figure.savefig(temporary, dpi=110))
    finally:
        plt.close(figure)
