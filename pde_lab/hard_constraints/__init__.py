"""Hard constraints: a differentiable constrained least-squares layer and its mixture of experts.

:mod:`~pde_lab.hard_constraints.layer` — batched Levenberg–Marquardt (float64) with an
implicit-function-theorem backward; :mod:`~pde_lab.hard_constraints.moe` — the domain split
into experts, their constraint rows on a space-time grid and the blended field
(Chalapathi, Du & Krishnapriyan, ICLR 2024); :mod:`~pde_lab.hard_constraints.grid` — the grid
and its derivatives (spectral on periodic axes); :mod:`~pde_lab.hard_constraints.backbones` — the
basis networks (the paper's FNO on the grid, or an MLP). The solver is
:class:`pde_lab.solvers.moe.HCMoE`.
"""

from pde_lab.hard_constraints.layer import LMOptions, constrained_solve, levenberg_marquardt
from pde_lab.hard_constraints.grid import SpaceTimeGrid
from pde_lab.hard_constraints.moe import Experts, block_of

__all__ = [
           "Experts",
           "LMOptions",
           "SpaceTimeGrid",
           "block_of",
           "constrained_solve",
           "levenberg_marquardt",
]
