"""Fields stored as snapshots on a tensor grid, evaluated anywhere by interpolation.

Used by the grid-based references (spectral, finite differences). In space, periodic axes
are first refined by Fourier zero-padding (exact for band-limited data); then local cubic
Lagrange interpolation, tensor-product over space (6 points per axis) and time (4 points),
sixth order in space, fourth in time). Grid points and saved instants are reproduced exactly.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["GridField", "FEMTimeSeries", "fourier_upsample", "lagrange_stencil"]


def fourier_upsample(values: np.ndarray, axes: Sequence[int], factor: int) -> np.ndarray:
    """Refine a periodic real array along ``axes`` by ``factor`` with Fourier zero-padding."""
    out = values
    for axis in axes:
        n = out.shape[axis]
        spectrum = np.fft.fft(out, axis=axis)
        m = n * factor
        padded_shape = list(out.shape)
        padded_shape[axis] = m
        padded = np.zeros(padded_shape, dtype=complex)
        half = (n + 1) // 2  # non-negative frequencies 0..half-1 (and Nyquist handled below)
        index = [slice(None)] * out.ndim
        source = [slice(None)] * out.ndim
        index[axis], source[axis] = slice(0, half), slice(0, half)
        padded[tuple(index)] = spectrum[tuple(source)]
        index[axis], source[axis] = slice(m - (n - half), m), slice(half, n)
        padded[tuple(index)] = spectrum[tuple(source)]
        if n % 2 == 0:  # split the Nyquist mode symmetrically
            nyquist = [slice(None)] * out.ndim
            nyquist[axis] = slice(n // 2, n // 2 + 1)
            low = [slice(None)] * out.ndim
            low[axis] = slice(n // 2, n // 2 + 1)
            high = [slice(None)] * out.ndim
            high[axis] = slice(m - n // 2, m - n // 2 + 1)
            padded[tuple(low)] = 0.5 * spectrum[tuple(nyquist)]
            padded[tuple(high)] = 0.5 * spectrum[tuple(nyquist)]
        out = np.fft.ifft(padded, axis=axis).real * factor
    return out


def lagrange_stencil(nodes: np.ndarray, query: np.ndarray, period: float | None, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices and Lagrange weights ``(n, w)`` of ``query`` on sorted ``nodes`` (``w`` = ``width``).

    Periodic axes wrap the stencil (uniform ``nodes`` without the right end); otherwise it
    is clamped inside the node range. Exact at the nodes, order ``w`` in the spacing.
    """
    n = len(nodes)
    width = min(width, n)
    if width < 2:
        raise ValueError(f"interpolation needs at least 2 nodes per axis, got {n}")
    if period is not None:
        spacing = period / n
        base = np.floor((query - nodes[0]) / spacing).astype(np.int64) - (width // 2 - 1)
        offsets = base[:, None] + np.arange(width)
        local = nodes[0] + offsets * spacing  # unwrapped node coordinates
        index = np.mod(offsets, n)
    else:
        base = np.clip(np.searchsorted(nodes, query, side="right") - width // 2, 0, n - width)
        index = base[:, None] + np.arange(width)
        local = nodes[index]
    weights = np.ones((len(query), width))
    for j in range(width):
        for m in range(width):
            if m != j:
                weights[:, j] *= (query - local[:, m]) / (local[:, j] - local[:, m])
    return index, weights


class GridField:
    """Evaluate gridded snapshots at arbitrary points ``(n, d [+1])``.

    Parameters
    ----------
    coordinates
        One 1D array per spatial axis (uniform for periodic axes, the right end excluded).
    values
        ``(n_times, *grid_shape, n_fields)`` for evolution problems, ``(*grid_shape, n_fields)``
        for steady ones.
    times
        Saved instants (``None`` for steady data).
    periods
        Period of each spatial axis, or ``None`` for a non-periodic axis.
    upsample
        Fourier refinement factor of the periodic axes before the cubic interpolation.
    """

    def __init__(self, coordinates: Sequence[np.ndarray], values: np.ndarray, times: np.ndarray | None,
                 periods: Sequence[float | None], upsample: int = 4) -> None:
        values = np.asarray(values, dtype=float)
        offset = 0 if times is None else 1
        periodic = [i for i, p in enumerate(periods) if p is not None]
        if upsample > 1 and periodic:
            values = fourier_upsample(values, [i + offset for i in periodic], upsample)
        self.axes = []
        for i, (c, period) in enumerate(zip(coordinates, periods, strict=True)):
            c = np.asarray(c, dtype=float)
            n = values.shape[i + offset]
            self.axes.append(c if period is None else c[0] + period * np.arange(n) / n)
        self.periods = tuple(periods)
        self.times = None if times is None else np.asarray(times, dtype=float)
        self.values = values

    def __call__(self, points: np.ndarray) -> np.ndarray:
        points = np.asarray(points, dtype=float)
        d = len(self.axes)
        stencils = [] if self.times is None else [lagrange_stencil(self.times, points[:, d], None, 4)]
        stencils += [lagrange_stencil(a, points[:, i], p, 6) for i, (a, p) in enumerate(zip(self.axes, self.periods, strict=True))]
        result = np.zeros((len(points), self.values.shape[-1]))
        for combination in np.ndindex(*(s[0].shape[1] for s in stencils)):
            weight = np.ones(len(points))
            index = []
            for (ids, ws), j in zip(stencils, combination, strict=True):
                weight = weight * ws[:, j]
                index.append(ids[:, j])
            result += weight[:, None] * self.values[tuple(index)]
        return result


class FEMTimeSeries:
    """Finite-element snapshots on one basis, evaluated at ``(x, t)``.

    Space: the basis' own interpolation (:func:`~pde_lab.solvers.reference.probes.probe_matrix`);
    time: 4-point Lagrange interpolation between the saved instants (exact at them).
    ``snapshots`` has shape ``(n_times, basis.N, n_fields)``.
    """

    def __init__(self, basis, times: np.ndarray, snapshots: np.ndarray) -> None:
        self.basis, self.times, self.snapshots = basis, np.asarray(times, dtype=float), snapshots
        self.mesh = basis.mesh  # for ParaView export

    def __call__(self, points: np.ndarray) -> np.ndarray:
        from pde_lab.solvers.reference.probes import probe_matrix

        space, inverse = np.unique(points[:, :-1], axis=0, return_inverse=True)
        probe, inverse = probe_matrix(self.basis, space), inverse.reshape(-1)
        index, weights = lagrange_stencil(self.times, points[:, -1], None, 4)
        out = np.zeros((len(points), self.snapshots.shape[2]))
        for snapshot in np.unique(index):  # evaluate each saved instant once, where it is used
            at = probe @ self.snapshots[snapshot]
            rows, column = np.nonzero(index == snapshot)
            out[rows] += weights[rows, column][:, None] * at[inverse[rows]]
        return out
