r"""Preconditioners for CG on sparse SPD matrices: Jacobi, incomplete Cholesky IC(0), AMG.

Each ``make_*`` returns a ``scipy.sparse.linalg.LinearOperator`` applying
:math:`M^{-1} r` (what ``scipy.sparse.linalg.cg`` takes as ``M``):

- ``jacobi``: :math:`M = \operatorname{diag}(A)`.
- ``ic``: :math:`M = LL^T`, the zero-fill incomplete Cholesky factor: :math:`L` has the
  sparsity of the lower triangle of :math:`A` and :math:`(LL^T)_{ij} = a_{ij}` on it. No
  maintained IC package is installed here, so :func:`incomplete_cholesky` computes it.
  On graphs without triangles (the 5/7-point stencils of Cartesian grids) the products
  :math:`l_{ik}l_{jk}` vanish and IC(0) reduces to
  :math:`l_{ij} = a_{ij}/l_{jj},\ l_{ii}^2 = a_{ii} - \sum_{j<i} a_{ij}^2/l_{jj}^2`,
  computed level by level (rows whose lower neighbours are done, all at once in numpy);
  other graphs (finite-element matrices) take the general row-by-row algorithm. The two
  triangular solves per application are ``scipy.sparse.linalg.spsolve_triangular``.
- ``amg``: one V-cycle of pyamg's smoothed-aggregation multigrid
  (``pyamg.smoothed_aggregation_solver(A).aspreconditioner()``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = [
    "CG_VARIANTS",
    "PRECONDITIONERS",
    "incomplete_cholesky",
    "make_amg",
    "make_ic",
    "make_jacobi",
    "make_preconditioner",
]


def make_jacobi(matrix) -> Any:
    """:math:`M^{-1} r = r / \\operatorname{diag}(A)`."""
    from scipy.sparse.linalg import LinearOperator

    inverse = 1.0 / _positive_diagonal(matrix)
    return LinearOperator(matrix.shape, matvec=lambda r: inverse * np.ravel(r), dtype=float)


def incomplete_cholesky(matrix):
    """The IC(0) factor :math:`L` (CSR, lower triangular) of a sparse symmetric matrix.

    Raises ``ValueError`` at a non-positive pivot (the matrix is not an M-matrix-like SPD
    matrix for which IC(0) exists).
    """
    import scipy.sparse as sp

    matrix = sp.csr_matrix(matrix, dtype=float)
    diagonal = _positive_diagonal(matrix)
    strict = sp.tril(matrix, k=-1, format="csr")
    strict.eliminate_zeros()
    pattern = strict.copy()
    pattern.data[:] = 1.0
    if (pattern @ pattern.T).multiply(pattern).nnz == 0:
        pivots = _pivots_without_triangles(strict, diagonal)
        scale = 1.0 / np.sqrt(pivots)
        lower = strict @ sp.diags(scale)
        return (lower + sp.diags(np.sqrt(pivots))).tocsr()
    return _ic0_general(strict, diagonal)


def _pivots_without_triangles(strict, diagonal: np.ndarray) -> np.ndarray:
    """:math:`d_i = a_{ii} - \\sum_{j<i} a_{ij}^2/d_j`, by levels of the lower-triangular graph."""
    squares = strict.multiply(strict).tocsr()
    upper = strict.T.tocsr()  # row j lists the rows i > j that depend on j
    waiting = np.diff(strict.indptr).astype(np.int64)
    pivots = np.zeros(len(diagonal))
    inverse = np.zeros(len(diagonal))
    level = np.flatnonzero(waiting == 0)
    while level.size:
        pivots[level] = diagonal[level] - squares[level] @ inverse
        if np.any(pivots[level] <= 0):
            raise ValueError("incomplete Cholesky IC(0) broke down (non-positive pivot); "
                             "use the jacobi or amg preconditioner for this matrix")
        inverse[level] = 1.0 / pivots[level]
        starts, stops = upper.indptr[level], upper.indptr[level + 1]
        dependants = upper.indices[_ranges(starts, stops)]
        rows, counts = np.unique(dependants, return_counts=True)
        waiting[rows] -= counts
        level = rows[waiting[rows] == 0]
    return pivots


def _ranges(starts: np.ndarray, stops: np.ndarray) -> np.ndarray:
    """Concatenation of ``arange(start, stop)`` for each pair, vectorised."""
    lengths = stops - starts
    total = int(lengths.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    offsets = np.repeat(starts - np.concatenate([[0], np.cumsum(lengths)[:-1]]), lengths)
    return offsets + np.arange(total)


def _ic0_general(strict, diagonal: np.ndarray):
    r"""IC(0) on any sparsity: :math:`l_{ij} = (a_{ij} - \sum_{k<j} l_{ik} l_{jk}) / l_{jj}`."""
    import scipy.sparse as sp

    n = len(diagonal)
    rows: list[dict[int, float]] = [{} for _ in range(n)]
    pivots = np.zeros(n)
    for i in range(n):
        row = rows[i]
        start, stop = strict.indptr[i], strict.indptr[i + 1]
        for j, value in sorted(zip(strict.indices[start:stop].tolist(), strict.data[start:stop].tolist())):
            other = rows[j]
            total = value - sum(l_ik * other[k] for k, l_ik in row.items() if k in other)
            row[j] = total / pivots[j]
        square = diagonal[i] - sum(v * v for v in row.values())
        if square <= 0:
            raise ValueError("incomplete Cholesky IC(0) broke down (non-positive pivot); "
                             "use the jacobi or amg preconditioner for this matrix")
        pivots[i] = np.sqrt(square)
    indices = [np.fromiter(r.keys(), dtype=np.int64, count=len(r)) for r in rows]
    values = [np.fromiter(r.values(), dtype=float, count=len(r)) for r in rows]
    row_of = np.repeat(np.arange(n), [len(r) for r in rows])
    lower = sp.csr_matrix((np.concatenate(values + [pivots]),
                           (np.concatenate([row_of, np.arange(n)]), np.concatenate(indices + [np.arange(n)]))),
                          shape=(n, n))
    return lower


def make_ic(matrix) -> Any:
    """:math:`M^{-1} r = L^{-T} L^{-1} r` with the IC(0) factor (two sparse triangular solves)."""
    from scipy.sparse.linalg import LinearOperator, spsolve_triangular

    lower = incomplete_cholesky(matrix)
    upper = lower.T.tocsr()

    def apply(r):
        half = spsolve_triangular(lower, np.ravel(r), lower=True)
        return spsolve_triangular(upper, half, lower=False)

    return LinearOperator(matrix.shape, matvec=apply, dtype=float)


def make_amg(matrix) -> Any:
    """One smoothed-aggregation V-cycle of pyamg (its defaults) as the preconditioner."""
    import pyamg
    import scipy.sparse as sp

    return pyamg.smoothed_aggregation_solver(sp.csr_matrix(matrix)).aspreconditioner(cycle="V")


PRECONDITIONERS = {"none": None, "jacobi": make_jacobi, "ic": make_ic, "amg": make_amg}
#: The CG family by the names the benchmarks and ``fem`` use -> the preconditioner of each.
CG_VARIANTS = {"cg": "none", "jacobi-pcg": "jacobi", "ic-pcg": "ic", "amg-pcg": "amg"}


def make_preconditioner(name: str, matrix) -> Any:
    """The preconditioner ``name`` (``"none"``, ``"jacobi"``, ``"ic"``, ``"amg"``) for ``matrix``."""
    if name not in PRECONDITIONERS:
        raise ValueError(f"unknown preconditioner {name!r}; use one of {', '.join(PRECONDITIONERS)}")
    build = PRECONDITIONERS[name]
    return None if build is None else build(matrix)


def _positive_diagonal(matrix) -> np.ndarray:
    diagonal = np.asarray(matrix.diagonal(), dtype=float)
    if np.any(diagonal <= 0):
        raise ValueError("the matrix has a non-positive diagonal entry; it is not SPD "
                         "(drop the rows of solid/masked cells before building a preconditioner)")
    return diagonal
