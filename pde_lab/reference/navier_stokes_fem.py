r"""Steady incompressible Navier–Stokes in 2D: Taylor–Hood P2/P1 and Newton's method.

Solves, on a triangular mesh of :math:`\Omega \subset \mathbb{R}^2`,

.. math::

    -\nu \Delta u + (u \cdot \nabla) u + \nabla p = f, \qquad \nabla \cdot u = 0
    \quad \text{in } \Omega, \qquad u = g \quad \text{on } \partial\Omega,

in the weak form: find :math:`(u, p) \in V_h \times Q_h` with :math:`u = g_h` on the boundary,

.. math::

    \nu (\nabla u, \nabla v) + ((u \cdot \nabla) u, v) - (p, \nabla \cdot v) = (f, v),
    \qquad -(q, \nabla \cdot u) = 0,

for all :math:`v \in V_h^0, q \in Q_h`, with :math:`V_h` continuous piecewise quadratic
vectors and :math:`Q_h` continuous piecewise linear scalars (Taylor–Hood, inf-sup stable;
Taylor & Hood 1973). :math:`g_h` interpolates :math:`g` at the boundary P2 nodes.

Nonlinear solve: a Stokes solve gives the initial guess, then optional Picard (Oseen)
steps, then Newton's method on the residual :math:`F(u, p)` with Jacobian

.. math::

    J(u)[\delta u, \delta p] = \nu (\nabla \delta u, \nabla v)
    + ((u \cdot \nabla) \delta u, v) + ((\delta u \cdot \nabla) u, v)
    - (\delta p, \nabla \cdot v) - (q, \nabla \cdot \delta u),

optionally through a continuation in the viscosity (:math:`\mathrm{Re} = 1/\nu` for unit
velocity and length). The pressure, unique up to a constant, is pinned at one vertex during
the solve and shifted to zero mean, :math:`\int_\Omega p = 0`, afterwards.

Benchmarks: the lid-driven cavity of Ghia, Ghia & Shin (1982, J. Comput. Phys. 48, 387),
see :mod:`pde_lab.reference.ghia1982`, and the exact Kovasznay flow (Kovasznay 1948,
Proc. Camb. Phil. Soc. 44, 58). Expected a-priori rates for smooth solutions:
:math:`\|u - u_h\|_{L^2} = O(h^3)`, :math:`\|p - p_h\|_{L^2} = O(h^2)`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from scipy.sparse.linalg import spsolve
from skfem import (
    Basis,
    BilinearForm,
    CellBasis,
    ElementTriP1,
    ElementTriP2,
    ElementVector,
    LinearForm,
    MeshTri,
    asm,
)
from skfem.helpers import ddot, div, dot, grad, mul

from pde_lab.reference.fem_tools import evaluate
from pde_lab.validation import check_positive

#: ``g(x, y) -> (u, v)``: a velocity field given by its two component arrays.
VectorField = Callable[[np.ndarray, np.ndarray], "tuple[np.ndarray, np.ndarray]"]


_NOT_FINITE = (
    "residual is not finite; try picard_steps=5 or a nu_continuation from a larger viscosity"
)


@BilinearForm
def _vector_laplace(u, v, _):
    return ddot(grad(u), grad(v))


@BilinearForm
def _negative_divergence(u, q, _):
    return -q * div(u)


@BilinearForm
def _advection(u, v, w):
    # ((b . grad) u, v) with b the frozen velocity w["b"]
    return dot(mul(grad(u), w["b"]), v)


@BilinearForm
def _advection_derivative(u, v, w):
    # ((u . grad) b, v): the second half of the Newton linearisation
    return dot(mul(grad(w["b"]), u), v)


@LinearForm
def _load(v, w):
    return dot(w["f"], v)


@LinearForm
def _pressure_mean(q, _):
    return q


@dataclass(frozen=True, eq=False)
class SteadyNavierStokesResult:
    """Taylor–Hood solution of the steady Navier–Stokes equations.

    Attributes
    ----------
    velocity_basis, pressure_basis
        The P2 vector and P1 scalar bases.
    velocity_dofs, pressure_dofs
        Coefficient vectors (velocity dofs interleaved ``u, v`` per node; zero-mean pressure).
    nu
        Kinematic viscosity of the final solve.
    residual_history
        Euclidean norm of the discrete residual (free dofs) at each iterate of the final
        viscosity, starting with the Stokes (or previous continuation) guess.
    converged
        Whether the residual fell below ``tol``.
    message
        ``"converged"`` or what went wrong and what to try.
    """

    velocity_basis: CellBasis
    pressure_basis: CellBasis
    velocity_dofs: np.ndarray
    pressure_dofs: np.ndarray
    nu: float
    residual_history: np.ndarray
    converged: bool
    message: str

    def velocity(self, points: np.ndarray) -> np.ndarray:
        """Velocity at ``points`` of shape ``(n, 2)``; returns shape ``(n, 2)``."""
        return evaluate(self.velocity_basis, self.velocity_dofs, points)

    def pressure(self, points: np.ndarray) -> np.ndarray:
        """Pressure at ``points`` of shape ``(n, 2)``; returns shape ``(n,)``."""
        return evaluate(self.pressure_basis, self.pressure_dofs, points)

    def evaluate(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Return ``(u, v, p)`` at ``points`` of shape ``(n, 2)``, each of shape ``(n,)``."""
        velocity = self.velocity(points)
        return velocity[:, 0], velocity[:, 1], self.pressure(points)


def steady_navier_stokes(
    mesh: MeshTri,
    nu: float,
    boundary_velocity: VectorField,
    forcing: VectorField | None = None,
    tol: float = 1e-10,
    max_iter: int = 30,
    picard_steps: int = 0,
    nu_continuation: Sequence[float] = (),
) -> SteadyNavierStokesResult:
    r"""Solve :math:`-\nu\Delta u + (u\cdot\nabla)u + \nabla p = f`, :math:`\nabla\cdot u = 0`.

    Taylor–Hood P2/P1 on ``mesh``, Dirichlet velocity :math:`u = g` on the whole boundary,
    Newton's method from a Stokes initial guess (module docstring has the weak form).

    Parameters
    ----------
    mesh
        Triangular mesh (``skfem.MeshTri``) of the domain.
    nu
        Kinematic viscosity, :math:`\nu > 0`.
    boundary_velocity
        ``g(x, y) -> (u, v)`` evaluated at the boundary P2 nodes (interpolation).
    forcing
        ``f(x, y) -> (fx, fy)`` evaluated at quadrature points; zero if ``None``.
    tol
        Stop when the Euclidean norm of the discrete residual on the free dofs is ``< tol``.
    max_iter
        Maximum Newton iterations per viscosity.
    picard_steps
        Picard (Oseen) iterations before Newton at each viscosity; widens the basin of
        attraction at higher Reynolds numbers.
    nu_continuation
        Viscosities solved in this order before ``nu``, each started from the previous
        solution (e.g. ``(1/100, 1/400)`` on the way to ``nu = 1/1000``).

    Returns
    -------
    SteadyNavierStokesResult
        Bases, dofs, residual history of the final viscosity, and a convergence status.
    """
    if not isinstance(mesh, MeshTri):
        raise TypeError(f"mesh must be a skfem.MeshTri for Taylor–Hood P2/P1, got {type(mesh)}")
    nu = check_positive("nu", nu)
    tol = check_positive("tol", tol)
    continuation = [check_positive("nu_continuation entry", value) for value in nu_continuation]
    if int(max_iter) < 1 or int(picard_steps) < 0:
        raise ValueError(
            f"need max_iter >= 1 and picard_steps >= 0, got {max_iter}, {picard_steps}"
        )
    if not callable(boundary_velocity) or (forcing is not None and not callable(forcing)):
        raise TypeError("boundary_velocity and forcing must be callables f(x, y) -> (u, v)")

    system = _TaylorHoodSystem(mesh, boundary_velocity, forcing)
    viscosities = [*continuation, nu]
    state = system.stokes_guess(viscosities[0])
    for viscosity in viscosities:
        state, history, converged, message = system.newton(
            state, viscosity, tol, int(max_iter), int(picard_steps)
        )
        if not converged:
            if viscosity != nu:
                message = f"continuation step nu={viscosity:g}: {message}"
            break
    velocity, pressure = system.split(state)
    return SteadyNavierStokesResult(
        velocity_basis=system.velocity_basis,
        pressure_basis=system.pressure_basis,
        velocity_dofs=velocity,
        pressure_dofs=pressure - system.mean_weights @ pressure / system.mean_weights.sum(),
        nu=nu,
        residual_history=np.asarray(history),
        converged=converged,
        message=message,
    )


def _components(name: str, field: VectorField, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``field(x, y)`` as a finite array of shape ``(2, *x.shape)``; scalars broadcast."""
    values = field(x, y)
    if len(values) != 2:
        raise ValueError(f"{name}(x, y) must return two components (u, v), got {len(values)}")
    stacked = np.stack([np.broadcast_to(np.asarray(c, dtype=float), x.shape) for c in values])
    if not np.all(np.isfinite(stacked)):
        raise ValueError(f"{name}(x, y) returned NaN or infinite values")
    return stacked


class _TaylorHoodSystem:
    """Assembled pieces of the discrete saddle-point problem (internal)."""

    def __init__(self, mesh: MeshTri, boundary_velocity: VectorField, forcing: VectorField | None):
        self.velocity_basis = Basis(mesh, ElementVector(ElementTriP2()), intorder=5)
        self.pressure_basis = Basis(mesh, ElementTriP1(), intorder=5)
        n_u, n_p = self.velocity_basis.N, self.pressure_basis.N
        self.n_u = n_u
        self.laplace = asm(_vector_laplace, self.velocity_basis)
        self.divergence = asm(_negative_divergence, self.velocity_basis, self.pressure_basis)
        self.mean_weights = asm(_pressure_mean, self.pressure_basis)
        if forcing is None:
            self.load = np.zeros(n_u)
        else:
            x, y = np.asarray(self.velocity_basis.global_coordinates())
            self.load = asm(_load, self.velocity_basis, f=_components("forcing", forcing, x, y))

        boundary = self.velocity_basis.get_dofs()
        self.lifting = np.zeros(n_u + n_p)
        for component, name in enumerate(("u^1", "u^2")):
            dofs = boundary.all(name)
            x, y = self.velocity_basis.doflocs[:, dofs]
            values = _components("boundary_velocity", boundary_velocity, x, y)
            self.lifting[dofs] = values[component]
        fixed = np.concatenate([boundary.all(), [n_u]])  # pin the pressure at vertex 0
        self.free = np.setdiff1d(np.arange(n_u + n_p), fixed)
        self.rhs = np.concatenate([self.load, np.zeros(n_p)])

    def split(self, state: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return state[: self.n_u], state[self.n_u :]

    def _saddle(self, momentum: sparse.spmatrix) -> sparse.csr_matrix:
        return sparse.bmat([[momentum, self.divergence.T], [self.divergence, None]], format="csr")

    def _solve_free(self, matrix: sparse.csr_matrix, rhs: np.ndarray) -> np.ndarray:
        free = self.free
        return spsolve(matrix[free][:, free].tocsc(), rhs)

    def stokes_guess(self, nu: float) -> np.ndarray:
        """Stokes solution (no convection) with the boundary data: the Newton start."""
        state = self.lifting.copy()
        stokes = self._saddle(nu * self.laplace)
        residual = (stokes @ state - self.rhs)[self.free]
        state[self.free] -= self._solve_free(stokes, residual)
        return state

    def newton(
        self, state: np.ndarray, nu: float, tol: float, max_iter: int, picard_steps: int
    ) -> tuple[np.ndarray, list[float], bool, str]:
        """Picard steps, then Newton steps, on ``F(state) = 0``; returns a status too."""
        state = state.copy()
        history: list[float] = []
        for iteration in range(picard_steps + max_iter + 1):
            velocity, _ = self.split(state)
            frozen = self.velocity_basis.interpolate(velocity)
            momentum = nu * self.laplace + asm(_advection, self.velocity_basis, b=frozen)
            residual = (self._saddle(momentum) @ state - self.rhs)[self.free]
            history.append(float(np.linalg.norm(residual)))
            if not np.isfinite(history[-1]):
                return state, history, False, _NOT_FINITE
            if history[-1] < tol:
                return state, history, True, "converged"
            if iteration == picard_steps + max_iter:
                break
            if iteration >= picard_steps:  # Newton: add ((du . grad) u, v)
                momentum = momentum + asm(_advection_derivative, self.velocity_basis, b=frozen)
            state[self.free] -= self._solve_free(self._saddle(momentum), residual)
        return (
            state,
            history,
            False,
            (
                f"Newton did not reach tol={tol:g} in max_iter={max_iter} iterations (last residual "
                f"{history[-1]:.3e}); try increasing max_iter, picard_steps, or a nu_continuation"
            ),
        )


def lid_driven_cavity_velocity(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    r"""Boundary velocity of the unit lid-driven cavity :math:`[0, 1]^2`.

    :math:`u = (1, 0)` on the lid :math:`y = 1, 0 < x < 1`, :math:`u = 0` on the other walls.
    The two top corners are *excluded* from the lid (they belong to the no-slip side walls,
    the "watertight" convention), so the lid speed drops to zero across the corner element.
    """
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    on_lid = (y > 1.0 - 1e-10) & (x > 1e-10) & (x < 1.0 - 1e-10)
    return on_lid.astype(float), np.zeros_like(x)


def kovasznay_lambda(reynolds: float) -> float:
    r"""Return :math:`\lambda = \mathrm{Re}/2 - \sqrt{\mathrm{Re}^2/4 + 4\pi^2}`."""
    return reynolds / 2.0 - np.sqrt(reynolds**2 / 4.0 + 4.0 * np.pi**2)


def kovasznay_velocity(
    x: np.ndarray, y: np.ndarray, reynolds: float = 40.0
) -> tuple[np.ndarray, np.ndarray]:
    r"""Kovasznay (1948) velocity, an exact steady solution with :math:`\nu = 1/\mathrm{Re}`.

    .. math::

        u = 1 - e^{\lambda x} \cos 2\pi y, \qquad
        v = \frac{\lambda}{2\pi} e^{\lambda x} \sin 2\pi y,

    with :math:`\lambda` from :func:`kovasznay_lambda` and zero forcing.
    """
    lam = kovasznay_lambda(reynolds)
    decay = np.exp(lam * np.asarray(x, dtype=float))
    return 1.0 - decay * np.cos(2 * np.pi * y), lam / (2 * np.pi) * decay * np.sin(2 * np.pi * y)


def kovasznay_pressure(x: np.ndarray, y: np.ndarray, reynolds: float = 40.0) -> np.ndarray:
    r"""Kovasznay pressure :math:`p = \tfrac12 (1 - e^{2\lambda x})` (up to a constant)."""
    x, y = np.broadcast_arrays(np.asarray(x, dtype=float), np.asarray(y, dtype=float))
    return 0.5 * (1.0 - np.exp(2.0 * kovasznay_lambda(reynolds) * x))
