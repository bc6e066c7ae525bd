r"""The solver × problem matrix: every solver on every problem it accepts, at a stated budget.

Each row is a registered problem, each column a solver. A cell is one run of
:func:`pde_lab.compare` against the row's reference (exact solution, FEM or spectral), so it
holds the relative :math:`L^2` error

.. math::

    \text{rel\_l2} = \frac{\|u - u_\text{ref}\|_2}{\|u_\text{ref}\|_2}

on the problem's evaluation points and the run's wall time, or the reason the solver does not
apply (from the solver's ``check(problem)``, which trains nothing), or how the run failed.

The budgets are step counts, not seconds, so a matrix is reproducible on any machine; the wall
time in each cell says what the budget cost here. ``fast=True`` swaps in seconds-long budgets
that check the machinery, not the methods.

>>> from pde_lab.matrix import run_matrix
>>> matrix = run_matrix(problems=["poisson", "burgers"], fast=True)   # doctest: +SKIP
>>> print(matrix.to_markdown())                                       # doctest: +SKIP
>>> matrix.plot("matrix.png")                                         # doctest: +SKIP
"""

from __future__ import annotations

import datetime
import json
import math
import platform
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import Any

from pde_lab.api import SOLVERS, make_solver
from pde_lab.matrix_budgets import BUDGETS, FAST_BUDGETS, budget_for

__all__ = ["ROWS", "COLUMNS", "Matrix", "run_matrix", "applicability", "load_row"]

# Rows: registered problem names (`pde-lab list`), in the order of the README's table; a row
# "name:key=value[:key=value]" passes parameters to the problem's factory. The short KS and
# Allen-Cahn horizons are the causal-PINN paper's first time windows: at CPU budgets neural
# solvers resolve these, not t in [0, 1] (the full-horizon rows stay in the table to show it).
ROWS = (
    "poisson", "poisson-lshape", "burgers", "kuramoto-sivashinsky", "kuramoto-sivashinsky:t_final=0.1",
    "navier-stokes-kovasznay", "navier-stokes-cavity", "navier-stokes-taylor-green", "navier-stokes-torus",
    "keller-segel", "chemotaxis-indirect", "heat", "allen-cahn", "allen-cahn:t_final=0.25",
)
# Columns: neural solvers first, then the baselines (DeepXDE, coarse classical solves).
COLUMNS = ("pinn", "causal", "lpinn", "teng", "pinn-ngd", "pig", "hc-moe", "fno", "pino", "dcdm",
           "deepxde", "fem", "spectral")
CLASSICAL = ("fem", "spectral")  # classical solvers at a coarse setting: not counted as neural
NOT_APPLICABLE = "n/a"


def load_row(row: str) -> Any:
    """The problem of a matrix row: ``"name"`` or ``"name:key=value[:key=value...]"``."""
    from pde_lab.cli import _parse_value, load_problem

    name, *pairs = row.split(":")
    parameters = {}
    for pair in pairs:
        key, equals, value = pair.partition("=")
        if not equals or not key:
            raise ValueError(f"bad matrix row {row!r}: parameters are written name:key=value[:key=value]")
        parameters[key] = _parse_value(value)
    return load_problem(name, **parameters)


def applicability(solver: Any, problem: Any) -> str | None:
    """``None`` if ``solver`` accepts ``problem``, else the solver's reason (its ``check`` error)."""
    check = getattr(solver, "check", None)
    if check is None:
        return None
    try:
        check(problem)
    except (ValueError, TypeError) as error:
        return str(error)
    return None


@dataclass(frozen=True)
class Matrix:
    """The outcome of :func:`run_matrix`.

    Attributes
    ----------
    cells
        One dict per (problem, solver): ``problem``, ``solver``, ``status`` (``"ok"``, ``"n/a"``,
        ``"failed"``, ``"diverged"``...), ``rel_l2``, ``wall_s``, ``message`` (the reason or
        the solver's message) and ``options`` (the budget it ran with).
    references
        Problem -> ``{"solver", "wall_s", "status"}`` of the row's reference.
    meta
        Date, machine, budget name.
    """

    problems: tuple[str, ...]
    solvers: tuple[str, ...]
    cells: tuple[dict[str, Any], ...]
    references: dict[str, dict[str, Any]]
    meta: dict[str, Any] = field(default_factory=dict)

    def cell(self, problem: str, solver: str) -> dict[str, Any]:
        for cell in self.cells:
            if cell["problem"] == problem and cell["solver"] == solver:
                return cell
        raise KeyError(f"no cell ({problem!r}, {solver!r})")

    def neural_solved(self, problem: str) -> list[str]:
        """Neural solvers (not fem/spectral) that finished ``problem`` with an error measured."""
        return [c["solver"] for c in self.cells if c["problem"] == problem and c["solver"] not in CLASSICAL
                and c["status"] not in (NOT_APPLICABLE, "failed", "diverged") and c["rel_l2"] is not None]

    @classmethod
    def from_dict(cls, record: dict[str, Any]) -> Matrix:
        """The matrix of a :meth:`to_dict` record (e.g. read back from :meth:`to_json`)."""
        return cls(tuple(record["problems"]), tuple(record["solvers"]), tuple(record["cells"]),
                   dict(record["references"]), dict(record.get("meta", {})))

    @classmethod
    def join(cls, parts: Sequence[Matrix]) -> Matrix:
        """One matrix from runs over disjoint sets of problems with the same solvers."""
        if not parts or any(part.solvers != parts[0].solvers for part in parts):
            raise ValueError("join needs at least one matrix, all with the same solvers")
        problems = tuple(p for part in parts for p in part.problems)
        if len(set(problems)) != len(problems):
            raise ValueError("the matrices to join share problems")
        return cls(problems, parts[0].solvers, tuple(c for part in parts for c in part.cells),
                   {k: v for part in parts for k, v in part.references.items()}, dict(parts[0].meta))

    # ----------------------------------------------------------------- output
    def to_dict(self) -> dict[str, Any]:
        return {"meta": self.meta, "problems": list(self.problems), "solvers": list(self.solvers),
                "references": self.references, "cells": [_finite(c) for c in self.cells]}

    def to_json(self, path: str | PathLike) -> Path:
        from pde_lab.io import check_writable, write_atomically

        path = check_writable(path, (".json",))
        text = json.dumps(self.to_dict(), indent=1, allow_nan=False, default=repr) + "\n"
        return write_atomically(path, lambda temporary: temporary.write_text(text))

    def to_markdown(self) -> str:
        """The table (rel L2 / wall s per cell), then the reasons behind every n/a and failure."""
        used = [s for s in self.solvers if any(c["status"] != NOT_APPLICABLE for c in self.cells if c["solver"] == s)]
        unused = [s for s in self.solvers if s not in used]
        lines = ["| problem | reference | " + " | ".join(used) + " |", "|---" * (len(used) + 2) + "|"]
        notes: list[str] = []
        for problem in self.problems:
            reference = self.references.get(problem, {})
            wall = reference.get("wall_s")
            entries = [reference.get("solver", "-") + ("" if wall is None else f" ({_seconds(wall)})")]
            for solver in used:
                cell = self.cell(problem, solver)
                entries.append(_markdown_cell(cell))
                if cell["status"] not in ("ok", NOT_APPLICABLE):
                    notes.append(f"- {problem} × {solver}: {cell['status']}: {cell['message']}")
            lines.append(f"| {problem} | " + " | ".join(entries) + " |")
        lines += ["", "Cells: rel. L2 error against the reference, wall time; n/a: the solver does not apply "
                  "(reasons below)."]
        reasons = _reasons(self.cells, used)
        if reasons:
            lines += ["", "Why n/a:"] + [f"- {solver}: {text}" for solver, text in reasons]
        if unused:
            why = dict(_reasons(self.cells, unused))
            lines += ["", "Applied to none of these problems: " + "; ".join(
                f"{s} ({why.get(s, 'n/a')})" for s in unused)]
        if notes:
            lines += ["", "Failures:"] + notes
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.to_markdown()

    def plot(self, path: str | PathLike | None = None) -> Any:
        """Heat map of log10 rel. L2 (rows problems, columns solvers); grey n/a, hatched failures."""
        from pde_lab.matrix_plot import draw_matrix

        return draw_matrix(self, path)


def run_matrix(
    problems: Sequence[str] | None = None,
    solvers: Sequence[str] | None = None,
    *,
    fast: bool = False,
    budgets: dict[str, dict[str, Any]] | None = None,
    progress: Callable[[str], None] | None = print,
    on_row: Callable[[Matrix], None] | None = None,
) -> Matrix:
    """Run every solver in ``solvers`` on every problem in ``problems`` that it accepts.

    Parameters
    ----------
    problems, solvers
        Registered problem names (default ``ROWS``) and solver names (default ``COLUMNS``).
    fast
        Seconds-long budgets (``FAST_BUDGETS``), for smoke tests; the recorded matrix uses
        ``BUDGETS``.
    budgets
        Solver -> options replacing the default budget of that solver.
    progress
        Called with one line per cell as it finishes (``None``: silent).
    on_row
        Called with the matrix of the rows finished so far after each row (the CLI saves
        ``--json`` there, so an interrupted run keeps its finished rows).
    """
    from pde_lab.compare import compare

    problems = tuple(ROWS if problems is None else problems)
    solvers = tuple(COLUMNS if solvers is None else solvers)
    unknown = [s for s in solvers if s not in SOLVERS]
    if unknown:
        raise ValueError(f"unknown solver(s) {unknown}; known: {', '.join(sorted(SOLVERS))}")
    table = {**(FAST_BUDGETS if fast else BUDGETS), **(budgets or {})}
    loaded = {name: load_row(name) for name in problems}  # unknown names fail before any run
    say = progress or (lambda line: None)
    cells: list[dict[str, Any]] = []
    references: dict[str, dict[str, Any]] = {}
    meta = {"date": datetime.date.today().isoformat(), "machine": f"{platform.machine()} {platform.system()}",
            "python": platform.python_version(), "budget": "fast" if fast else "standard"}
    for done, (name, problem) in enumerate(loaded.items(), start=1):
        runnable, row_cells = {}, {}
        for solver_name in solvers:
            options = budget_for(table, solver_name, name)
            solver = make_solver(solver_name, **options)
            reason = applicability(solver, problem)
            row_cells[solver_name] = {"problem": name, "solver": solver_name, "status": NOT_APPLICABLE,
                                      "rel_l2": None, "wall_s": None, "message": reason, "options": options}
            if reason is None:
                runnable[solver_name] = solver

        def measured(row: dict[str, Any], name: str = name, row_cells: dict = row_cells) -> None:
            if row["reference"]:
                references[name] = {"solver": row["solver"], "wall_s": row["wall_s"], "status": row["status"]}
                return
            cell = row_cells[row["name"]]
            status = "ok" if row["rel_l2"] is not None else row["status"]
            cell.update(status=status, rel_l2=row["rel_l2"], wall_s=row["wall_s"], message=row["message"])
            error = "-" if cell["rel_l2"] is None else f"{cell['rel_l2']:.2e}"
            say(f"{name:<28} {cell['solver']:<10} {status:<9} rel L2 {error:>9}  {_seconds(cell['wall_s'])}")

        if runnable:
            compare(problem, runnable, on_row=measured)  # each cell is reported as soon as it is measured
        cells += [row_cells[solver_name] for solver_name in solvers]
        if on_row is not None:
            on_row(Matrix(problems[:done], solvers, tuple(cells), dict(references), meta))
    import torch

    meta["torch"] = torch.__version__
    return Matrix(problems, solvers, tuple(cells), references, meta)


# --------------------------------------------------------------------- helpers
def _seconds(value: Any) -> str:
    if not isinstance(value, (int, float)) or not math.isfinite(value):
        return "-"
    return f"{value:.2g} s" if value < 10 else f"{value:.0f} s"


def _markdown_cell(cell: dict[str, Any]) -> str:
    if cell["status"] == NOT_APPLICABLE:
        return NOT_APPLICABLE
    if cell["rel_l2"] is None:
        return f"{cell['status']} ({_seconds(cell['wall_s'])})"
    return f"{cell['rel_l2']:.1e} ({_seconds(cell['wall_s'])})"


def _reasons(cells: Sequence[dict[str, Any]], solvers: Sequence[str]) -> list[tuple[str, str]]:
    """One line per solver: its distinct n/a reasons, shortened to their first sentence."""
    out = []
    for solver in solvers:
        seen: list[str] = []
        for cell in cells:
            if cell["solver"] == solver and cell["status"] == NOT_APPLICABLE and cell["message"]:
                text = cell["message"].split("; ")[0].split(". ")[0].rstrip(".")
                if text not in seen:
                    seen.append(text)
        if seen:
            out.append((solver, " / ".join(seen[:3]) + (" / …" if len(seen) > 3 else "")))
    return out


def _finite(cell: dict[str, Any]) -> dict[str, Any]:
    from pde_lab.solution import finite_or_none

    return {key: finite_or_none(value) if isinstance(value, float) else value for key, value in cell.items()}
