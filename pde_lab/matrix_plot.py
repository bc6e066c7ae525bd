"""Heat map of a :class:`pde_lab.matrix.Matrix`: log10 rel. L2 per (problem, solver) cell."""

from __future__ import annotations

import math
from os import PathLike
from typing import Any

__all__ = ["draw_matrix"]


def draw_matrix(matrix: Any, path: str | PathLike | None = None) -> Any:
    """Rows problems, columns solvers; colour log10 rel. L2 with the error and wall time written in.

    Grey cells: the solver does not apply; hatched cells: it ran and failed or diverged.
    Solvers that apply to none of the problems are left out.
    """
    import matplotlib

    from pde_lab.io import check_writable, write_atomically

    if path is not None:
        path = check_writable(path, (".png", ".pdf", ".svg"))
        matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    import numpy as np
    from matplotlib.colors import Normalize
    from matplotlib.patches import Rectangle

    from pde_lab.matrix import NOT_APPLICABLE

    solvers = [s for s in matrix.solvers
               if any(c["status"] != NOT_APPLICABLE for c in matrix.cells if c["solver"] == s)]
    problems = list(matrix.problems)
    values = np.full((len(problems), len(solvers)), np.nan)
    for i, problem in enumerate(problems):
        for j, solver in enumerate(solvers):
            error = matrix.cell(problem, solver)["rel_l2"]
            if isinstance(error, (int, float)) and error > 0 and math.isfinite(error):
                values[i, j] = math.log10(error)
    finite = values[np.isfinite(values)]
    low, high = (float(finite.min()), float(finite.max())) if finite.size else (-3.0, 0.0)
    norm = Normalize(vmin=min(low, high - 1), vmax=max(high, 0.0))
    cmap = plt.get_cmap("viridis_r")

    figure, ax = plt.subplots(figsize=(1.25 * len(solvers) + 3.2, 0.62 * len(problems) + 1.8), constrained_layout=True)
    image = ax.imshow(np.ma.masked_invalid(values), cmap=cmap, norm=norm, aspect="auto")
    for i, problem in enumerate(problems):
        for j, solver in enumerate(solvers):
            cell = matrix.cell(problem, solver)
            if cell["status"] == NOT_APPLICABLE:
                ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, color="0.88"))
                ax.text(j, i, "n/a", ha="center", va="center", fontsize=7, color="0.45")
            elif not np.isfinite(values[i, j]):
                ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, facecolor="white", edgecolor="tab:red",
                                       hatch="///", linewidth=0))
                ax.text(j, i, cell["status"], ha="center", va="center", fontsize=7, color="tab:red")
            else:
                shade = cmap(norm(values[i, j]))
                colour = "white" if sum(shade[:3]) < 1.5 else "black"
                wall = cell["wall_s"]
                text = f"{cell['rel_l2']:.1e}" + ("" if wall is None else f"\n{wall:.0f} s" if wall >= 10 else
                                                  f"\n{wall:.1g} s")
                ax.text(j, i, text, ha="center", va="center", fontsize=7, color=colour)
    ax.set_xticks(range(len(solvers)), solvers, rotation=30, ha="right")
    ax.set_yticks(range(len(problems)), problems)
    ax.set_xticks(np.arange(-0.5, len(solvers)), minor=True)
    ax.set_yticks(np.arange(-0.5, len(problems)), minor=True)
    ax.grid(which="minor", color="white", linewidth=1.5)
    ax.tick_params(which="minor", length=0)
    figure.colorbar(image, ax=ax, label="log10 relative L2 error")
    meta = matrix.meta
    ax.set_title(f"pde_lab solver × problem matrix ({meta.get('budget', '')} budget, "
                 f"{meta.get('date', '')}, {meta.get('machine', '')})", fontsize=10)
    if path is None:
        return figure
    try:
        return write_atomically(path, lambda temporary: figure.savefig(temporary, dpi=120))
    finally:
        plt.close(figure)
