r"""Truncated least squares from a randomized low-rank SVD, for Gauss–Newton on small networks.

TENG's subset Jacobians (a few hundred rows and columns) have only 30–150 singular values above
1e-15 relative: a randomized range finder captures them for a fraction of the full SVD's cost
(:func:`low_rank_svd`), and one such SVD gives the minimum-norm step at several truncations
(:func:`truncated_steps`). Used by :func:`pde_lab.natural_gradient.gauss_newton`.

Where the matrix has (nearly) full numerical rank, the full SVD is needed, and on the CPU a tall
one (TENG 2D: 2,304 × 512) is factored as :math:`A = QR` (Householder, ``geqrf``) and the SVD taken
of the small :math:`R`; :math:`Q` is applied by its reflectors (``ormqr``) and never formed. On this
project's CPU LAPACK that costs 0.55–0.65× the direct SVD, for the same steps to rounding.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import torch

__all__ = ["low_rank_svd", "truncated_steps"]


def low_rank_svd(matrix: torch.Tensor, floor: float, rank: int = 64) -> tuple[torch.Tensor, ...]:
    r"""Thin SVD ``(U, s, Vᵀ)`` of a numerically low-rank matrix, down to ``floor`` relative.

    A randomized range finder (Halko, Martinsson & Tropp, SIAM Review 2011, Alg. 4.1 and 5.1):
    :math:`Q = \operatorname{qr}(A\Omega)` for a Gaussian :math:`\Omega` with ``rank`` columns,
    then the SVD of the small :math:`Q^\top A`; ``rank`` doubles until the smallest singular value
    found is at most ``floor`` times the largest, so every triplet above it is captured (the
    range error is of the size of the first one left out). The full SVD once ``rank``
    exceeds :math:`\tfrac23 \min(m, n)`. :math:`\Omega` is drawn from a fixed seed: the result depends
    only on ``matrix``. TENG's Jacobians have 30–100 singular values above 1e-15 relative (1D
    Burgers, 1024 × 256 subsets): this costs 2–20× less than the full SVD.
    """
    basis, left, singular, right = _range_svd(matrix, floor, rank)
    return (left if basis is None else basis.lift(left)), singular, right


class _Basis:
    r"""The orthonormal columns :math:`Q` (``m × k``) of a factorisation :math:`A = Q\,(Q^\top A)`: explicit
    (the range finder's), or as Householder reflectors (``geqrf``'s ``a, tau``), which are applied, not formed."""

    def __init__(self, columns: torch.Tensor | None = None, reflectors: tuple[torch.Tensor, torch.Tensor] | None = None):
        self.columns, self.reflectors = columns, reflectors

    def project(self, x: torch.Tensor) -> torch.Tensor:
        r""":math:`Q^\top x` for ``x`` ``(m,)`` or ``(m, j)``."""
        if self.columns is not None:
            return self.columns.T @ x
        a, tau = self.reflectors
        column = x.ndim == 1
        out = torch.ormqr(a, tau, x[:, None] if column else x, left=True, transpose=True)[: a.shape[1]]
        return out[:, 0] if column else out

    def lift(self, x: torch.Tensor) -> torch.Tensor:
        """:math:`Q x` for ``x`` ``(k, j)``."""
        if self.columns is not None:
            return self.columns @ x
        a, tau = self.reflectors
        padded = torch.cat([x, x.new_zeros(a.shape[0] - x.shape[0], x.shape[1])])
        return torch.ormqr(a, tau, padded, left=True, transpose=False)


def _range_svd(matrix: torch.Tensor, floor: float, rank: int) -> tuple[_Basis | None, ...]:
    """:func:`low_rank_svd` as ``(Q, W, s, Vᵀ)`` with ``U = Q W`` (``Q`` ``None``: ``U = W``), unmultiplied."""
    m, n = matrix.shape
    while _sketch_pays(m, n, rank):
        sketch = _sketch(n, rank, matrix.dtype, matrix.device)
        basis = torch.linalg.qr(matrix @ sketch).Q
        left, singular, right = torch.linalg.svd(basis.T @ matrix, full_matrices=False)
        if singular[-1] <= floor * singular[0]:
            return _Basis(columns=basis), left, singular, right
        rank *= 2
    if matrix.device.type == "cpu" and m >= 2 * n:  # QR first: the SVD of the n x n factor R only
        a, tau = torch.geqrf(matrix)
        return _Basis(reflectors=(a, tau)), *torch.linalg.svd(a[:n].triu(), full_matrices=False)
    return None, *torch.linalg.svd(matrix, full_matrices=False)


def _sketch_pays(m: int, n: int, rank: int) -> bool:
    """Whether a sketch of ``rank`` columns is worth trying on an ``m × n`` matrix: a wider one costs about
    the full SVD."""
    return 3 * rank <= 2 * min(m, n)


@functools.lru_cache(maxsize=16)
def _sketch(n: int, rank: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    r"""The Gaussian test matrix :math:`\Omega` ``(n, rank)`` of :func:`low_rank_svd`: fixed seed, drawn once."""
    return torch.randn(n, rank, generator=torch.Generator().manual_seed(0), dtype=dtype).to(device)


def truncated_steps(matrix: torch.Tensor, rhs: torch.Tensor, cutoffs: Sequence[float],
                    rank: int = 64) -> tuple[list[torch.Tensor], int]:
    r"""Minimum-norm least-squares solutions for several relative cutoffs, from one thin SVD.

    :math:`\delta_c = \sum_{s_i > c\, s_1} v_i\, (u_i^\top b) / s_i` for each ``c`` in ``cutoffs``;
    the SVD is :func:`low_rank_svd` down to a thousandth of the smallest cutoff, its sketch
    starting at ``rank`` columns (:math:`U^\top b` is formed as :math:`W^\top (Q^\top b)`, never
    :math:`U` itself). Returns the steps and the number of singular triplets used
    (the next call's ``rank``, so a Gauss–Newton loop does not repeat sketches that were too narrow).
    On the CPU, a single cutoff with ``rank`` too wide for a sketch is solved by ``gelsd`` directly.
    """
    if len(cutoffs) == 1 and matrix.device.type == "cpu" and not _sketch_pays(*matrix.shape, rank):
        # one cutoff and no sketch to try: least_squares' LAPACK gelsd (the same rule: values at or below
        # rcond * s_1 dropped) forms no singular vectors, 0.6-0.8x the QR-first SVD's time here;
        # imported here, as natural_gradient imports this module
        from pde_lab.natural_gradient import least_squares

        return [least_squares(matrix, rhs, 0.0, cutoffs[0])], rank
    basis, left, singular, right = _range_svd(matrix, 1e-3 * min(cutoffs), rank)
    coefficients = (left.T @ (rhs if basis is None else basis.project(rhs))) / singular
    steps = []
    for cutoff in cutoffs:
        keep = singular > cutoff * singular[0]
        steps.append(right.T @ torch.where(keep, coefficients, torch.zeros_like(coefficients)))
    return steps, len(singular)
