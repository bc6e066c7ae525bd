"""The problem zoo: each function returns a :class:`pde_lab.Problem`.

Each module's docstring states the PDE, the domain, the data and the source.
"""

from problems.allen_cahn import allen_cahn as allen_cahn
from problems.allen_cahn import allen_cahn_2d as allen_cahn_2d
from problems.burgers import burgers as burgers
from problems.burgers import burgers_2d as burgers_2d
from problems.heat import heat as heat
from problems.kuramoto_sivashinsky import kuramoto_sivashinsky as kuramoto_sivashinsky
from problems.poisson import poisson as poisson
from problems.poisson import poisson_lshape as poisson_lshape
