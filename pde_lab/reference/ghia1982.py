r"""Lid-driven cavity benchmark data of Ghia, Ghia & Shin (1982), Re = 100.

U. Ghia, K. N. Ghia and C. T. Shin, "High-Re solutions for incompressible flow using the
Navier–Stokes equations and a multigrid method", J. Comput. Phys. 48 (1982) 387–411.
Table I (u along the vertical centreline) and Table II (v along the horizontal centreline),
Re = 100 column, computed on a uniform 129 × 129 grid.

Setting: unit square :math:`[0, 1]^2`, lid :math:`y = 1` moving with :math:`u = 1`,
no-slip elsewhere, :math:`\mathrm{Re} = U L / \nu = 100`. Velocities are scaled by the
lid speed. The coordinates are the grid points ``k / 128`` rounded to four digits
(e.g. 0.9766 = 125/128). Values typed in from the paper and cross-checked against several
independent transcriptions in public repositories.

Ghia's table is accurate to about 1% of the lid speed. For tighter checks the module also
holds grid-converged centreline extrema at Re = 100 from O. Botella and R. Peyret,
"Benchmark spectral results on the lid-driven cavity flow", Comput. Fluids 27 (1998)
421–433 (second-hand: taken from transcriptions in public codes, consistent with each other).
"""

from __future__ import annotations

import numpy as np

#: Reynolds number of the tabulated data.
GHIA_REYNOLDS: float = 100.0

#: y-coordinates of Table I (vertical centreline x = 0.5), from the lid down.
GHIA_RE100_Y: np.ndarray = np.array(
    [1.0000, 0.9766, 0.9688, 0.9609, 0.9531, 0.8516, 0.7344, 0.6172, 0.5000,
     0.4531, 0.2813, 0.1719, 0.1016, 0.0703, 0.0625, 0.0547, 0.0000]
)  # fmt: skip

#: u(0.5, y) at ``GHIA_RE100_Y``, Re = 100.
GHIA_RE100_U: np.ndarray = np.array(
    [1.00000, 0.84123, 0.78871, 0.73722, 0.68717, 0.23151, 0.00332, -0.13641, -0.20581,
     -0.21090, -0.15662, -0.10150, -0.06434, -0.04775, -0.04192, -0.03717, 0.00000]
)  # fmt: skip

#: x-coordinates of Table II (horizontal centreline y = 0.5), from the right wall.
GHIA_RE100_X: np.ndarray = np.array(
    [1.0000, 0.9688, 0.9609, 0.9531, 0.9453, 0.9063, 0.8594, 0.8047, 0.5000,
     0.2344, 0.2266, 0.1563, 0.0938, 0.0781, 0.0703, 0.0625, 0.0000]
)  # fmt: skip

#: v(x, 0.5) at ``GHIA_RE100_X``, Re = 100.
GHIA_RE100_V: np.ndarray = np.array(
    [0.00000, -0.05906, -0.07391, -0.08864, -0.10313, -0.16914, -0.22445, -0.24533, 0.05454,
     0.17527, 0.17507, 0.16077, 0.12317, 0.10890, 0.10091, 0.09233, 0.00000]
)  # fmt: skip

#: Botella & Peyret (1998) Re = 100 extrema: name -> (location, value). ``u_min`` is the
#: minimum of u(0.5, y) at y = location; ``v_max`` / ``v_min`` are extrema of v(x, 0.5).
BOTELLA_PEYRET_RE100_EXTREMA: dict[str, tuple[float, float]] = {
    "u_min": (0.4581, -0.2140424),
    "v_max": (0.2370, 0.1795728),
    "v_min": (0.8104, -0.2538030),
}
