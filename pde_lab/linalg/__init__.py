"""Linear solvers for discrete Poisson systems: grid operators, CG/PCG baselines, DCDM.

- :mod:`~pde_lab.linalg.poisson_fd`: cell-centred finite-difference Poisson operators on
  2D/3D grids with Dirichlet/Neumann walls and solid cells (scipy matrix, torch matrix-free).
- :mod:`~pde_lab.linalg.preconditioners`: Jacobi, incomplete Cholesky IC(0), pyamg AMG.
- :mod:`~pde_lab.linalg.krylov`: ``pcg`` (scipy CG with a preconditioner) and ``dcdm``.
- :mod:`~pde_lab.linalg.dcdm_net`: the DCDM network, Ritz-vector data and training.

FEM systems use the same CG family: ``solve(problem, "fem", linear_solver="amg-pcg")``
(or ``"cg"``, ``"jacobi-pcg"``, ``"ic-pcg"``) on the condensed stiffness matrix.

torch is imported only by the modules that make tensors.
"""

from pde_lab.linalg.krylov import KrylovResult, dcdm, pcg
from pde_lab.linalg.poisson_fd import PoissonGrid, ball_mask
from pde_lab.linalg.preconditioners import incomplete_cholesky, make_preconditioner

__all__ = ["KrylovResult", "PoissonGrid", "ball_mask", "dcdm", "incomplete_cholesky", "make_preconditioner", "pcg"]
