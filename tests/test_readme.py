"""The README's two commands are the ones CI and users run."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _commands():
    readme = (ROOT / "README.md").read_text()
    return re.findall(r"```bash\n(pip install [^\n]+)\n```", readme)


def test_ci_runs_exactly_the_readme_test_command():
    demo, tests = _commands()[:2]
    assert "pytest" in tests and "torch==2.13.0" in tests and "torch==2.13.0" in demo
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert tests in ci


def test_readme_demo_script_exists_and_is_tested():
    demo = _commands()[0]
    script = re.search(r"python (examples/\S+\.py)", demo).group(1)
    assert (ROOT / script).exists()
    assert script.split("/")[-1] in (ROOT / "tests" / "test_examples.py").read_text()
