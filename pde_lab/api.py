"""``solve(problem, solver)``: the one entry point, by solver name or solver object."""

from __future__ import annotations

import dataclasses
import importlib
from typing import Any

from pde_lab.problem import Problem
from pde_lab.solution import Solution

__all__ = ["SOLVERS", "solve", "make_solver"]

# Solver names (lower-case, hyphenated) -> "module:Class"; imported only when used.
SOLVERS: dict[str, str] = {
    "pinn": "pde_lab.solvers.pinn:PINN",
    "causal": "pde_lab.solvers.causal:CausalPINN",
    "lpinn": "pde_lab.solvers.lagrangian:LagrangianPINN",
    "teng": "pde_lab.solvers.teng:TENG",
    "tdvp": "pde_lab.solvers.tdvp:TDVP",
    "obti": "pde_lab.solvers.obti:OBTI",
    "pinn-ngd": "pde_lab.solvers.pinn_ngd:PINNNGD",
    "pig": "pde_lab.solvers.gaussians:PIG",
    "hc-moe": "pde_lab.solvers.moe:HCMoE",
    "fno": "pde_lab.solvers.operator:FNO",
    "pino": "pde_lab.solvers.operator:PINO",
    "dcdm": "pde_lab.solvers.dcdm:DCDM",
    "deepxde": "pde_lab.solvers.deepxde_peer:DeepXDEPeer",
    "fem": "pde_lab.solvers.reference.fem:FEM",
    "spectral": "pde_lab.solvers.reference.spectral:Spectral",
}


def make_solver(solver: str | Any, **options: Any) -> Any:
    """Build a solver from its name and hyperparameters, or check a solver object."""
    if isinstance(solver, str):
        if solver not in SOLVERS:
            raise ValueError(f"unknown solver {solver!r}; known solvers: {', '.join(sorted(SOLVERS))}")
        module, _, cls_name = SOLVERS[solver].partition(":")
        cls = getattr(importlib.import_module(module), cls_name)
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(options) - names
        if unknown:
            raise TypeError(
                f"solver {solver!r} has no option(s) {sorted(unknown)}; options: {', '.join(sorted(names))}"
            )
        return cls(**options)
    if options:
        raise TypeError("options are given to the solver object itself, not to solve()")
    if not callable(getattr(solver, "solve", None)):
        raise TypeError(f"solver must be a name or an object with .solve(problem), got {type(solver).__name__}")
    return solver


def solve(problem: Problem, solver: str | Any = "pinn", **options: Any) -> Solution:
    """Solve ``problem`` with ``solver`` (a name from ``SOLVERS`` or a solver object).

    Examples
    --------
    >>> from problems import poisson
    >>> sol = solve(poisson(), "pinn", adam_steps=1000)     # doctest: +SKIP
    >>> sol.error_vs(sol.problem.reference())               # doctest: +SKIP
    """
    if not isinstance(problem, Problem):
        raise TypeError(f"solve() expects a Problem, got {type(problem).__name__}")
    return make_solver(solver, **options).solve(problem)
