r"""Darcy flow with a random coefficient: the FNO benchmark (Li et al., ICLR 2021).

.. math::

    -\nabla\cdot(a(x)\nabla u) = f \quad\text{in } (0, 1)^2, \qquad u = 0 \text{ on } \partial\Omega,

with :math:`f = 1` and the coefficient :math:`a = \psi(g)`, :math:`g \sim N(0, (-\Delta + 9I)^{-2})`
with Neumann conditions (:func:`pde_lab.data.grf.cosine_modes_2d`), thresholded:
:math:`\psi(g) = 12` where :math:`g \ge 0`, :math:`3` elsewhere. The coefficient is piecewise
constant, so the residual given to point-wise solvers is the a.e. form
:math:`-a\Delta u - f` (the flux continuity across the jumps is what the weak form adds).

Reference: P1 finite elements (scikit-fem) on the uniform triangulation with
``reference_nodes`` nodes per side (the paper used finite differences on 421²), the
coefficient sampled at 6 quadrature points per triangle; order 2 in :math:`L^2` for smooth
data (tested with a manufactured solution). :class:`DarcyFamily` draws random members and
subsamples the reference nodes to the data grid (paper: 421 -> 85).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch

from geometries import Rectangle
from pde_lab import Dirichlet, Problem
from pde_lab.data.families import Family, SnapshotGrid, stride
from pde_lab.data.grf import cosine_modes_2d, sample_seed
from pde_lab.solution import Solution, Status
from pde_lab.validation import check_int, check_positive

__all__ = ["DarcyFamily", "darcy", "darcy_fem", "thresholded_coefficient"]

#: Coefficient values of the FNO data set where the field is >= 0 and < 0.
HIGH, LOW = 12.0, 3.0


def thresholded_coefficient(coefficients: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """``points (n, 2) -> a`` with ``a = 12`` where the cosine GRF is >= 0, else ``3``."""
    coefficients = np.asarray(coefficients, dtype=float)
    m = np.arange(coefficients.shape[0])

    def coefficient(points: np.ndarray) -> np.ndarray:
        points = np.asarray(points, dtype=float)
        # separable: cos(pi m x) per distinct x (and y) once; grid and quadrature points repeat them
        (ux, ix), (uy, iy) = (np.unique(np.round(points[:, i], 13), return_inverse=True) for i in (0, 1))
        gx = np.cos(np.pi * np.multiply.outer(ux, m)) @ coefficients
        gy = np.cos(np.pi * np.multiply.outer(uy, m))
        g = np.empty(len(points))
        for s in range(0, len(points), 65536):
            g[s:s + 65536] = np.einsum("ij,ij->i", gx[ix[s:s + 65536]], gy[iy[s:s + 65536]])
        return np.where(g >= 0, HIGH, LOW)

    return coefficient


def darcy_fem(nodes: int, coefficient: Callable[[np.ndarray], np.ndarray], source: Callable | float = 1.0):
    r"""P1 FEM for :math:`-\nabla\cdot(a\nabla u) = f`, :math:`u = 0` on the unit square's boundary.

    Returns ``(basis, dofs)``; ``coefficient`` and a callable ``source`` map points ``(n, 2)``
    to values ``(n,)``.
    """
    from skfem import Basis, BilinearForm, ElementTriP1, LinearForm, MeshTri, asm, condense, solve
    from skfem.helpers import dot, grad

    axis = np.linspace(0.0, 1.0, check_int("nodes", nodes, 3))
    basis = Basis(MeshTri.init_tensor(axis, axis), ElementTriP1(), intorder=4)
    x = np.asarray(basis.global_coordinates()).reshape(2, -1).T
    shape = basis.global_coordinates()[0].shape

    def at_quadrature(function) -> np.ndarray:
        values = np.broadcast_to(np.asarray(function(x) if callable(function) else function, dtype=float), len(x))
        if not np.all(np.isfinite(values)):
            raise ValueError("coefficient or source is not finite at some quadrature points")
        return values.reshape(shape)

    a = at_quadrature(coefficient)
    if np.any(a <= 0):
        raise ValueError("the coefficient must be positive (an elliptic problem)")
    stiffness = asm(BilinearForm(lambda u, v, w: w["a"] * dot(grad(u), grad(v))), basis, a=a)
    load = asm(LinearForm(lambda v, w: w["f"] * v), basis, f=at_quadrature(source))
    return basis, solve(*condense(stiffness, load, D=basis.get_dofs()))


def _nodal_grid(basis, dofs: np.ndarray) -> np.ndarray:
    """P1 dofs on the tensor mesh as a ``(n, n)`` array indexed ``[x, y]``."""
    points = basis.mesh.p
    n = round(math.sqrt(points.shape[1]))
    return dofs[np.lexsort((points[1], points[0]))].reshape(n, n)


def darcy(coefficient: Callable[[np.ndarray], np.ndarray] | None = None, source: float = 1.0,
          reference_nodes: int = 421) -> Problem:
    """Darcy flow on the unit square; default coefficient: member 0 of :class:`DarcyFamily`."""
    if coefficient is None:
        coefficient = thresholded_coefficient(cosine_modes_2d(sample_seed(0, 0), DarcyFamily.grf_modes))
    if not callable(coefficient):
        raise TypeError(f"coefficient must be a callable of points (n, 2), got {type(coefficient).__name__}")
    source = check_positive("source", source)
    nodes = check_int("reference_nodes", reference_nodes, 3)

    def residual(f, p):
        a = torch.as_tensor(p.coefficient(f.space.detach().cpu().double().numpy()), dtype=f.space.dtype,
                            device=f.space.device)
        return -a * f.lap("u") - p.source

    def reference(problem: Problem) -> Solution:
        from pde_lab.memory import PeakMemory
        from pde_lab.solvers.reference.probes import probe_matrix

        start = time.perf_counter()
        with PeakMemory("cpu") as memory:
            basis, dofs = darcy_fem(nodes, problem.parameters.coefficient, problem.parameters.source)
        stats = {"wall_s": time.perf_counter() - start, "peak_mem_mb": memory.peak_mb, "iterations": 1,
                 "device": "cpu", "dtype": "float64", "nodes": nodes, "dofs": int(basis.N)}
        axis = np.linspace(0.0, 1.0, nodes)
        grid = SnapshotGrid((axis, axis), None, _nodal_grid(basis, dofs)[..., None])
        return Solution(problem, lambda points: (probe_matrix(basis, points) @ dofs)[:, None], "fem-p1",
                        Status.CONVERGED, f"P1 FEM, {nodes}² nodes", stats, {}, grid)

    return Problem(
        name="darcy", geometry=Rectangle((0.0, 0.0), (1.0, 1.0)), residual=residual,
        boundary_conditions=(Dirichlet(0.0),), parameters={"coefficient": coefficient, "source": float(source)},
        reference_solver=reference,
        description="-div(a grad u) = 1 on (0,1)², u = 0, a thresholded GRF (12/3); P1 FEM reference",
    )


@dataclass(frozen=True)
class DarcyFamily(Family):
    """Darcy members with thresholded-GRF coefficients; FEM reference subsampled to the data grid.

    Parameters
    ----------
    resolution, reference_resolution
        Data-grid and reference nodes per side; ``resolution - 1`` must divide
        ``reference_resolution - 1`` (paper: 85 from 421).
    seed
        Member ``i`` is seeded by ``(seed, i)``.
    """

    resolution: int = 85
    reference_resolution: int = 421
    seed: int = 0

    name = "darcy"
    member_name = "darcy"
    fno_settings: ClassVar[dict[str, Any]] = {"modes": 12, "width": 32}
    grf_modes = 64  # cosine modes per axis of the coefficient's GRF (resolution-independent)

    def __post_init__(self) -> None:
        check_int("seed", self.seed, 0)
        stride(check_int("reference_resolution", self.reference_resolution, 3), check_int("resolution", self.resolution, 3), False)

    def problem(self, index: int) -> Problem:
        modes = cosine_modes_2d(sample_seed(self.seed, index), self.grf_modes)
        return darcy(thresholded_coefficient(modes), 1.0, self.reference_resolution)

    def _grid(self, resolution: int | None) -> np.ndarray:
        axis = np.linspace(0.0, 1.0, resolution or self.resolution)
        return np.stack(np.meshgrid(axis, axis, indexing="ij"), -1).reshape(-1, 2)

    def inputs(self, problem: Problem, resolution: int | None = None) -> np.ndarray:
        self.check_member(problem, source=1.0)
        n = resolution or self.resolution
        return np.asarray(problem.parameters.coefficient(self._grid(n)), dtype=float).reshape(n, n, 1)

    def output_axes(self, resolution: int | None = None) -> list[tuple[np.ndarray, bool]]:
        axis = np.linspace(0.0, 1.0, resolution or self.resolution)
        return [(axis, False), (axis, False)]

    def targets(self, solution: Solution, resolution: int | None = None) -> np.ndarray:
        n, data = resolution or self.resolution, solution.model
        if isinstance(data, SnapshotGrid) and data.times is None and data.values.shape[:2] == (len(data.axes[0]),) * 2:
            step = stride(data.values.shape[0], n, False)
            return data.values[::step, ::step]
        return np.asarray(solution(self._grid(n)), dtype=float).reshape(n, n, 1)

    def field(self, problem: Problem, outputs: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
        from pde_lab.solvers.reference.grid_field import GridField

        outputs = np.asarray(outputs, dtype=float)
        axis = np.linspace(0.0, 1.0, outputs.shape[0])
        return GridField([axis, axis], outputs, None, [None, None], upsample=1)

    def residual(self, outputs, inputs):
        """Darcy residual on the interior of the output grid (conservative finite differences)."""
        from pde_lab.operators.pino import darcy_residual

        return darcy_residual(outputs[..., 0], inputs[..., 0], 1.0)
