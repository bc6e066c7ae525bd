"""pde_lab: define a PDE once, solve it with any physics-informed solver, check it against a reference.

>>> from pde_lab import solve
>>> from problems import poisson
>>> solution = solve(poisson(), solver="pinn")            # doctest: +SKIP
>>> solution.error_vs(solution.problem.reference())       # doctest: +SKIP
"""

from pde_lab.api import SOLVERS as SOLVERS
from pde_lab.api import make_solver as make_solver
from pde_lab.api import solve as solve
from pde_lab.compare import compare as compare
from pde_lab.conditions import Dirichlet as Dirichlet
from pde_lab.conditions import Neumann as Neumann
from pde_lab.conditions import Periodic as Periodic
from pde_lab.problem import Parameters as Parameters
from pde_lab.problem import Problem as Problem
from pde_lab.solution import Solution as Solution
from pde_lab.solution import Status as Status

__version__ = "0.1.0"
