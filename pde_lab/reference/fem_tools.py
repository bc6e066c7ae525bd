"""Small helpers shared by the scikit-fem reference solvers.

Point evaluation of a finite element function, the :math:`L^2` error against an exact
solution on a refined quadrature, and argument checks that raise clear ``ValueError``.

Conventions
-----------
Points are given as an array of shape ``(n, 2)`` (one point a row, as elsewhere in
pde_lab); exact solutions are callables ``f(x, y)`` of coordinate arrays that return an
array (scalar field) or a pair of arrays (vector field).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from skfem import CellBasis

ScalarField = Callable[[np.ndarray, np.ndarray], np.ndarray]


def as_points(points: np.ndarray) -> np.ndarray:
    """Check points of shape ``(n, 2)`` and return them transposed to ``(2, n)``.

    Parameters
    ----------
    points
        Array-like of shape ``(n, 2)`` with finite coordinates.

    Returns
    -------
    numpy.ndarray
        Float array of shape ``(2, n)``, the layout scikit-fem's ``probes`` expects.
    """
    array = np.asarray(points, dtype=float)
    if array.ndim != 2 or array.shape[1] != 2:
        raise ValueError(f"points must have shape (n, 2), got {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError("points contain NaN or infinite coordinates")
    return np.ascontiguousarray(array.T)


def evaluate(basis: CellBasis, dofs: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Evaluate a finite element function at arbitrary points inside the mesh.

    Parameters
    ----------
    basis
        The basis the degrees of freedom belong to.
    dofs
        Coefficient vector of length ``basis.N``.
    points
        Array of shape ``(n, 2)``; every point must lie in the (discrete) domain.

    Returns
    -------
    numpy.ndarray
        Shape ``(n,)`` for a scalar element, ``(n, k)`` for a ``k``-component element.
    """
    xy = as_points(points)
    try:
        values = basis.probes(xy) @ dofs
    except ValueError as error:
        raise ValueError(f"cannot evaluate: some points lie outside the mesh ({error})") from None
    components = values.size // xy.shape[1]
    if components == 1:
        return values
    return values.reshape(components, xy.shape[1]).T


def l2_error(
    basis: CellBasis,
    dofs: np.ndarray,
    exact: Callable[..., object],
    remove_mean: bool = False,
    intorder: int | None = None,
) -> float:
    r"""Return :math:`\|u_h - u\|_{L^2(\Omega_h)}` on a quadrature finer than assembly.

    With ``remove_mean=True`` the error's mean is removed first,
    :math:`\|e - \bar e\|_{L^2}` with :math:`\bar e = |\Omega|^{-1}\int_\Omega e`, which is
    the right measure for a pressure defined up to a constant.

    Parameters
    ----------
    basis
        The basis the degrees of freedom belong to.
    dofs
        Coefficient vector of length ``basis.N``.
    exact
        ``exact(x, y)`` (one array per coordinate, any dimension) returning an array
        (scalar element) or a tuple of arrays (vector element).
    remove_mean
        Subtract the mean of the error before taking the norm.
    intorder
        Quadrature order; defaults to ``2 * degree + 3`` of the element.

    Returns
    -------
    float
        The :math:`L^2` norm of the error.
    """
    order = intorder if intorder is not None else 2 * basis.elem.maxdeg + 3
    fine = CellBasis(basis.mesh, basis.elem, intorder=order)
    approx = np.asarray(fine.interpolate(dofs))
    coordinates = np.asarray(fine.global_coordinates())
    target = np.asarray(exact(*coordinates), dtype=float)
    error = approx - target.reshape(approx.shape)
    if remove_mean:
        error = error - np.sum(error * fine.dx, axis=(-2, -1), keepdims=True) / np.sum(fine.dx)
    squared = error**2 if error.ndim == 2 else np.sum(error**2, axis=0)
    return float(np.sqrt(np.sum(squared * fine.dx)))


def nodal_values(name: str, function: ScalarField, basis: CellBasis) -> np.ndarray:
    """Interpolate ``function(x, y)`` at the nodal points of a Lagrange basis.

    Raises ``TypeError`` if ``function`` is not callable, ``ValueError`` if it returns
    non-finite values.
    """
    if not callable(function):
        raise TypeError(f"{name} must be a callable f(x, y), got {type(function).__name__}")
    x, y = basis.doflocs
    values = np.broadcast_to(np.asarray(function(x, y), dtype=float), x.shape).copy()
    if not np.all(np.isfinite(values)):
        raise ValueError(f"{name} returned NaN or infinite values at the mesh nodes")
    return values
