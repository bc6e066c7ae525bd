"""The problem zoo: each function returns a :class:`pde_lab.Problem`.

Each module's docstring states the PDE, the domain, the data and the source.
"""

from problems.burgers import burgers as burgers
from problems.poisson import poisson as poisson
from problems.poisson import poisson_lshape as poisson_lshape
