"""The ``pde-lab`` command line.

``pde-lab list [--json]``
    Problems (discovered from the ``pde_lab.problems`` entry points) and solvers.
``pde-lab solve PROBLEM --solver NAME [--set key=value ...] [--param key=value ...]
[--export out.vtu|out.pvd] [--plot out.png] [--json]``
    Solve, report error against the problem's reference, export and plot. With ``--json``
    exactly one JSON object is printed on stdout (progress goes to stderr).
``pde-lab compare PROBLEM --solvers a,b [--set a.key=value ...] [--param key=value ...]
[--csv out.csv] [--plot out.png] [--json]``
    Run the reference and each solver, print the table (or ``{"problem", "rows"}`` with
    ``--json``); a solver that fails gives a row with its status, and the exit code is 0.
``pde-lab matrix [--problems a,b] [--solvers x,y] [--fast] [--json F] [--markdown F] [--figure F]``
    Every solver on every problem it accepts (see :mod:`pde_lab.matrix`): the error/time table,
    with the reason for each solver that does not apply.

Start-up stays light: torch and the problem modules are imported only by ``solve`` and ``compare``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from collections.abc import Sequence
from typing import Any

__all__ = ["main", "problem_names", "load_problem"]

GROUP = "pde_lab.problems"


def _entry_points() -> dict[str, Any]:
    from importlib.metadata import entry_points

    return {ep.name: ep for ep in entry_points(group=GROUP)}


def problem_names() -> list[str]:
    return sorted(_entry_points())


def load_problem(name: str, **parameters: Any) -> Any:
    """Build a registered problem by name, passing ``parameters`` to its factory."""
    points = _entry_points()
    if name not in points:
        known = ", ".join(sorted(points)) or "none (is pde_lab installed with `pip install -e .`?)"
        raise ValueError(f"unknown problem {name!r}; known problems: {known}")
    factory = points[name].load()
    try:
        return factory(**parameters)
    except TypeError as error:
        raise ValueError(f"bad parameters for problem {name!r}: {error}") from None


def _parse_value(text: str) -> Any:
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered in ("none", "null"):
        return None
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _pairs(items: Sequence[str] | None, flag: str) -> dict[str, Any]:
    out = {}
    for item in items or ():
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"{flag} expects key=value, got {item!r}")
        out[key.strip().replace("-", "_")] = _parse_value(value.strip())
    return out


def _json_ready(value: Any) -> Any:
    """Recursively replace NaN/inf by ``None`` so the output is valid JSON."""
    from pde_lab.solution import finite_or_none

    if isinstance(value, dict):
        return {k: _json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_ready(v) for v in value]
    return finite_or_none(value)


def _command_list(args: argparse.Namespace) -> int:
    from pde_lab.api import SOLVERS

    if args.json:
        print(json.dumps({"problems": problem_names(), "solvers": sorted(SOLVERS)}))
    else:
        print("problems: " + ", ".join(problem_names()))
        print("solvers:  " + ", ".join(sorted(SOLVERS)))
    return 0


def _relaunch_distributed(args: argparse.Namespace) -> int | None:
    """``--nproc N``: run this same command under torchrun with N processes."""
    import os
    import subprocess

    if not args.nproc or args.nproc == 1 or "WORLD_SIZE" in os.environ:
        return None
    if args.nproc < 1:
        raise ValueError(f"--nproc must be >= 1, got {args.nproc}")
    argv, skip = [], False
    for item in args.argv:
        if skip:
            skip = False
        elif item == "--nproc":
            skip = True
        elif not item.startswith("--nproc="):
            argv.append(item)
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(args.nproc),
               "-m", "pde_lab.cli", *argv]
    return subprocess.call(command)


def _command_solve(args: argparse.Namespace) -> int:
    from pde_lab.api import make_solver
    from pde_lab.io import SUPPORTED, check_writable

    relaunched = _relaunch_distributed(args)
    if relaunched is not None:
        return relaunched
    from pde_lab.distributed import init_from_environment, rank_and_world

    init_from_environment()

    options = _pairs(args.set, "--set")
    for name in ("device", "dtype", "seed", "progress", "checkpoint"):
        value = getattr(args, name)
        if value is not None:
            options[name] = value
    if args.resume:
        options["resume"] = True
    if args.export:
        check_writable(args.export, SUPPORTED)
    if args.plot:
        check_writable(args.plot, (".png", ".pdf", ".svg"))
    problem = load_problem(args.problem, **_pairs(args.param, "--param"))
    solver = make_solver(args.solver, **options)
    solution = solver.solve(problem)
    if rank_and_world()[0] != 0:  # one report and one set of files: rank 0's
        return 0 if solution.status.ok else 1
    record = solution.summary()
    record["rel_l2"] = None
    if problem.has_reference and solution.status.ok:
        record["rel_l2"] = solution.error_vs(problem.reference())
    if args.export and solution.status.ok:
        record["export"] = str(solution.export(args.export))
    if args.plot:
        record["plot"] = str(solution.plot(args.plot))
    if args.json:
        print(json.dumps(_json_ready(record)))
    else:
        for key, value in record.items():
            print(f"{key:>12}: {value:.4g}" if isinstance(value, float) else f"{key:>12}: {value}")
    return 0 if solution.status.ok else 1


def _solver_options(items: Sequence[str] | None, names: Sequence[str]) -> dict[str, dict[str, Any]]:
    """``--set pinn.adam_steps=200`` -> ``{"pinn": {"adam_steps": 200}}``, for each of ``names``."""
    options: dict[str, dict[str, Any]] = {name: {} for name in names}
    for item in items or ():
        solver, dot, rest = item.partition(".")
        if not dot or "=" in solver or not solver:
            raise ValueError(f"--set expects solver.key=value (pinn.adam_steps=200), got {item!r}")
        if solver not in options:
            raise ValueError(f"--set {item!r}: {solver!r} is not among --solvers {','.join(names)}")
        options[solver].update(_pairs([rest], "--set"))
    return options


def _command_compare(args: argparse.Namespace) -> int:
    import contextlib

    from pde_lab.api import make_solver
    from pde_lab.compare import compare
    from pde_lab.io import check_writable

    names = [name.strip() for name in args.solvers.split(",") if name.strip()]
    if not names:
        raise ValueError("--solvers expects comma-separated solver names, e.g. --solvers pinn,fem")
    options = _solver_options(args.set, names)
    if args.csv:
        check_writable(args.csv, (".csv",))
    if args.plot:
        check_writable(args.plot, (".png", ".pdf", ".svg"))
    solvers = [make_solver(name, **options[name]) for name in names]
    problem = load_problem(args.problem, **_pairs(args.param, "--param"))
    # stdout carries only the JSON object; anything a solver prints goes to stderr
    with contextlib.redirect_stdout(sys.stderr) if args.json else contextlib.nullcontext():
        comparison = compare(problem, solvers)
        written = []
        if args.csv:
            written.append(f"csv: {comparison.to_csv(args.csv)}")
        if args.plot:
            written.append(f"plot: {comparison.plot(args.plot)}")
    if args.json:
        print(json.dumps(comparison.to_dict(), allow_nan=False))
    else:
        print("\n".join([str(comparison), *written]))
    return 0


def _command_bench(args: argparse.Namespace) -> int:
    from pde_lab.bench import BENCHMARKS, run_benchmark, to_markdown

    if args.list:
        print("\n".join(sorted(BENCHMARKS)))
        return 0
    if not args.name:
        raise ValueError(f"name a benchmark (or --list); known benchmarks: {', '.join(sorted(BENCHMARKS))}")
    if args.figure:
        from pde_lab.io import check_writable

        check_writable(args.figure, (".png",))
    record = run_benchmark(args.name, device=args.device, fast=args.fast)
    if args.figure:
        from pde_lab.bench import draw_figure

        draw_figure(record, args.figure)
    if args.json:
        print(json.dumps(_json_ready(record)))
    else:
        print(to_markdown(record))
    return 0


def _command_matrix(args: argparse.Namespace) -> int:
    from pde_lab.io import check_writable
    from pde_lab.matrix import COLUMNS, ROWS, run_matrix

    for path, suffixes in ((args.json, (".json",)), (args.markdown, (".md",)), (args.figure, (".png", ".pdf", ".svg"))):
        if path:
            check_writable(path, suffixes)
    problems = _names(args.problems, ROWS)
    solvers = _names(args.solvers, COLUMNS)
    matrix = run_matrix(problems, solvers, fast=args.fast, progress=lambda line: print(line, file=sys.stderr, flush=True),
                        on_row=(lambda partial: partial.to_json(args.json)) if args.json else None)
    text = matrix.to_markdown()
    if args.json:
        matrix.to_json(args.json)
    if args.markdown:
        Path(args.markdown).write_text(text + "\n")
    if args.figure:
        matrix.plot(args.figure)
    print(text)
    return 0


def _names(text: str | None, default: Sequence[str]) -> list[str]:
    if text is None:
        return list(default)
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names:
        raise ValueError("expected comma-separated names, e.g. poisson,burgers")
    return names


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pde-lab", description="Physics-informed PDE solvers, checked against references.")
    commands = parser.add_subparsers(dest="command", required=True)
    listing = commands.add_parser("list", help="list problems and solvers")
    listing.add_argument("--json", action="store_true", help="print one JSON object")
    listing.set_defaults(run=_command_list)
    solve = commands.add_parser("solve", help="solve a problem with a solver")
    solve.add_argument("problem", help="problem name (see `pde-lab list`)")
    solve.add_argument("--solver", default="pinn", help="solver name (default pinn)")
    solve.add_argument("--set", action="append", metavar="KEY=VALUE", help="solver option, repeatable")
    solve.add_argument("--param", action="append", metavar="KEY=VALUE", help="problem parameter, repeatable")
    solve.add_argument("--device", help="cpu, cuda, cuda:1 ... (neural solvers)")
    solve.add_argument("--dtype", choices=("float32", "float64"))
    solve.add_argument("--seed", type=int)
    solve.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                       help="progress bar on stderr (default: when stderr is a terminal)")
    solve.add_argument("--nproc", type=int, help="data-parallel processes on this node (via torchrun)")
    solve.add_argument("--checkpoint", metavar="PATH", help="checkpoint file (neural solvers; also on SIGTERM/SIGINT)")
    solve.add_argument("--resume", action="store_true", help="continue from --checkpoint")
    solve.add_argument("--export", metavar="PATH", help="ParaView output, .vtu (steady) or .pvd (time series)")
    solve.add_argument("--plot", metavar="PATH", help="figure: field, error, loss (.png/.pdf/.svg)")
    solve.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    solve.set_defaults(run=_command_solve)
    compare = commands.add_parser("compare", help="run solvers side by side against the reference")
    compare.add_argument("problem", help="problem name (see `pde-lab list`)")
    compare.add_argument("--solvers", required=True, help="solver names, e.g. pinn,fem")
    compare.add_argument("--set", action="append", metavar="SOLVER.KEY=VALUE",
                         help="option of one solver, e.g. pinn.adam_steps=200; repeatable")
    compare.add_argument("--param", action="append", metavar="KEY=VALUE",
                         help="problem parameter, repeatable")
    compare.add_argument("--csv", metavar="PATH", help="write the table as CSV")
    compare.add_argument("--plot", metavar="PATH",
                         help="figure: error vs time, fields, errors (.png/.pdf/.svg)")
    compare.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    compare.set_defaults(run=_command_compare)
    bench = commands.add_parser("bench", help="run a named benchmark (pde_lab vs peers, side by side)")
    bench.add_argument("name", nargs="?", help="benchmark name (see --list)")
    bench.add_argument("--list", action="store_true", help="print the benchmark names, one a line")
    bench.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    bench.add_argument("--fast", action="store_true", help="seconds-long smoke scale (not for recording)")
    bench.add_argument("--json", action="store_true", help="print one JSON object")
    bench.add_argument("--figure", metavar="PNG", help="also draw the benchmark's figure (where it has one)")
    bench.set_defaults(run=_command_bench)
    matrix = commands.add_parser("matrix", help="every solver on every problem it accepts: the error/time table")
    matrix.add_argument("--problems", help="comma-separated problem names (default: the README's rows); "
                        "name:key=value passes a parameter, e.g. kuramoto-sivashinsky:t_final=0.1")
    matrix.add_argument("--solvers", help="comma-separated solver names (default: all)")
    matrix.add_argument("--fast", action="store_true", help="seconds-long budgets (checks the machinery, not the methods)")
    matrix.add_argument("--json", metavar="PATH", help="write every cell, with its options, as JSON")
    matrix.add_argument("--markdown", metavar="PATH", help="write the table as Markdown")
    matrix.add_argument("--figure", metavar="PATH", help="heat map of the errors (.png/.pdf/.svg)")
    matrix.set_defaults(run=_command_matrix)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    args.argv = argv
    try:
        return args.run(args)
    except (ValueError, TypeError) as error:
        print(f"pde-lab: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
