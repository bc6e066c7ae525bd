"""Point evaluation of finite-element functions with a KD-tree element search.

scikit-fem's ``CellBasis.probes`` finds the element of each point by testing it against
every element (O(points × elements) time and memory: 2.5 s for 5k points on a 30k-triangle
mesh). Here candidate elements come from a KD-tree of element centroids and are tested
by their barycentric coordinates, O(points · log elements).

Points outside the mesh but within about one element of it (the polygonal mesh of a
curved domain) are extrapolated from the nearest element; points farther out raise.
"""

from __future__ import annotations

import numpy as np
from scipy.sparse import coo_matrix

__all__ = ["probe_matrix", "find_elements"]

_SIMPLICES = {"MeshLine1", "MeshTri1", "MeshTet1"}


def find_elements(mesh, points: np.ndarray, candidates: int = 12) -> np.ndarray:
    """Index of the simplex containing each point ``(n, d)`` (nearest for slightly outside)."""
    from scipy.spatial import cKDTree

    vertices = mesh.p.T[mesh.t.T]  # (ne, d+1, d)
    origin = vertices[:, 0, :]
    edges = np.transpose(vertices[:, 1:, :] - origin[:, None, :], (0, 2, 1))  # (ne, d, d)
    inverse = np.linalg.inv(edges)
    tree = cKDTree(vertices.mean(axis=1))
    k = min(candidates, len(origin))
    _, nearest = tree.query(points, k=k)
    nearest = nearest.reshape(len(points), k)
    local = np.einsum("nkij,nkj->nki", inverse[nearest], points[:, None, :] - origin[nearest])
    barycentric = np.concatenate([1 - local.sum(axis=2, keepdims=True), local], axis=2)
    violation = np.maximum(-barycentric, 0).max(axis=2)  # 0 inside, grows outside
    best = violation.argmin(axis=1)
    worst = violation[np.arange(len(points)), best]
    if np.any(worst > 1.0):
        far = points[worst > 1.0][0]
        raise ValueError(f"point {far.tolist()} lies outside the finite-element mesh")
    return nearest[np.arange(len(points)), best]


def probe_matrix(basis, points: np.ndarray):
    """Sparse ``(n, N)`` matrix mapping dof values to values at ``points`` ``(n, d)``."""
    if type(basis.mesh).__name__ not in _SIMPLICES:
        return basis.probes(np.ascontiguousarray(points.T))
    cells = find_elements(basis.mesh, points)
    x = np.ascontiguousarray(points.T)
    reference = basis.mapping.invF(x[:, :, np.newaxis], tind=cells)
    phis = np.array([basis.elem.gbasis(basis.mapping, reference, k, tind=cells)[0]
                     for k in range(basis.Nbfun)]).flatten()
    rows = np.tile(np.arange(x.shape[1], dtype=np.int64), basis.Nbfun)
    cols = basis.element_dofs[:, cells].flatten()
    return coo_matrix((phis, (rows, cols)), shape=(x.shape[1], basis.N)).tocsr()
