"""The problem zoo: each function returns a :class:`pde_lab.Problem`.

Each module's docstring states the PDE, the domain, the data and the source.
"""

from problems.allen_cahn import allen_cahn as allen_cahn
from problems.allen_cahn import allen_cahn_2d as allen_cahn_2d
from problems.burgers import burgers as burgers
from problems.burgers import burgers_2d as burgers_2d
from problems.chemotaxis import indirect_signalling as indirect_signalling
from problems.chemotaxis import keller_segel as keller_segel
from problems.convection import convection as convection
from problems.darcy import darcy as darcy
from problems.diffusion_sorption import diffusion_sorption as diffusion_sorption
from problems.heat import heat as heat
from problems.helmholtz import helmholtz as helmholtz
from problems.high_dim import allen_cahn_nd as allen_cahn_nd
from problems.high_dim import poisson_nd as poisson_nd
from problems.high_dim import sine_gordon_nd as sine_gordon_nd
from problems.kuramoto_sivashinsky import kuramoto_sivashinsky as kuramoto_sivashinsky
from problems.navier_stokes import cavity as cavity
from problems.navier_stokes import kovasznay as kovasznay
from problems.navier_stokes import taylor_green as taylor_green
from problems.navier_stokes import torus as torus
from problems.poisson import poisson as poisson
from problems.poisson import poisson_lshape as poisson_lshape
from problems.poisson_1d import poisson_1d as poisson_1d
from problems.vorticity_decay import vorticity_decay as vorticity_decay
