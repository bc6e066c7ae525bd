r"""Several solvers on one problem, lined up against its reference.

Each row of a :class:`Comparison` reports the cost of a run (wall time, peak memory,
iterations, device, dtype), how it ended (``status``, ``message``) and its errors against the
reference on the problem's evaluation points :math:`\{x_i\}`:

.. math::

    \text{rel\_l2} = \frac{\|u - u_\text{ref}\|_2}{\|u_\text{ref}\|_2}, \qquad
    \text{max\_err} = \frac{\max_i |u(x_i) - u_\text{ref}(x_i)|}{\max_i |u_\text{ref}(x_i)|}

(:meth:`pde_lab.Solution.error_vs` with ``norm="l2"`` and ``norm="max"``). A solver that raises
or does not finish with an ``ok`` status gives a row without errors; it never stops the others.

>>> from pde_lab import compare
>>> from problems import poisson
>>> table = compare(poisson(), ["fem", "pinn"])      # doctest: +SKIP
>>> print(table)                                     # doctest: +SKIP
>>> table.plot("poisson.png")                        # doctest: +SKIP
"""

from __future__ import annotations

import csv
import json
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from types import MappingProxyType
from typing import Any

from pde_lab.api import make_solver
from pde_lab.io import check_writable, write_atomically
from pde_lab.problem import Problem
from pde_lab.solution import Solution, Status, finite_or_none

__all__ = ["Comparison", "compare"]

# The keys of a row (CSV columns, JSON keys) and the columns of the printed table.
# fmt: off
COLUMNS = ("problem", "name", "solver", "reference", "device", "dtype", "wall_s", "peak_mem_mb",
           "iterations", "status", "message", "rel_l2", "max_err")
TABLE = ("name", "solver", "status", "rel_l2", "max_err", "wall_s", "peak_mem_mb", "iterations",
         "device", "dtype")
# fmt: on
FIGURE_SUFFIXES = (".png", ".pdf", ".svg")
REFERENCE = "reference"


@dataclass(frozen=True, eq=False)
class Comparison:
    """The outcome of :func:`compare`: one row per run, the reference's first.

    Attributes
    ----------
    problem
        The problem solved (never modified).
    reference
        The reference Solution errors are measured against, or ``None`` when the problem
        has none (or building it failed: see the reference row).
    rows
        One dict per run with the keys of ``COLUMNS``; missing values are ``None``.
    solutions
        Label -> Solution for each solver (``None`` where the solver raised).
    """

    problem: Problem
    reference: Solution | None
    rows: tuple[dict[str, Any], ...]
    solutions: Mapping[str, Solution | None]

    def row(self, name: str) -> dict[str, Any]:
        """The row labelled ``name``."""
        for row in self.rows:
            if row["name"] == name:
                return row
        raise KeyError(f"no row {name!r}; rows: {', '.join(r['name'] for r in self.rows)}")

    def to_dict(self) -> dict[str, Any]:
        """``{"problem": name, "rows": [...]}``, the ``pde-lab compare --json`` record.

        Non-finite numbers become ``None`` (JSON ``null``).
        """
        rows = [{key: finite_or_none(row[key]) for key in COLUMNS} for row in self.rows]
        return {"problem": self.problem.name, "rows": rows}

    def to_json(self, path: str | PathLike) -> Path:
        """Write :meth:`to_dict` as JSON (atomically); returns the path."""
        path = check_writable(path, (".json",))
        text = json.dumps(self.to_dict(), indent=2, allow_nan=False) + "\n"
        return write_atomically(path, lambda temporary: temporary.write_text(text))

    def to_csv(self, path: str | PathLike) -> Path:
        """Write the rows as CSV, one column per key, empty cells for ``None`` (atomically)."""
        path = check_writable(path, (".csv",))

        def write(temporary: Path) -> None:
            with temporary.open("w", newline="") as handle:
                writer = csv.DictWriter(handle, fieldnames=COLUMNS)
                writer.writeheader()
                writer.writerows(self.to_dict()["rows"])

        return write_atomically(path, write)

    def plot(self, path: str | PathLike | None = None, *, field: str | None = None) -> Any:
        """Error against wall time for every run, then field and |error| of each solver that succeeded.

        Parameters
        ----------
        path
            ``.png``/``.pdf``/``.svg`` to save to (atomically), or ``None`` to return the figure.
        field
            The field to draw (default: the first).
        """
        import matplotlib

        if path is not None:
            path = check_writable(path, FIGURE_SUFFIXES)
            matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt
        import numpy as np

        from pde_lab.plot import plot_points, draw_field

        problem = self.problem
        name = field or problem.fields[0]
        if name not in problem.fields:
            raise ValueError(f"unknown field {name!r}; fields: {', '.join(problem.fields)}")
        index = problem.fields.index(name)
        drawn = [
            (label, solution)
            for label, solution in self.solutions.items()
            if solution is not None and Status(self.row(label)["status"]).ok
        ]
        figure = plt.figure(figsize=(15, 4.2 * max(1, len(drawn))), constrained_layout=True)
        grid = figure.add_gridspec(max(1, len(drawn)), 3)
        self._draw_cost(figure.add_subplot(grid[:, 0]))
        points = plot_points(problem)
        theirs = None if self.reference is None else self.reference(points)[:, index]
        when = (
            f" at t={points[0, -1]:.3g}"
            if problem.is_time_dependent and problem.spatial_dim > 1
            else ""
        )
        for i, (label, solution) in enumerate(drawn):
            values = solution(points)[:, index]
            draw_field(
                figure.add_subplot(grid[i, 1]), problem, points, values, f"{name} ({label}){when}"
            )
            ax = figure.add_subplot(grid[i, 2])
            if theirs is None:
                ax.text(0.5, 0.5, "no reference", ha="center", va="center", transform=ax.transAxes)
                ax.set_axis_off()
            else:
                rel_l2 = self.row(label)["rel_l2"]
                title = f"|error| ({label}), rel. L2 = {rel_l2:.2e}"
                draw_field(ax, problem, points, np.abs(values - theirs), title, cmap="magma")
        figure.suptitle(f"{problem.name}: {len(self.solutions)} solver(s) against the reference")
        if path is None:
            return figure
        try:
            return write_atomically(path, lambda temporary: figure.savefig(temporary, dpi=110))
        finally:
            plt.close(figure)

    def _draw_cost(self, ax: Any) -> None:
        """Log-log scatter of rel. L2 error against wall time; the reference's time as a line."""
        from matplotlib.ticker import NullFormatter

        markers = "osD^vP*Xh<>"
        times, errors = [], []
        for row in self.rows:
            wall, error = row["wall_s"], row["rel_l2"]
            if row["reference"] and _positive(wall):
                ax.axvline(
                    wall, color="0.5", ls="--", label=f"reference ({row['solver']}), {wall:.3g} s"
                )
                times.append(wall)
            elif not row["reference"] and _positive(wall) and _positive(error):
                marker = markers[len(errors) % len(markers)]
                ax.scatter([wall], [error], marker=marker, s=60, label=row["name"], zorder=3)
                ax.annotate(row["name"], (wall, error), textcoords="offset points", xytext=(6, 6))
                times.append(wall)
                errors.append(error)
        if errors:
            ax.set_xscale("log")
            ax.set_yscale("log")
            # pad by 4x: each axis spans over a decade, so a power of ten is labelled
            ax.set_xlim(min(times) / 4, max(times) * 4)
            ax.set_ylim(min(errors) / 4, max(errors) * 4)
            ax.xaxis.set_minor_formatter(NullFormatter())
            ax.yaxis.set_minor_formatter(NullFormatter())
            ax.legend(fontsize="small")
        else:
            message = "no solver with an error to show"
            ax.text(0.5, 0.5, message, ha="center", va="center", transform=ax.transAxes)
        ax.set_xlabel("wall time [s]")
        ax.set_ylabel("relative L2 error")
        ax.set_title("accuracy against cost")
        ax.grid(True, which="both", alpha=0.3)

    def __str__(self) -> str:
        headers = TABLE
        numeric = {"rel_l2", "max_err", "wall_s", "peak_mem_mb", "iterations"}
        cells = [[_cell(key, row[key]) for key in headers] for row in self.rows]
        widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(headers)]

        def line(values: Sequence[str]) -> str:
            return "  ".join(
                v.rjust(w) if h in numeric else v.ljust(w)
                for h, v, w in zip(headers, values, widths)
            ).rstrip()

        against = (
            "no reference"
            if self.reference is None
            else f"against the reference ({self.reference.solver})"
        )
        out = [
            f"{self.problem.name}: {len(self.solutions)} solver(s) {against}",
            line(headers),
            line(["-" * w for w in widths]),
        ]
        out += [line(c) for c in cells]
        notes = [
            f"  {row['name']}: {row['status']}: {row['message']}"
            for row in self.rows
            if row["status"] not in ("converged", "exact") and row["message"]
        ]
        return "\n".join(out + (["", "notes:"] + notes if notes else []))

    def __repr__(self) -> str:
        return f"Comparison({self.problem.name!r}, rows={[row['name'] for row in self.rows]})"


def compare(
    problem: Problem,
    solvers: Sequence[str | Any] | Mapping[str, str | Any],
    *,
    reference: Solution | None = None,
    on_row: Callable[[dict[str, Any]], None] | None = None,
) -> Comparison:
    """Run the reference, then every solver, on ``problem``; never stop at a failing solver.

    Parameters
    ----------
    problem
        The problem, handed unchanged to each solver.
    solvers
        Solver names (see ``pde_lab.SOLVERS``) or solver objects, or a dict label -> name or
        object. Labels default to the solver's ``name``; repeats get ``-2``, ``-3``...
        Unknown names raise ``ValueError`` before anything runs.
    reference
        The Solution errors are measured against; default ``problem.reference()`` (exact
        solution or reference solver). Without either, rows have no errors.
    on_row
        Called with each row as soon as it is measured (the reference's first), e.g. to
        report a long comparison cell by cell.

    Returns
    -------
    Comparison
        Rows for the reference (``reference: True``) and each solver. A solver that raises
        gives ``status="failed"`` with the exception as message; one that ends ``diverged``
        (or ``failed``) keeps its status and message. Their ``rel_l2``/``max_err`` are ``None``.
    """
    if not isinstance(problem, Problem):
        raise TypeError(f"compare() expects a Problem, got {type(problem).__name__}")
    if reference is not None and not isinstance(reference, Solution):
        raise TypeError(f"reference must be a Solution, got {type(reference).__name__}")
    if reference is not None and (
        reference.problem.fields != problem.fields
        or reference.problem.input_dim != problem.input_dim
    ):
        raise ValueError(
            f"reference solves {reference.problem.name!r} with fields {reference.problem.fields}; "
            f"it does not match {problem.name!r} with fields {problem.fields}"
        )
    labelled = _labelled(solvers)  # validates names before anything runs
    report = on_row or (lambda row: None)

    rows: list[dict[str, Any]] = []
    if reference is not None:
        rows.append(_row(problem, REFERENCE, reference, None, measured=None))
    elif problem.has_reference:
        reference, row = _run(problem, REFERENCE, "reference", problem.reference, None)
        rows.append(row)
    if reference is not None and not reference.status.ok:
        reference = None  # a reference that failed: rows without errors
    if rows:
        rows[0]["reference"] = True
        if reference is not None:
            rows[0].update(rel_l2=0.0, max_err=0.0)
        report(dict(rows[0]))
    solutions: dict[str, Solution | None] = {}
    for label, solver in labelled.items():
        name = str(getattr(solver, "name", label))
        solutions[label], row = _run(
            problem, label, name, lambda s=solver: s.solve(problem), reference
        )
        rows.append(row)
        report(dict(row))
    return Comparison(problem, reference, tuple(rows), MappingProxyType(solutions))


def _labelled(solvers: Any) -> dict[str, Any]:
    """Validated solver objects keyed by unique labels."""
    if isinstance(solvers, Mapping):
        pairs = list(solvers.items())
        for label, _ in pairs:
            if not isinstance(label, str) or not label:
                raise TypeError(f"solver labels must be non-empty strings, got {label!r}")
    elif isinstance(solvers, Sequence) and not isinstance(solvers, str):
        pairs = [(None, solver) for solver in solvers]
    else:
        raise TypeError(
            "solvers must be a list of names or solver objects, or a dict label -> solver; "
            f"got {type(solvers).__name__}"
            + (" (split names into a list)" if isinstance(solvers, str) else "")
        )
    if not pairs:
        raise ValueError("solvers is empty: give at least one solver name or object")
    labelled: dict[str, Any] = {}
    taken = {REFERENCE}
    for label, solver in pairs:
        solver = make_solver(solver)  # unknown names: ValueError listing the known ones
        label = label or str(getattr(solver, "name", None) or type(solver).__name__.lower())
        unique, k = label, 2
        while unique in taken:
            unique, k = f"{label}-{k}", k + 1
        taken.add(unique)
        labelled[unique] = solver
    return labelled


def _run(
    problem: Problem, label: str, name: str, call: Any, reference: Solution | None
) -> tuple[Solution | None, dict[str, Any]]:
    """Call ``call()``; any Exception becomes a ``failed`` row (KeyboardInterrupt propagates)."""
    start = time.perf_counter()
    try:
        solution = call()
        if not isinstance(solution, Solution):
            raise TypeError(f"solve() returned {type(solution).__name__}, not a Solution")
    except Exception as error:  # noqa: BLE001 -- a failing solver is a row, by design
        row = dict.fromkeys(COLUMNS)
        row.update(problem=problem.name, name=label, solver=name, reference=False, status="failed")
        row.update(wall_s=time.perf_counter() - start, message=f"{type(error).__name__}: {error}")
        return None, row
    return solution, _row(problem, label, solution, reference, time.perf_counter() - start)


def _row(
    problem: Problem,
    label: str,
    solution: Solution,
    reference: Solution | None,
    measured: float | None,
) -> dict[str, Any]:
    """The row of a finished run; errors when both it and the reference are ok."""
    stats = dict(solution.stats)
    wall, memory, iterations = (stats.get(key) for key in ("wall_s", "peak_mem_mb", "iterations"))
    row = dict.fromkeys(COLUMNS)
    row.update(problem=problem.name, name=label, solver=solution.solver, reference=False)
    row.update(
        device=str(stats.get("device", "cpu")),
        dtype=str(stats.get("dtype", "float64")),
        wall_s=measured if wall is None else float(wall),
        peak_mem_mb=None if memory is None else float(memory),
        iterations=None if iterations is None else int(iterations),
        status=solution.status.value,
        message=solution.message,
    )
    if reference is not None and solution.status.ok:
        try:
            row["rel_l2"] = solution.error_vs(reference, norm="l2")
            row["max_err"] = solution.error_vs(reference, norm="max")
        except Exception as error:  # noqa: BLE001 -- cannot be evaluated on the points
            message = f"evaluating the error failed: {type(error).__name__}: {error}"
            row.update(status="failed", message=message, rel_l2=None, max_err=None)
    return row


def _cell(key: str, value: Any) -> str:
    if value is None:
        return "-"
    if key in ("rel_l2", "max_err"):
        return f"{value:.2e}"
    if key == "wall_s":
        return f"{value:.3g}"
    if key == "peak_mem_mb":
        return f"{value:.1f}"
    return str(value)


def _positive(value: Any) -> bool:
    return isinstance(value, (int, float)) and 0 < value < math.inf
