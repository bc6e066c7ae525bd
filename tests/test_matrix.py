"""The solver × problem matrix: applicability checks, cells, table, figure, CLI."""

import json

import pytest

from pde_lab.api import SOLVERS, make_solver
from pde_lab.cli import load_problem, main
from pde_lab.matrix import (CLASSICAL, COLUMNS, NOT_APPLICABLE, ROWS, Matrix, applicability, load_row,
                            run_matrix)
from pde_lab.matrix_budgets import BUDGETS, FAST_BUDGETS, budget_for


def test_every_solver_has_a_check_that_trains_nothing():
    poisson, burgers = load_problem("poisson"), load_problem("burgers")
    for name in SOLVERS:
        solver = make_solver(name)
        assert callable(getattr(solver, "check", None)), name
        for problem in (poisson, burgers):
            reason = applicability(solver, problem)
            assert reason is None or isinstance(reason, str) and reason


def test_reasons_say_why():
    poisson, heat = load_problem("poisson"), load_problem("heat")
    assert applicability(make_solver("pinn"), poisson) is None
    assert "steady" in applicability(make_solver("teng"), poisson)
    assert "steady" in applicability(make_solver("fem"), heat)
    assert "families" in applicability(make_solver("fno"), poisson)
    assert "steady" in applicability(make_solver("pinn-ngd"), heat)
    assert applicability(make_solver("spectral"), heat) is None
    assert "boxes" in applicability(make_solver("dcdm"), load_problem("poisson-lshape"))
    assert "one field" in applicability(make_solver("hc-moe"), load_problem("keller-segel"))
    taylor_green = load_problem("navier-stokes-taylor-green")
    assert "residual" in applicability(make_solver("teng"), taylor_green)  # not "steady": it evolves


def test_every_row_is_accepted_by_two_neural_solvers_besides_its_reference():
    neural = [s for s in COLUMNS if s not in CLASSICAL + ("deepxde",)]
    for name in ROWS:
        problem = load_row(name)
        assert problem.has_reference, name
        accepted = [s for s in neural
                    if applicability(make_solver(s, **budget_for(BUDGETS, s, name)), problem) is None]
        assert len(accepted) >= 2, (name, accepted)


def test_budget_for_merges_problem_specific_options():
    table = {"teng": {"dt": 0.02, "problem:heat": {"dt": 0.1}}}
    assert budget_for(table, "teng", "heat") == {"dt": 0.1}
    assert budget_for(table, "teng", "burgers") == {"dt": 0.02}
    assert budget_for(table, "pinn", "heat") == {}
    table["teng"]["problem:heat:t_final=0.5"] = {"scheme": "heun"}  # a row with parameters: its own options last
    assert budget_for(table, "teng", "heat:t_final=0.5") == {"dt": 0.1, "scheme": "heun"}
    assert budget_for(table, "teng", "heat:t_final=0.2") == {"dt": 0.1}
    assert set(BUDGETS) == set(FAST_BUDGETS) == set(COLUMNS)
    for table in (BUDGETS, FAST_BUDGETS):  # every option is one the solver has
        for solver in COLUMNS:
            for problem in ROWS:
                make_solver(solver, **budget_for(table, solver, problem))


def test_fast_matrix_cells_table_and_figure(tmp_path):
    lines = []
    matrix = run_matrix(["poisson", "burgers"], ["pinn", "teng", "fem"], fast=True, progress=lines.append)
    assert matrix.cell("poisson", "teng")["status"] == NOT_APPLICABLE
    assert "steady" in matrix.cell("poisson", "teng")["message"]
    assert matrix.cell("burgers", "fem")["status"] == NOT_APPLICABLE
    fem = matrix.cell("poisson", "fem")
    assert fem["status"] == "ok" and fem["rel_l2"] < 0.1  # P1, h = 0.2: measured 4.2e-2
    for problem, solver in (("poisson", "pinn"), ("burgers", "pinn"), ("burgers", "teng")):
        cell = matrix.cell(problem, solver)
        assert cell["status"] == "ok" and 0 < cell["rel_l2"] < 10 and cell["wall_s"] > 0, cell
    assert matrix.references["poisson"]["solver"] == "exact"
    assert len(lines) == 4  # one line per cell that ran
    assert matrix.neural_solved("burgers") == ["pinn", "teng"]

    text = matrix.to_markdown()
    assert text.splitlines()[0] == "| problem | reference | pinn | teng | fem |"
    assert "| poisson | exact" in text and "n/a" in text and "Why n/a:" in text
    record = json.loads(matrix.to_json(tmp_path / "m.json").read_text())
    assert len(record["cells"]) == 6 and record["meta"]["budget"] == "fast"
    assert matrix.plot(tmp_path / "m.png").stat().st_size > 10_000


def test_failures_are_cells_not_crashes():
    broken = {"pinn": {**FAST_BUDGETS["pinn"], "learning_rate": float("nan")}}
    matrix = run_matrix(["poisson"], ["pinn"], fast=True, budgets=broken, progress=None)
    cell = matrix.cell("poisson", "pinn")
    assert cell["status"] != "ok" and cell["rel_l2"] is None
    assert "Failures:" in matrix.to_markdown()


def test_unknown_names_fail_before_anything_runs():
    with pytest.raises(ValueError, match="unknown solver"):
        run_matrix(["poisson"], ["no-such-solver"], fast=True)
    with pytest.raises(ValueError, match="unknown problem"):
        run_matrix(["no-such-problem"], ["pinn"], fast=True)


def test_cli_matrix(tmp_path, capsys):
    out = tmp_path / "m.json"
    code = main(["matrix", "--fast", "--problems", "poisson", "--solvers", "fem,teng", "--json", str(out),
                 "--markdown", str(tmp_path / "m.md")])
    assert code == 0
    printed = capsys.readouterr()
    assert "| poisson |" in printed.out and "poisson" in printed.err
    assert json.loads(out.read_text())["solvers"] == ["fem", "teng"]
    assert (tmp_path / "m.md").read_text().startswith("| problem |")
    assert main(["matrix", "--fast", "--solvers", ","]) == 2


def test_join_and_json_round_trip(tmp_path):
    seen = []
    one = run_matrix(["poisson"], ["fem", "teng"], fast=True, progress=None, on_row=seen.append)
    assert [m.problems for m in seen] == [("poisson",)] and seen[0].cells == one.cells  # saved after each row
    two = run_matrix(["heat"], ["fem", "teng"], fast=True, budgets={"teng": {**FAST_BUDGETS["teng"], "dt": 1.0}},
                     progress=None)
    joined = Matrix.join([one, two])
    assert joined.problems == ("poisson", "heat")
    assert joined.cell("heat", "fem")["status"] == NOT_APPLICABLE
    back = Matrix.from_dict(json.loads(joined.to_json(tmp_path / "j.json").read_text()))
    assert back.to_markdown() == joined.to_markdown()
    with pytest.raises(ValueError, match="share problems"):
        Matrix.join([one, one])


def test_a_row_can_pass_parameters_to_its_problem():
    short = load_row("kuramoto-sivashinsky:t_final=0.1")
    assert short.time_span == (0.0, 0.1) and short.name == "kuramoto-sivashinsky"
    with pytest.raises(ValueError, match="name:key=value"):
        load_row("kuramoto-sivashinsky:t_final")
    with pytest.raises(ValueError, match="bad parameters"):
        load_row("kuramoto-sivashinsky:horizon=0.1")
