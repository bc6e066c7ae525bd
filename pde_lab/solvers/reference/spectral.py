r"""Fourier pseudo-spectral reference for periodic evolution problems, from the problem's own rate.

The rate :math:`u_t = F[u]` that the neural solvers train on is evaluated on a uniform
periodic grid, with every derivative computed by FFT (:class:`SpectralEngine`). Its
linear part is read off exactly by one forward-mode JVP at :math:`u = 0`: for a
constant-coefficient operator the Fourier modes are eigenfunctions, so
:math:`\widehat{J\varphi}_k = \lambda_k\,\hat\varphi_k` gives every symbol :math:`\lambda_k`
at once (checked on a second random direction). The remainder
:math:`N(u) = F[u] - \Lambda u` is advanced explicitly with Kassam–Trefethen ETDRK4
(fourth order in time, spectral in space):

.. math:: \hat u_t = \Lambda \hat u + \widehat{N(u)}.

Works for scalar and coupled fields in 1D–3D (couplings between fields go into :math:`N`).
The rate must be autonomous (no explicit dependence on ``f.t``); this is checked.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from pde_lab.conditions import Periodic
from pde_lab.problem import Problem
from pde_lab.solution import Solution, Status
from pde_lab.validation import check_positive

__all__ = ["Spectral", "SpectralEngine", "grid_rate", "linear_symbol"]


class SpectralEngine:
    """Derivative engine for :class:`~pde_lab.fields.Fields` on a periodic tensor grid.

    ``fields.function`` is ignored: values are the grid values given at construction.
    Odd derivatives drop the Nyquist mode of even grids (the usual convention).
    """

    name = "spectral"

    def __init__(self, values, shape: tuple[int, ...], lengths: tuple[float, ...]) -> None:
        import torch

        self.grid_values, self.shape = values, shape
        self.wavenumbers = []
        for n, length in zip(shape, lengths, strict=True):
            k = torch.fft.fftfreq(n, d=length / (2 * math.pi * n), dtype=torch.float64)
            odd = k.clone()
            if n % 2 == 0:
                odd[n // 2] = 0.0
            self.wavenumbers.append((k, odd))

    def values(self, fields):
        return self.grid_values

    def partial(self, fields, index: int, axes: tuple[int, ...]):
        import torch

        d = len(self.shape)
        if any(axis >= d for axis in axes):
            raise ValueError("the spectral reference integrates in time: the rate may not use time derivatives")
        key = ("spectrum", index)
        if key not in fields.cache:
            fields.cache[key] = torch.fft.fftn(self.grid_values[:, index].reshape(self.shape))
        spectrum = fields.cache[key]
        for axis in range(d):
            order = axes.count(axis)
            if order:
                k, odd = self.wavenumbers[axis]
                symbol = (1j * (odd if order % 2 else k)) ** order
                spectrum = spectrum * symbol.reshape([-1 if i == axis else 1 for i in range(d)])
        return torch.fft.ifftn(spectrum).real.reshape(-1)


@dataclass(frozen=True)
class Spectral:
    """ETDRK4 on a Fourier grid: the reference for periodic evolution problems.

    Parameters
    ----------
    n
        Grid points per periodic axis (an int for all axes, or one per axis).
    dt
        Time step; reduced so that it divides the interval between saved instants.
    n_saves
        Saved instants (evenly spaced over the time span); ``None`` uses the instants of
        ``problem.evaluation_points()``.
    dealias
        Apply the 2/3 rule to the explicit part.
    """

    n: int | tuple[int, ...] = 256
    dt: float = 1e-3
    n_saves: int | None = None
    dealias: bool = False

    name = "spectral"

    def check(self, problem: Problem) -> None:
        """Raise ``ValueError`` (``TypeError``) saying why this solver cannot solve ``problem``; trains nothing."""
        self._grid(problem)

    def solve(self, problem: Problem) -> Solution:
        import torch

        from pde_lab.memory import PeakMemory
        from pde_lab.reference.etdrk4 import etdrk4_integrate
        from pde_lab.solvers.reference.grid_field import GridField

        shape, lengths, lower = self._grid(problem)
        t0, t1 = problem.time_span
        saves = self._save_times(problem)
        interval = float(np.min(np.diff(saves))) if len(saves) > 1 else t1 - t0
        dt = interval / math.ceil(interval / self.dt - 1e-9)
        axes = [lower[i] + lengths[i] * np.arange(shape[i]) / shape[i] for i in range(len(shape))]
        mesh = np.stack([a.ravel() for a in np.meshgrid(*axes, indexing="ij")], axis=1)
        n_points, n_fields, spatial = mesh.shape[0], len(problem.fields), tuple(range(1, len(shape) + 1))
        start = time.perf_counter()
        with PeakMemory("cpu") as memory:
            rate = grid_rate(problem, mesh, shape, lengths)
            symbol = linear_symbol(rate, n_fields, shape)
            mask = _dealias_mask(shape) if self.dealias else 1.0

            def nonlinear(v_hat: np.ndarray) -> np.ndarray:
                u = np.fft.ifftn(v_hat, axes=spatial).real  # (fields, *shape)
                values = torch.as_tensor(u.reshape(n_fields, -1).T.copy())
                remainder = rate(values).numpy().T.reshape(u.shape)
                return np.fft.fftn(remainder, axes=spatial) * mask - symbol * v_hat

            initial = np.asarray(problem.initial_condition(torch.as_tensor(mesh)), dtype=float)
            initial = initial.reshape(n_points, -1)
            start_values = torch.as_tensor(initial)
            if not torch.allclose(rate(start_values, t0), rate(start_values, t1), rtol=1e-12, atol=1e-12):
                raise ValueError("spectral needs an autonomous rate; this one depends explicitly on t")
            v_hat0 = np.fft.fftn(initial.T.reshape(n_fields, *shape), axes=spatial)
            times, v_hat = etdrk4_integrate(v_hat0, symbol, nonlinear, dt, float(saves[-1] - t0), saves - t0)
            snapshots = np.fft.ifftn(v_hat, axes=tuple(a + 1 for a in spatial)).real
        values = np.moveaxis(snapshots, 1, -1)  # (n_times, *shape, fields)
        field = GridField(axes, values, times + t0, lengths, upsample={1: 16, 2: 4}.get(len(shape), 2))
        stats = {"wall_s": time.perf_counter() - start, "peak_mem_mb": memory.peak_mb,
                 "iterations": int(round((t1 - t0) / dt)), "device": "cpu", "dtype": "float64",
                 "grid": list(shape), "dt": dt}
        return Solution(problem, field, self.name, Status.CONVERGED, f"ETDRK4, dt={dt:.3g}, grid {shape}", stats, {}, field)

    # ------------------------------------------------------------------ helpers
    def _grid(self, problem: Problem) -> tuple[tuple[int, ...], tuple[float, ...], np.ndarray]:
        if not isinstance(problem, Problem):
            raise TypeError(f"Spectral.solve expects a Problem, got {type(problem).__name__}")
        if not problem.is_time_dependent:
            raise ValueError(f"spectral integrates evolution problems (rate=...); {problem.name!r} is steady")
        if problem.rate is None:
            raise ValueError(f"spectral integrates a rate u_t = F[u]; {problem.name!r} is given as a space-time "
                             "residual (e.g. with a pressure constraint), which has no explicit rate")
        d = problem.spatial_dim
        periodic_axes = {c.axis for c in problem.boundary_conditions if isinstance(c, Periodic)}
        others = [c for c in problem.boundary_conditions if not isinstance(c, Periodic)]
        if others or periodic_axes != set(range(d)):
            raise ValueError(f"spectral needs Periodic conditions on every axis and no others; {problem.name!r} has "
                             f"{[type(c).__name__ for c in problem.boundary_conditions]}")
        lower, upper = (np.asarray(b, dtype=float) for b in problem.geometry.bounds)
        shape = (self.n,) * d if isinstance(self.n, int) else tuple(self.n)
        if len(shape) != d or any(not isinstance(n, int) or n < 4 for n in shape):
            raise ValueError(f"n must be an int >= 4 or one per axis ({d}), got {self.n!r}")
        check_positive("dt", self.dt)
        return shape, tuple(upper - lower), lower

    def _save_times(self, problem: Problem) -> np.ndarray:
        if self.n_saves is not None:
            if not isinstance(self.n_saves, int) or self.n_saves < 2:
                raise ValueError(f"n_saves must be an int >= 2, got {self.n_saves!r}")
            return np.linspace(*problem.time_span, self.n_saves)
        return np.unique(problem.evaluation_points()[:, -1])


def grid_rate(problem: Problem, mesh: np.ndarray, shape: tuple[int, ...], lengths: tuple[float, ...]):
    """The problem's rate on a uniform periodic tensor grid (``mesh`` ``(n, d)``, ``"ij"`` order), every
    derivative by FFT: ``rate(values (n, fields), instant) -> (n, fields)``, a torch function."""
    import torch

    from pde_lab.fields import Fields, as_field_tuple

    n_points = len(mesh)
    t0 = problem.time_span[0]

    def rate(values: torch.Tensor, instant: float = t0) -> torch.Tensor:
        points = torch.as_tensor(np.column_stack([mesh, np.full(n_points, instant)]))
        engine = SpectralEngine(values, shape, lengths)
        f = Fields(lambda x: values, points, problem.fields, problem.coordinate_names, engine)
        out = as_field_tuple(problem.rate(f, problem.parameters), problem.fields)
        return torch.stack([o.expand(n_points) if o.numel() == 1 else o for o in out], dim=1)

    return rate


def linear_symbol(rate, n_fields: int, shape: tuple[int, ...], solver: str = "spectral") -> np.ndarray:
    """Diagonal of the Fréchet derivative of ``rate`` (from :func:`grid_rate`) at u = 0, per field and
    Fourier mode, ``(n_fields, *shape)`` complex; ``ValueError`` (naming ``solver``) unless it is diagonal,
    i.e. the linear part has constant coefficients."""
    import torch

    rng = np.random.default_rng(0)
    spatial = tuple(range(1, len(shape) + 1))
    estimates = []
    for _ in range(2):
        # real directions whose Fourier coefficients all have modulus ~1
        phases = np.fft.fftn(rng.standard_normal((n_fields, *shape)), axes=spatial)
        direction = np.fft.ifftn(phases / np.abs(phases), axes=spatial).real
        symbol = np.empty((n_fields, *shape), dtype=complex)
        for j in range(n_fields):
            tangent = np.zeros((n_fields, *shape))
            tangent[j] = direction[j]
            tangent_t = torch.as_tensor(tangent.reshape(n_fields, -1).T.copy())
            zero = torch.zeros_like(tangent_t)
            _, response = torch.func.jvp(rate, (zero,), (tangent_t,))
            response_hat = np.fft.fftn(response[:, j].numpy().reshape(shape))
            symbol[j] = response_hat / np.fft.fftn(direction[j])
        estimates.append(symbol)
    scale = 1.0 + np.abs(estimates[0]).max()
    if np.abs(estimates[0] - estimates[1]).max() > 1e-8 * scale:
        raise ValueError(f"{solver} needs a constant-coefficient linear part; this rate's varies in space")
    return estimates[0]


def _dealias_mask(shape: tuple[int, ...]) -> np.ndarray:
    mask = np.ones(shape)
    for axis, n in enumerate(shape):
        k = np.abs(np.fft.fftfreq(n, d=1.0 / n))
        mask = mask * (k < n / 3).reshape([-1 if i == axis else 1 for i in range(len(shape))])
    return mask
