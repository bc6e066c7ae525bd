"""compare(): every row's error equals error_vs recomputed independently; a failing solver is a
row, not a crash; the table survives CSV/JSON round trips; the CLI keeps the JSON contract.

Test problem: 2D Poisson with the exact solution u = sin(πx) sin(πy) (problems/poisson.py).
"""

from __future__ import annotations

import csv
import dataclasses
import json
import math
import os
import subprocess
import sys
from dataclasses import dataclass

import numpy as np
import pytest

from pde_lab import SOLVERS, Solution, Status, compare
from pde_lab.cli import main
from pde_lab.solvers.pinn import PINN
from problems import poisson

CONTRACT = {"problem", "solver", "device", "dtype", "wall_s", "peak_mem_mb", "iterations", "status"}
CONTRACT |= {"rel_l2", "name", "message", "max_err", "reference"}
TINY_PINN = PINN(width=16, adam_steps=200, lbfgs_steps=100, n_interior=200, n_boundary=80,
                 dtype="float64", weights={"boundary": 10.0}, progress=False)  # fmt: skip


def exact(points: np.ndarray) -> np.ndarray:
    return (np.sin(math.pi * points[:, 0]) * np.sin(math.pi * points[:, 1]))[:, None]


@dataclass(frozen=True)
class Scaled:
    """(1 + epsilon) · exact: relative errors are exactly |epsilon| in every norm."""

    epsilon: float = 0.01
    status: Status = Status.CONVERGED
    name = "scaled"

    def solve(self, problem):
        field = lambda points: (1 + self.epsilon) * exact(points)
        stats = {
            "wall_s": 0.25,
            "peak_mem_mb": 1.5,
            "iterations": 7,
            "device": "cpu",
            "dtype": "float64",
        }
        return Solution(problem, field, self.name, self.status, "", stats)


@dataclass(frozen=True)
class Constant:
    """u ≡ value, ending with ``status``: NaN for a diverged run, inf for an overflowing one."""

    value: float
    status: Status
    message: str = ""
    name = "constant"

    def solve(self, problem):
        field = lambda points: np.full((len(points), 1), self.value)
        stats = {"wall_s": 0.1, "iterations": 3}
        return Solution(problem, field, self.name, self.status, self.message, stats)


@dataclass(frozen=True)
class Raising:
    kind: type[BaseException] = RuntimeError
    message: str = "singular matrix: refine the mesh"
    name = "raising"

    def solve(self, problem):
        raise self.kind(self.message)


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Tiny networks train faster on one thread, and far faster on a busy machine."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def fem_vs_pinn():
    return compare(poisson(), ["fem", TINY_PINN])


def test_errors_equal_error_vs_and_fem_beats_a_tiny_pinn(fem_vs_pinn):
    problem = poisson()  # a fresh instance: nothing shared with the comparison
    points = problem.evaluation_points()
    u = exact(points)
    assert [row["name"] for row in fem_vs_pinn.rows] == ["reference", "fem", "pinn"]
    reference = fem_vs_pinn.row("reference")
    assert reference["reference"] and reference["solver"] == "exact"
    assert reference["rel_l2"] == reference["max_err"] == 0.0
    for name in ("fem", "pinn"):
        row, solution = fem_vs_pinn.row(name), fem_vs_pinn.solutions[name]
        assert not row["reference"] and Status(row["status"]).ok
        assert row["rel_l2"] == solution.error_vs(problem.reference())
        assert row["max_err"] == solution.error_vs(problem.reference(), norm="max")
        difference = solution(points) - u  # and by hand, in numpy
        assert row["rel_l2"] == pytest.approx(
            np.linalg.norm(difference) / np.linalg.norm(u), rel=1e-12
        )
        assert row["max_err"] == pytest.approx(
            np.abs(difference).max() / np.abs(u).max(), rel=1e-12
        )
        for key in ("wall_s", "peak_mem_mb", "iterations", "device", "dtype"):
            assert row[key] == solution.stats[key]
    fem, pinn = fem_vs_pinn.row("fem"), fem_vs_pinn.row("pinn")
    # P2 elements at h = 0.05 against 300 optimiser steps of a width-16 network
    assert fem["rel_l2"] < 1e-3 < pinn["rel_l2"] < 0.3
    assert fem["max_err"] < pinn["max_err"]
    assert pinn["iterations"] == 300 and pinn["dtype"] == "float64"
    lines = str(fem_vs_pinn).splitlines()
    assert lines[1].split() == ["name", "solver", "status", "rel_l2", "max_err", "wall_s", "peak_mem_mb",
                                "iterations", "device", "dtype"]  # fmt: skip
    for column in ("rel_l2", "max_err"):  # right-aligned under their headers, in %.2e
        end = lines[1].index(column) + len(column)
        assert [line[end - 8 : end] for line in lines[3:6]] == [
            f"{r[column]:.2e}" for r in fem_vs_pinn.rows
        ]


def test_relative_errors_are_exact_for_a_scaled_solution_and_labels_are_unique():
    comparison = compare(poisson(), [Scaled(0.01), Scaled(-0.03), "fem"])
    assert [row["name"] for row in comparison.rows] == ["reference", "scaled", "scaled-2", "fem"]
    for name, epsilon in (("scaled", 0.01), ("scaled-2", 0.03)):
        assert comparison.row(name)["rel_l2"] == pytest.approx(epsilon, rel=1e-12)
        assert comparison.row(name)["max_err"] == pytest.approx(epsilon, rel=1e-12)
    labelled = compare(poisson(), {"coarse": Scaled(0.1), "fine": Scaled(0.001)})
    assert [row["name"] for row in labelled.rows] == ["reference", "coarse", "fine"]
    assert labelled.row("fine")["rel_l2"] == pytest.approx(0.001, rel=1e-12)


def test_a_raising_or_diverging_solver_is_a_row_and_the_others_complete():
    diverging = Constant(
        math.nan, Status.DIVERGED, "loss became NaN at iteration 3; lower learning_rate"
    )
    comparison = compare(poisson(), [Raising(), diverging, Scaled(0.02)])
    failed, diverged, scaled = (comparison.row(n) for n in ("raising", "constant", "scaled"))
    assert failed["status"] == "failed"
    assert failed["message"] == "RuntimeError: singular matrix: refine the mesh"
    assert comparison.solutions["raising"] is None
    assert diverged["status"] == "diverged" and "lower learning_rate" in diverged["message"]
    for row in (failed, diverged):
        assert row["rel_l2"] is None and row["max_err"] is None
    assert scaled["status"] == "converged" and scaled["rel_l2"] == pytest.approx(0.02, rel=1e-12)
    text = str(comparison)
    assert (
        "raising: failed: RuntimeError: singular matrix" in text
        and "constant: diverged: loss became NaN" in text
    )


def test_rows_are_reported_as_they_are_measured():
    events = []

    class Second:
        name = "second"

        def solve(self, problem):
            events.append("second starts")
            return Scaled(0.02).solve(problem)

    comparison = compare(poisson(), [Scaled(0.01), Second(), Raising()],
                         on_row=lambda row: events.append((row["name"], row["rel_l2"])))
    assert events[:3] == [("reference", 0.0), ("scaled", pytest.approx(0.01, rel=1e-12)), "second starts"]
    assert events[3:] == [("second", pytest.approx(0.02, rel=1e-12)), ("raising", None)]
    assert len(comparison.rows) == 4


def test_keyboard_interrupt_is_not_swallowed():
    with pytest.raises(KeyboardInterrupt):
        compare(poisson(), [Scaled(), Raising(KeyboardInterrupt)])


def test_unknown_solver_name_is_rejected_before_anything_runs():
    calls = []

    class Recording:
        name = "recording"

        def solve(self, problem):
            calls.append(problem)
            return Scaled().solve(problem)

    with pytest.raises(
        ValueError, match=r"unknown solver 'nope'; known solvers: " + ", ".join(sorted(SOLVERS))
    ):
        compare(poisson(), [Recording(), "nope"])
    assert calls == []
    with pytest.raises(TypeError, match="list of names"):
        compare(poisson(), "fem,pinn")
    with pytest.raises(ValueError, match="empty"):
        compare(poisson(), [])


def test_explicit_reference_and_a_problem_without_one():
    no_reference = dataclasses.replace(poisson(), exact_solution=None)
    blind = compare(no_reference, [Scaled(0.05)])
    assert blind.reference is None and [row["name"] for row in blind.rows] == ["scaled"]
    assert blind.row("scaled")["rel_l2"] is None and blind.row("scaled")["wall_s"] == 0.25
    given = Scaled(0.0).solve(no_reference)
    checked = compare(no_reference, [Scaled(0.05)], reference=given)
    assert checked.row("reference")["solver"] == "scaled" and checked.row("reference")["reference"]
    assert checked.row("scaled")["rel_l2"] == pytest.approx(0.05, rel=1e-12)


def test_csv_and_json_read_back_the_same_numbers(fem_vs_pinn, tmp_path):
    record = json.loads(json.dumps(fem_vs_pinn.to_dict()))
    with open(fem_vs_pinn.to_json(tmp_path / "table.json")) as handle:
        assert json.load(handle) == record == fem_vs_pinn.to_dict()
    assert set(record) == {"problem", "rows"} and record["problem"] == "poisson"
    with open(fem_vs_pinn.to_csv(tmp_path / "table.csv"), newline="") as handle:
        table = list(csv.DictReader(handle))
    for row, read in zip(fem_vs_pinn.rows, table, strict=True):
        assert set(read) == CONTRACT
        for key in ("rel_l2", "max_err", "wall_s", "peak_mem_mb"):
            assert float(read[key]) == row[key]  # repr of a float round-trips exactly
        assert int(read["iterations"]) == row["iterations"] and read["status"] == row["status"]
    # missing and non-finite numbers: empty cells, JSON null
    overflowing = Constant(math.inf, Status.BUDGET_EXHAUSTED)
    partial = compare(poisson(), {"broken": Raising(), "overflowing": overflowing})
    assert partial.row("overflowing")["rel_l2"] == math.inf
    rows = json.loads(partial.to_json(tmp_path / "partial.json").read_text())["rows"]
    assert rows[1]["rel_l2"] is None and rows[2]["rel_l2"] is None and rows[2]["iterations"] == 3
    with open(partial.to_csv(tmp_path / "partial.csv"), newline="") as handle:
        assert [read["rel_l2"] for read in csv.DictReader(handle)] == ["0.0", "", ""]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "partial.csv",
        "partial.json",
        "table.csv",
        "table.json",
    ]


def test_plot_writes_a_readable_image(fem_vs_pinn, tmp_path):
    import matplotlib.image

    path = fem_vs_pinn.plot(tmp_path / "compare.png")
    image = matplotlib.image.imread(path)
    assert path.stat().st_size > 10_000 and image.ndim == 3
    assert image.shape[0] > 0.5 * image.shape[1]  # two solver rows below the title
    assert [p.name for p in tmp_path.iterdir()] == ["compare.png"]


def test_plot_scatter_has_one_marker_per_solver_and_the_reference_time(fem_vs_pinn):
    import matplotlib.pyplot as plt

    figure = fem_vs_pinn.plot()
    cost = figure.axes[0]
    assert (cost.get_xscale(), cost.get_yscale()) == ("log", "log")
    assert [text.get_text() for text in cost.get_legend().get_texts()] == ["fem", "pinn"]
    markers = np.vstack([collection.get_offsets() for collection in cost.collections])
    expected = [
        [fem_vs_pinn.row(n)["wall_s"], fem_vs_pinn.row(n)["rel_l2"]] for n in ("fem", "pinn")
    ]
    np.testing.assert_allclose(markers, expected)
    plt.close(figure)
    fem = fem_vs_pinn.solutions["fem"]  # a reference that took time: drawn as a vertical line
    figure = compare(poisson(), [Scaled(0.01)], reference=fem).plot()
    (line,) = figure.axes[0].get_lines()
    assert line.get_xdata()[0] == fem.stats["wall_s"] and "reference (fem)" in line.get_label()
    plt.close(figure)


def test_a_failing_write_leaves_nothing_behind(fem_vs_pinn, tmp_path, monkeypatch):
    import matplotlib.figure

    for bad in (tmp_path / "compare.jpg", tmp_path / "missing" / "compare.png"):
        with pytest.raises(ValueError, match="unsupported file extension|does not exist"):
            fem_vs_pinn.plot(bad)
    with pytest.raises(ValueError, match="unsupported file extension"):
        fem_vs_pinn.to_csv(tmp_path / "table.txt")
    with pytest.raises(ValueError, match="unsupported file extension"):
        fem_vs_pinn.to_json(tmp_path / "table.csv")
    assert list(tmp_path.iterdir()) == []
    target = tmp_path / "compare.png"
    target.write_bytes(b"previous figure")

    def full_disk(self, *args, **kwargs):
        raise OSError("No space left on device")

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", full_disk)
    with pytest.raises(OSError, match="No space left"):
        fem_vs_pinn.plot(target)
    assert [p.name for p in tmp_path.iterdir()] == ["compare.png"]
    assert target.read_bytes() == b"previous figure"  # the old file is untouched


def test_cli_json_keeps_the_contract(tmp_path):
    command = [sys.executable, "-m", "pde_lab.cli", "compare", "poisson", "--solvers", "fem,pinn",
               "--set", "pinn.adam_steps=50", "--set", "pinn.lbfgs_steps=0", "--json",
               "--csv", str(tmp_path / "out.csv")]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        command, check=False, capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "Warning" not in done.stderr, done.stderr  # e.g. runpy's double import of pde_lab.cli
    record = json.loads(done.stdout)  # exactly one object: anything else fails to parse
    assert set(record) == {"problem", "rows"} and record["problem"] == "poisson"
    assert [row["name"] for row in record["rows"]] == ["reference", "fem", "pinn"]
    for row in record["rows"]:
        assert set(row) == CONTRACT and row["problem"] == "poisson"
    fem, pinn = record["rows"][1], record["rows"][2]
    assert pinn["iterations"] == 50 and pinn["status"] == "budget_exhausted"
    assert fem["rel_l2"] < 1e-3 < pinn["rel_l2"]
    with open(tmp_path / "out.csv", newline="") as handle:
        assert [float(row["rel_l2"]) for row in csv.DictReader(handle)] == [
            r["rel_l2"] for r in record["rows"]
        ]


def test_cli_text_table_and_clear_errors(tmp_path, capsys):
    assert main(["compare", "poisson", "--solvers", "fem", "--csv", str(tmp_path / "t.csv")]) == 0
    out = capsys.readouterr().out
    assert (
        "poisson: 1 solver(s) against the reference (exact)" in out
        and f"csv: {tmp_path / 't.csv'}" in out
    )
    for argv, message in (
        (
            ["--solvers", "fem,nope"],
            "unknown solver 'nope'; known solvers: " + ", ".join(sorted(SOLVERS)),
        ),
        (["--solvers", "fem", "--set", "adam_steps=5"], "--set expects solver.key=value"),
        (["--solvers", "fem", "--set", "pinn.adam_steps=5"], "'pinn' is not among --solvers fem"),
        (["--solvers", "fem", "--set", "fem.adam_steps=5"], "has no option(s) ['adam_steps']"),
        (
            ["--solvers", "fem", "--plot", str(tmp_path / "figure.gif")],
            "unsupported file extension",
        ),
    ):
        assert main(["compare", "poisson", *argv]) == 2
        assert message in capsys.readouterr().err
    assert [p.name for p in tmp_path.iterdir()] == ["t.csv"]


def test_importing_pde_lab_stays_light():
    code = "import sys, pde_lab; print(sorted({'torch', 'matplotlib'} & set(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=60
    )
    assert done.stdout.strip() == "[]", done.stderr
