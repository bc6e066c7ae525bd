r"""Chemotaxis references: Keller–Segel and indirect signalling, P1/P2 FEM, linear IMEX steps.

Classic (parabolic–parabolic) Keller–Segel (Keller & Segel 1970, J. Theor. Biol. 26, 399):

.. math::

    n_t = \Delta n - \chi \nabla \cdot (n \nabla c), \qquad c_t = \Delta c - c + n .

Indirect signalling, as in "Parabolic-elliptic and indirect-direct simplifications in
chemotaxis systems driven by indirect signalling" (the project's seed abstracts):

.. math::

    n_t = \Delta n - \nabla \cdot (n \nabla c), \qquad
    \varepsilon c_t = \Delta c - c + w, \qquad
    \varepsilon w_t = \tau \Delta w - w + n .

All fields satisfy homogeneous Neumann (no-flux) conditions :math:`\partial_\nu(\cdot) = 0`,
built into the weak form. With :math:`M, K` the consistent mass and stiffness matrices and
:math:`C(c)_{ij} = \int_\Omega \phi_j \nabla c \cdot \nabla \phi_i`, one step reads

.. math::

    (\gamma_0 M + \Delta t K - \Delta t \chi C(c^\ast)) n^{k+1} = M h_n, \qquad
    (\gamma_0 a M + \Delta t (D K + M)) s^{k+1} = a M h_s + \Delta t M r^{k+1},

for each signal :math:`s` with time scale :math:`a`, diffusivity :math:`D` and source
:math:`r` (``c`` with source ``n`` for Keller–Segel; ``w`` with source ``n``, then ``c``
with source ``w`` for indirect signalling), solved in that order so every step is linear.

* ``"backward-euler"`` (first order): :math:`\gamma_0 = 1`, :math:`h = u^k`, :math:`c^\ast = c^k`.
* ``"bdf2"`` (second order): :math:`\gamma_0 = 3/2`, :math:`h = 2u^k - \tfrac12 u^{k-1}`,
  :math:`c^\ast = 2c^k - c^{k-1}`; the first step is backward Euler.

Mass: the constant function lies in the P1/P2 space, so testing with :math:`\phi = 1` gives
:math:`\mathbf 1^\top K = \mathbf 1^\top C = 0` and :math:`\int n^{k+1} = \int n^k` exactly,
to linear-solver round-off (sparse LU). Positivity is *not* guaranteed by the consistent
mass matrix; the minimum nodal value of :math:`n` is recorded at every step instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import sparse
from scipy.sparse.linalg import splu
from skfem import (
    Basis,
    BilinearForm,
    CellBasis,
    ElementQuad1,
    ElementQuad2,
    ElementTriP1,
    ElementTriP2,
    Mesh,
    MeshQuad,
    MeshTri,
    asm,
)
from skfem.helpers import dot, grad
from skfem.models.poisson import laplace, mass

from pde_lab.reference.etdrk4 import save_step_indices
from pde_lab.reference.fem_tools import (
    ScalarField,
    evaluate,
    nodal_values,
)
from pde_lab.validation import check_non_negative, check_positive

TimeScheme = Literal["backward-euler", "bdf2"]
_ELEMENTS = {
    (MeshTri, 1): ElementTriP1,
    (MeshTri, 2): ElementTriP2,
    (MeshQuad, 1): ElementQuad1,
    (MeshQuad, 2): ElementQuad2,
}


@BilinearForm
def _chemotactic_flux(u, v, w):
    # int u grad(c) . grad(v): the weak form of -div(u grad c) tested with v
    return u * dot(grad(w["c"]), grad(v))


@dataclass(frozen=True, eq=False)
class ChemotaxisResult:
    """Time-dependent chemotaxis solution on one scikit-fem basis.

    Attributes
    ----------
    basis
        The P1 or P2 (Q1/Q2 on quadrilaterals) scalar basis shared by all fields.
    times
        Save times actually reached, shape ``(n_saves,)``.
    fields
        Field name (``"n"``, ``"c"``, and ``"w"`` for indirect signalling) to nodal values,
        shape ``(n_saves, basis.N)``.
    step_times
        Every time level, shape ``(n_steps + 1,)`` (fewer if the run diverged).
    mass
        :math:`\\int_\\Omega n` at every time level.
    min_n
        Minimum nodal value of :math:`n` at every time level (positivity diagnostic).
    status
        ``"success"`` or ``"diverged"``.
    message
        What happened and, on failure, what to try.
    """

    basis: CellBasis
    times: np.ndarray
    fields: dict[str, np.ndarray]
    step_times: np.ndarray
    mass: np.ndarray
    min_n: np.ndarray
    status: str
    message: str

    @property
    def mass_drift(self) -> float:
        """Largest relative deviation :math:`\\max_k |m_k - m_0| / |m_0|` of the mass."""
        return float(np.max(np.abs(self.mass - self.mass[0])) / abs(self.mass[0]))

    def evaluate(self, name: str, points: np.ndarray, save_index: int = -1) -> np.ndarray:
        """Field ``name`` at save ``save_index`` on ``points`` of shape ``(n, 2)``."""
        if name not in self.fields:
            raise ValueError(f"unknown field {name!r}; available: {sorted(self.fields)}")
        return evaluate(self.basis, self.fields[name][save_index], points)


@dataclass(frozen=True)
class _Signal:
    """``scale * s_t = diffusivity * Δs - s + source`` (internal)."""

    name: str
    source: str
    scale: float = 1.0
    diffusivity: float = 1.0


class _Stepper:
    """Linear IMEX time stepping shared by both systems (internal)."""

    def __init__(self, basis: CellBasis, chi: float, signals: tuple[_Signal, ...], dt: float):
        self.basis, self.chi, self.signals, self.dt = basis, chi, signals, dt
        self.mass_matrix = asm(mass, basis)
        self.stiffness = asm(laplace, basis)
        self.mass_weights = self.mass_matrix @ np.ones(basis.N)
        self.factors: dict[tuple[str, float], object] = {}  # signal LU factors per (name, gamma)

    def _signal_solver(self, signal: _Signal, gamma: float):
        key = (signal.name, gamma)
        if key not in self.factors:
            matrix = gamma * signal.scale * self.mass_matrix + self.dt * (
                signal.diffusivity * self.stiffness + self.mass_matrix
            )
            self.factors[key] = splu(sparse.csc_matrix(matrix))
        return self.factors[key]

    def step(self, current: dict, previous: dict | None) -> dict:
        """Advance one step: backward Euler if ``previous`` is None, else BDF2."""
        if previous is None:
            gamma = 1.0
            history = dict(current)
            drift = current["c"]
        else:
            gamma = 1.5
            history = {key: 2.0 * current[key] - 0.5 * previous[key] for key in current}
            drift = 2.0 * current["c"] - previous["c"]
        operator = gamma * self.mass_matrix + self.dt * self.stiffness
        if self.chi != 0.0:
            flux = asm(_chemotactic_flux, self.basis, c=self.basis.interpolate(drift))
            operator = operator - self.dt * self.chi * flux
        new = {"n": splu(sparse.csc_matrix(operator)).solve(self.mass_matrix @ history["n"])}
        for signal in self.signals:
            rhs = self.mass_matrix @ (
                signal.scale * history[signal.name] + self.dt * new[signal.source]
            )
            new[signal.name] = self._signal_solver(signal, gamma).solve(rhs)
        return new


def keller_segel(
    mesh: Mesh,
    n0: ScalarField,
    c0: ScalarField,
    chi: float,
    t_final: float,
    dt: float,
    save_times: Sequence[float],
    order: int = 1,
    time_scheme: TimeScheme = "backward-euler",
) -> ChemotaxisResult:
    r"""Solve :math:`n_t = \Delta n - \chi\nabla\cdot(n\nabla c)`, :math:`c_t = \Delta c - c + n`.

    No-flux boundaries on any 2D triangle or quadrilateral mesh; the scheme is in the module
    docstring (n implicit with the drift :math:`\nabla c` from earlier steps, then c).
    In 2D, solutions may blow up in finite time above a critical mass (of order
    :math:`8\pi/\chi`, :math:`4\pi/\chi` for boundary concentration); watch ``min_n``
    (oscillations) and ``status``.

    Parameters
    ----------
    mesh
        ``skfem.MeshTri`` or ``skfem.MeshQuad`` of the domain.
    n0, c0
        Initial data ``f(x, y)``, interpolated at the nodes.
    chi
        Chemotactic sensitivity :math:`\chi \ge 0` (``0`` decouples n into a heat equation).
    t_final
        Final time; must be an integer multiple of ``dt``.
    dt
        Time step :math:`\Delta t > 0`.
    save_times
        Non-decreasing times in ``[0, t_final]`` on the time grid ``k * dt`` at which fields
        are stored (checked by :func:`pde_lab.reference.etdrk4.save_step_indices`).
    order
        Polynomial degree of the elements, 1 or 2.
    time_scheme
        ``"backward-euler"`` (order 1) or ``"bdf2"`` (order 2, backward-Euler start).

    Returns
    -------
    ChemotaxisResult
        Fields ``"n"`` and ``"c"``, mass and positivity history, status.
    """
    chi = check_non_negative("chi", chi)
    signals = (_Signal("c", source="n"),)
    return _run(mesh, {"n": n0, "c": c0}, chi, signals, t_final, dt, save_times, order, time_scheme)


def indirect_signalling(
    mesh: Mesh,
    n0: ScalarField,
    c0: ScalarField,
    w0: ScalarField,
    eps: float,
    tau: float,
    t_final: float,
    dt: float,
    save_times: Sequence[float],
    order: int = 1,
    time_scheme: TimeScheme = "backward-euler",
) -> ChemotaxisResult:
    r"""Solve the indirect-signalling chemotaxis system with no-flux boundaries.

    .. math::

        n_t = \Delta n - \nabla\cdot(n\nabla c), \quad
        \varepsilon c_t = \Delta c - c + w, \quad
        \varepsilon w_t = \tau \Delta w - w + n .

    Parameters
    ----------
    mesh
        ``skfem.MeshTri`` or ``skfem.MeshQuad`` of the domain.
    n0, c0, w0
        Initial data ``f(x, y)``, interpolated at the nodes.
    eps
        Time-scale ratio :math:`\varepsilon > 0` of the signalling process.
    tau
        Diffusivity :math:`\tau > 0` of the intermediate signal :math:`w`.
    t_final, dt, save_times, order, time_scheme
        As in :func:`keller_segel`.

    Returns
    -------
    ChemotaxisResult
        Fields ``"n"``, ``"c"``, ``"w"``, mass and positivity history, status.
    """
    eps = check_positive("eps", eps)
    tau = check_positive("tau", tau)
    signals = (
        _Signal("w", source="n", scale=eps, diffusivity=tau),
        _Signal("c", source="w", scale=eps),
    )
    initial = {"n": n0, "c": c0, "w": w0}
    return _run(mesh, initial, 1.0, signals, t_final, dt, save_times, order, time_scheme)


def _run(
    mesh: Mesh,
    initial: dict[str, ScalarField],
    chi: float,
    signals: tuple[_Signal, ...],
    t_final: float,
    dt: float,
    save_times: Sequence[float],
    order: int,
    time_scheme: str,
) -> ChemotaxisResult:
    if not isinstance(mesh, (MeshTri, MeshQuad)):
        raise TypeError(f"mesh must be a skfem MeshTri or MeshQuad, got {type(mesh).__name__}")
    element = _ELEMENTS.get((type(mesh), order))
    if element is None:
        raise ValueError(f"order must be 1 or 2, got {order!r}")
    if time_scheme not in ("backward-euler", "bdf2"):
        raise ValueError(f"time_scheme must be 'backward-euler' or 'bdf2', got {time_scheme!r}")
    t_final = check_positive("t_final", t_final)
    save_times, save_steps = save_step_indices(dt, t_final, np.asarray(save_times, dtype=float))
    n_steps = round(t_final / dt)
    basis = Basis(mesh, element())
    state = {name: nodal_values(name + "0", function, basis) for name, function in initial.items()}
    stepper = _Stepper(basis, chi, signals, float(dt))

    saved: dict[str, list[np.ndarray]] = {name: [] for name in state}
    masses, minima, previous = [], [], None
    status, message = "success", f"reached t_final={t_final} in {n_steps} steps"
    for k in range(n_steps + 1):
        if not all(np.all(np.isfinite(values)) for values in state.values()):
            status = "diverged"
            message = (
                f"non-finite values at t={k * dt:g} (blow-up?); reduce dt, refine the mesh, "
                "or lower the mass / chi below the blow-up threshold"
            )
            break
        masses.append(float(stepper.mass_weights @ state["n"]))
        minima.append(float(np.min(state["n"])))
        for _ in range(int(np.count_nonzero(save_steps == k))):
            for name, values in state.items():
                saved[name].append(values.copy())
        if k == n_steps:
            break
        new = stepper.step(state, previous if time_scheme == "bdf2" else None)
        previous, state = state, new

    n_levels = len(masses)
    return ChemotaxisResult(
        basis=basis,
        times=save_times[: len(saved["n"])],
        fields={name: np.array(values).reshape(-1, basis.N) for name, values in saved.items()},
        step_times=np.arange(n_levels) * float(dt),
        mass=np.array(masses),
        min_n=np.array(minima),
        status=status,
        message=message,
    )
