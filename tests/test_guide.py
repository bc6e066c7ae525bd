"""docs/guide.md stays true: its own-PDE example runs and reaches the errors it shows.

The example block (marked ``<!-- tested: ... -->`` in the guide) is extracted from the
markdown and executed: at a small PINN budget in the fast test, verbatim in the slow one.
"""

from __future__ import annotations

import ast
import re
import shlex
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
GUIDE = ROOT / "docs" / "guide.md"
MARKER = "<!-- tested: tests/test_guide.py runs this block -->"
# The budget of the guide's PINN, and the small one the fast test runs instead.
FULL_BUDGET = "adam_steps=1000, lbfgs_steps=1000, n_interior=1000"
SMALL_BUDGET = "adam_steps=300, lbfgs_steps=300, n_interior=400"


def _text() -> str:
    return GUIDE.read_text()


def _example() -> str:
    match = re.search(re.escape(MARKER) + r"\s*```python\n(.*?)```", _text(), re.DOTALL)
    assert match, f"docs/guide.md lost the tested example block (marker {MARKER!r})"
    return match.group(1)


def _run(code: str, capsys) -> tuple[dict, dict[str, float]]:
    """Execute the block; return its namespace and the printed rel. L2 error per solver."""
    namespace: dict = {"__name__": "guide_example"}
    exec(compile(code, str(GUIDE), "exec"), namespace)  # noqa: S102 -- the guide's own example
    printed = capsys.readouterr().out
    errors = {
        m.group(1): float(m.group(2))
        for m in re.finditer(r"^(\S+)\s+\S+\s+rel\. L2 = (\S+)$", printed, re.MULTILINE)
    }
    return namespace, errors


def test_example_defines_a_new_problem_in_under_20_lines():
    code = _example()
    assert len(code.splitlines()) < 20
    tree = ast.parse(code)
    calls = {
        node.func.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
    }
    assert {"Problem", "Disk", "Dirichlet", "solve"} <= calls
    # a problem the zoo does not ship: not imported from problems/
    assert "from problems" not in code and FULL_BUDGET in code


def test_example_runs_at_a_small_budget_and_is_checked_against_its_exact_solution(capsys):
    code = _example().replace(FULL_BUDGET, SMALL_BUDGET)
    namespace, errors = _run(code, capsys)
    problem, pinn, fem = namespace["problem"], namespace["pinn"], namespace["fem"]
    assert set(errors) == {"pinn", "fem"}
    assert pinn.status.ok and fem.status.ok
    # printed values are the solutions' errors against the manufactured solution
    assert errors["pinn"] == pytest.approx(pinn.error_vs(problem.reference()), rel=0.06)
    assert errors["fem"] == pytest.approx(fem.error_vs(problem.reference()), rel=0.06)
    assert (
        errors["pinn"] < 2.5e-2
    )  # measured 1.2e-2 (300 Adam + 300 L-BFGS steps, 400 interior points)
    assert errors["fem"] < 6e-6  # measured 2.9e-6 (P2, h = 0.1)


@pytest.mark.slow
def test_example_verbatim_reaches_the_error_the_guide_prints(capsys):
    _, errors = _run(_example(), capsys)
    shown = {
        m.group(1): float(m.group(2))
        for m in re.finditer(r"^(\w+)\s+\w+\s+rel\. L2 = (\S+)$", _text(), re.MULTILINE)
    }
    assert shown == {"pinn": 4.9e-3, "fem": 2.9e-6}
    assert errors["pinn"] < 1.5 * shown["pinn"]
    assert errors["fem"] < 1.5 * shown["fem"]


def test_every_command_line_in_the_guide_parses():
    from pde_lab.cli import build_parser, problem_names

    blocks = re.findall(r"```bash\n(.*?)```", _text(), re.DOTALL)
    commands = [line for block in blocks for line in block.replace("\\\n", " ").splitlines()]
    cli = [shlex.split(line) for line in commands if line.startswith("pde-lab ")]
    assert len(cli) >= 5
    parser = build_parser()
    for argv in cli:
        args = parser.parse_args(argv[1:])  # argparse exits on an unknown option
        if args.command in ("solve", "compare"):
            assert args.problem in problem_names()
    torchrun = [line for line in commands if line.startswith("torchrun ")]
    assert torchrun and all("-m pde_lab.cli solve" in line for line in torchrun)
    scripts = {
        word
        for line in commands
        for word in line.split()
        if word.startswith("docs/") and word.endswith(".py")
    }
    assert scripts == {"docs/render_vtu.py"}
    for script in scripts:
        ast.parse((ROOT / script).read_text())


def test_every_python_block_parses_and_every_figure_exists():
    text = _text()
    blocks = re.findall(r"^( *)```python\n(.*?)^\1```", text, re.DOTALL | re.MULTILINE)
    assert len(blocks) >= 5
    for _, block in blocks:
        ast.parse(textwrap.dedent(block))
    figures = re.findall(r"!\[[^\]]*\]\(([^)]+\.png)\)", text)
    assert figures
    for figure in figures:
        assert (GUIDE.parent / figure).is_file(), figure
