r"""Finite-element reference for linear second-order steady problems (scikit-fem, P1/P2).

The FEM reads the *same* residual the neural solvers train on. It recovers the operator by
probing the residual with polynomials at the quadrature points (exact for a linear
second-order operator) and checks linearity on a generic test function:

.. math::

    R[u] = -A : \nabla^2 u + b\cdot\nabla u + c\,u - f,

with :math:`A` constant and symmetric positive definite, :math:`b, c, f` arbitrary functions
of :math:`x`. The weak form solved is

.. math::

    \int_\Omega A\nabla u\cdot\nabla v + (b\cdot\nabla u)\,v + c\,u\,v\,dx
    = \int_\Omega f\,v\,dx + \int_{\Gamma_N} a\,g\,v\,ds,

Dirichlet data imposed at the boundary degrees of freedom, Neumann data
:math:`\partial u/\partial n = g` (isotropic :math:`A = aI`), and the natural condition
:math:`A\nabla u\cdot n = 0` on boundary parts without a condition. Lagrange P1 converges
at order 2 in :math:`L^2`, P2 at order 3 (for smooth solutions).

The condensed system is solved directly (``linear_solver="direct"``, scikit-fem's sparse LU)
or, when it is symmetric (no drift :math:`b`), by the CG family of :mod:`pde_lab.linalg`
(``"cg"``, ``"jacobi-pcg"``, ``"ic-pcg"``, ``"amg-pcg"``) to relative residual ``tol``; the
iteration count is in ``stats["iterations"]``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from pde_lab.conditions import Dirichlet, Neumann
from pde_lab.problem import Problem
from pde_lab.solution import Solution, Status
from pde_lab.validation import check_positive

__all__ = ["FEM", "FEMField", "linear_operator"]


def _residual_at(problem: Problem, points: np.ndarray, function) -> np.ndarray:
    import torch

    from pde_lab.fields import Fields, as_field_tuple

    tensor = torch.as_tensor(points, dtype=torch.float64).requires_grad_(True)
    f = Fields(lambda x: function(x)[:, None], tensor, problem.fields, problem.coordinate_names)
    (residual,) = as_field_tuple(problem.residual(f, problem.parameters), problem.fields)
    return residual.detach().numpy().astype(float), f


def linear_operator(problem: Problem, points: np.ndarray) -> dict[str, np.ndarray]:
    """Recover ``A`` (d×d, constant), ``b`` (n×d), ``c`` (n,), ``f`` (n,) of a linear residual.

    Raises ``ValueError`` when the residual is not linear of second order in ``u`` or when
    ``A`` varies in space or is not positive definite.
    """
    import torch

    n, d = points.shape
    r0, _ = _residual_at(problem, points, lambda x: torch.zeros_like(x[:, 0]))
    c = _residual_at(problem, points, lambda x: torch.ones_like(x[:, 0]))[0] - r0
    b = np.empty((n, d))
    for i in range(d):
        b[:, i] = _residual_at(problem, points, lambda x, i=i: x[:, i])[0] - r0 - c * points[:, i]
    second = np.empty((n, d, d))
    for i in range(d):
        for j in range(i, d):
            if i == j:
                r = _residual_at(problem, points, lambda x, i=i: 0.5 * x[:, i] ** 2)[0]
                second[:, i, i] = -(r - r0 - b[:, i] * points[:, i] - 0.5 * c * points[:, i] ** 2)
            else:
                r = _residual_at(problem, points, lambda x, i=i, j=j: x[:, i] * x[:, j])[0]
                rest = r - r0 - b[:, i] * points[:, j] - b[:, j] * points[:, i] - c * points[:, i] * points[:, j]
                second[:, i, j] = second[:, j, i] = -0.5 * rest
    # linearity check on a generic smooth function
    weights = np.linspace(0.7, 1.3, d)

    def generic(x):
        phase = x @ torch.as_tensor(weights, dtype=x.dtype)
        return torch.sin(phase + 0.1) + 0.5 * torch.cos(1.3 * x[:, -1] - 0.4 * x[:, 0])

    r, fields = _residual_at(problem, points, generic)
    value = fields.outputs[:, 0].detach().numpy()
    gradient = fields.grad(problem.fields[0]).detach().numpy()
    hessian = np.stack(
        [np.stack([fields.d(problem.fields[0], fields.coordinates[i], fields.coordinates[j]).detach().numpy()
                   for j in range(d)], axis=1) for i in range(d)], axis=1)
    model = -np.einsum("nij,nij->n", second, hessian) + (b * gradient).sum(1) + c * value + r0
    scale = 1.0 + np.abs(r).max() + np.abs(r0).max()
    if np.abs(model - r).max() > 1e-8 * scale:
        raise ValueError(
            f"fem solves linear second-order steady problems; the residual of {problem.name!r} is "
            "not linear in u or involves derivatives above second order"
        )
    a = second.mean(axis=0)
    if np.abs(second - a).max() > 1e-10 * (1.0 + np.abs(a).max()):
        raise ValueError("fem needs a constant second-order coefficient; this problem's varies in space")
    if np.linalg.eigvalsh(0.5 * (a + a.T)).min() <= 0:
        raise ValueError(f"fem needs an elliptic operator (A positive definite); recovered A = {a.tolist()}")
    return {"A": a, "b": b, "c": c, "f": -r0}


def _elements(dim: int, order: int):
    from skfem import (
        ElementLineP1, ElementLineP2, ElementTetP1, ElementTetP2, ElementTriP1, ElementTriP2,
    )

    table = {(1, 1): ElementLineP1, (1, 2): ElementLineP2, (2, 1): ElementTriP1,
             (2, 2): ElementTriP2, (3, 1): ElementTetP1, (3, 2): ElementTetP2}
    if (dim, order) not in table:
        raise ValueError(f"fem supports dimensions 1-3 and order 1 or 2, got dim={dim}, order={order}")
    return table[(dim, order)]()


class FEMField:
    """A finite-element function: callable on points, with its mesh, basis and dofs."""

    def __init__(self, basis: Any, dofs: np.ndarray) -> None:
        self.basis, self.dofs, self.mesh = basis, dofs, basis.mesh

    def __call__(self, points: np.ndarray) -> np.ndarray:
        from pde_lab.solvers.reference.probes import probe_matrix

        return (probe_matrix(self.basis, points) @ self.dofs)[:, None]

    def l2_error(self, exact) -> float:
        """:math:`\\|u_h - u\\|_{L^2(\\Omega)}` by quadrature; ``exact`` a torch function of points."""
        import torch

        from pde_lab.reference.fem_tools import l2_error

        def on_coordinates(*coordinates: np.ndarray) -> np.ndarray:
            points = torch.as_tensor(np.stack([c.ravel() for c in coordinates], axis=1), dtype=torch.float64)
            return np.asarray(exact(points), dtype=float).reshape(coordinates[0].shape)

        return l2_error(self.basis, self.dofs, on_coordinates)


@dataclass(frozen=True)
class FEM:
    """Lagrange finite elements on the geometry's mesh: the reference for steady problems.

    Parameters
    ----------
    order
        1 (P1) or 2 (P2).
    h
        Target mesh size passed to ``geometry.mesh(h)``.
    linear_solver
        ``"direct"`` or a CG variant: ``"cg"``, ``"jacobi-pcg"``, ``"ic-pcg"``, ``"amg-pcg"``
        (symmetric systems only).
    tol
        Relative residual of the CG variants.
    """

    order: int = 2
    h: float = 0.05
    linear_solver: str = "direct"
    tol: float = 1e-10

    name = "fem"

    def check(self, problem: Problem) -> None:
        """Raise ``ValueError`` (``TypeError``) saying why this solver cannot solve ``problem``; trains nothing."""
        if not isinstance(problem, Problem):
            raise TypeError(f"FEM.solve expects a Problem, got {type(problem).__name__}")
        if problem.is_time_dependent or problem.residual is None:
            raise ValueError(f"fem solves steady problems; {problem.name!r} is an evolution problem")
        if len(problem.fields) != 1:
            raise ValueError(f"fem solves scalar problems; {problem.name!r} has fields {problem.fields}")
        if self.order not in (1, 2):
            raise ValueError(f"order must be 1 or 2, got {self.order!r}")
        check_positive("h", self.h)
        from pde_lab.linalg.preconditioners import CG_VARIANTS

        if self.linear_solver != "direct" and self.linear_solver not in CG_VARIANTS:
            raise ValueError(f"linear_solver must be 'direct' or one of {sorted(CG_VARIANTS)}, "
                             f"got {self.linear_solver!r}")
        if not (isinstance(self.tol, (int, float)) and 0 < self.tol < 1):
            raise ValueError(f"tol must be in (0, 1), got {self.tol!r}")

    def solve(self, problem: Problem) -> Solution:
        from skfem import Basis, BilinearForm, LinearForm, condense, solve
        from skfem.helpers import dot, grad

        from pde_lab.memory import PeakMemory

        self.check(problem)
        start = time.perf_counter()
        with PeakMemory("cpu") as memory:
            mesh = problem.geometry.mesh(self.h)
            intorder = 2 * self.order + 2
            basis = Basis(mesh, _elements(problem.spatial_dim, self.order), intorder=intorder)
            x = np.asarray(basis.global_coordinates())
            d, ne, nq = x.shape
            coefficients = linear_operator(problem, x.reshape(d, -1).T.copy())
            a_matrix = coefficients["A"]
            shaped = {k: coefficients[k].reshape(ne, nq) for k in ("c", "f")}
            drift = coefficients["b"].T.reshape(d, ne, nq)

            @BilinearForm
            def operator(u, v, w):
                diffusion = sum(a_matrix[i, j] * u.grad[j] * v.grad[i] for i in range(d) for j in range(d))
                return diffusion + dot(w.b, grad(u)) * v + w.c * u * v

            @LinearForm
            def load(v, w):
                return w.f * v

            matrix = operator.assemble(basis, b=drift, c=shaped["c"])
            rhs = load.assemble(basis, f=shaped["f"])
            dirichlet_dofs, values = self._boundary(problem, basis, intorder, a_matrix, rhs)
            if len(dirichlet_dofs) == 0 and np.allclose(shaped["c"], 0):
                raise ValueError("fem: no Dirichlet condition and no zeroth-order term: the solution is not unique")
            system = condense(matrix, rhs, x=values, D=dirichlet_dofs)
            if self.linear_solver == "direct":
                dofs, iterations = solve(*system), 1
            else:
                dofs, iterations = self._krylov(*system)
        stats = {"wall_s": time.perf_counter() - start, "peak_mem_mb": memory.peak_mb, "iterations": iterations,
                 "device": "cpu", "dtype": "float64", "dofs": int(basis.N), "h": self.h, "order": self.order,
                 "linear_solver": self.linear_solver}
        field = FEMField(basis, dofs)
        how = "direct solve" if self.linear_solver == "direct" else f"{self.linear_solver}, {iterations} iterations"
        message = f"P{self.order} {how}, {basis.N} dofs"
        return Solution(problem, field, self.name, Status.CONVERGED, message, stats, {}, field)

    def _krylov(self, matrix, rhs, values, free) -> tuple[np.ndarray, int]:
        """The condensed system ``matrix x = rhs`` on the ``free`` dofs by a CG variant."""
        from pde_lab.linalg import pcg
        from pde_lab.linalg.preconditioners import CG_VARIANTS

        if abs(matrix - matrix.T).max() > 1e-12 * abs(matrix).max():
            raise ValueError(f"fem: linear_solver={self.linear_solver!r} needs a symmetric system; this problem "
                             "has a drift term, use linear_solver='direct'")
        result = pcg(matrix, rhs, CG_VARIANTS[self.linear_solver], tol=self.tol, max_iterations=10 * matrix.shape[0])
        if not result.converged:
            raise RuntimeError(f"fem: {result.message}")
        dofs = np.array(values, dtype=float)
        dofs[free] = result.x
        return dofs, result.iterations

    @staticmethod
    def _boundary(problem, basis, intorder, a_matrix, rhs):
        import torch
        from skfem import FacetBasis

        from pde_lab.conditions import evaluate_value

        mesh = basis.mesh
        facets = mesh.boundary_facets()
        midpoints = mesh.p[:, mesh.facets[:, facets]].mean(axis=1).T
        dirichlet: list[np.ndarray] = []
        values = np.zeros(basis.N)
        for condition in problem.boundary_conditions:
            if not isinstance(condition, (Dirichlet, Neumann)):
                raise ValueError(f"fem does not support {type(condition).__name__} conditions")
            chosen = facets
            if condition.where is not None:
                mask = np.asarray(condition.where(torch.as_tensor(midpoints, dtype=torch.float64)), dtype=bool)
                chosen = facets[mask.reshape(-1)]
            if isinstance(condition, Dirichlet):
                dofs = basis.get_dofs(facets=chosen).all()
                where = torch.as_tensor(basis.doflocs[:, dofs].T.copy(), dtype=torch.float64)
                values[dofs] = evaluate_value(condition.value, where).numpy()
                dirichlet.append(dofs)
            else:
                a = a_matrix[0, 0]
                if not np.allclose(a_matrix, a * np.eye(len(a_matrix))):
                    raise ValueError("fem supports Neumann data only for isotropic diffusion (A = aI)")
                facet_basis = FacetBasis(mesh, basis.elem, facets=chosen, intorder=intorder)
                rhs += _neumann_load(facet_basis, condition, a)
        dofs = np.unique(np.concatenate(dirichlet)) if dirichlet else np.array([], dtype=int)
        return dofs, values


def _neumann_load(facet_basis, condition, a: float) -> np.ndarray:
    import torch
    from skfem import LinearForm

    from pde_lab.conditions import evaluate_value

    x = np.asarray(facet_basis.global_coordinates())
    d, nf, nq = x.shape
    g = evaluate_value(condition.value, torch.as_tensor(x.reshape(d, -1).T.copy(), dtype=torch.float64))

    @LinearForm
    def flux(v, w):
        return a * w.g * v

    return flux.assemble(facet_basis, g=g.numpy().reshape(nf, nq))
