r"""Network pieces of the causal PINN (Wang, Sankaran & Perdikaris 2022, arXiv 2203.07404).

A point :math:`(x, t)` is first *embedded*, then passed through a trunk:

- **exact periodic embedding** of a periodic axis of length :math:`L`, :math:`\omega = 2\pi/L`:
  :math:`x \mapsto [\cos(k\omega x), \sin(k\omega x)]_{k=1..M}`, so the network and all its
  derivatives are periodic in :math:`x` by construction (periodic boundary losses drop out);
- **temporal encoding** :math:`\tau \mapsto [10^j \tau]_{j \in J}` of the window-local time
  :math:`\tau = t - t_{start}` (the chaotic-KS and NS settings); without it, time enters
  rescaled to :math:`[-1, 1]` over the window as in :class:`pde_lab.nets.MLP`. Non-periodic
  spatial axes are rescaled the same way;
- optional **random Fourier features** :math:`z \mapsto [\cos Bz, \sin Bz]`,
  :math:`B_{ij} \sim N(0, \sigma^2)` fixed (Tancik et al. 2020; jaxpi's default);
- a trunk: the plain :class:`pde_lab.nets.MLP` (on an already-scaled input) or the
  **modified MLP** :class:`ModifiedMLP`.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import torch
from torch import nn

from pde_lab.nets import ACTIVATIONS, MLP
from pde_lab.validation import check_int, check_positive

__all__ = ["CausalNetwork", "FourierFeatures", "ModifiedMLP", "PeriodicEmbedding", "TemporalEncoding"]


class PeriodicEmbedding(nn.Module):
    r"""Exact periodic embedding of some input columns; the other columns pass through.

    Column ``axis`` with period ``periods[axis]`` becomes :math:`[\cos(k\omega x),
    \sin(k\omega x)]_{k=1..M}`, :math:`\omega = 2\pi/L`. With ``trainable=True`` the
    amplitude of each harmonic is learned (periodicity stays exact: the frequencies are
    fixed); ``harmonics`` fixes :math:`M`. A constant column 1 is prepended, as in the paper's
    ``[t, 1, cos, sin]``. Constants are stored in float64 and cast to the input's dtype.

    ``cross=True`` (two or more periodic axes) appends the mixed harmonics
    :math:`[\cos(\mathbf k\cdot\boldsymbol\omega\mathbf x), \sin(\mathbf k\cdot\boldsymbol\omega\mathbf x)]`
    for every integer wave vector with :math:`1 \le |k_i| \le M` on at least two axes and
    :math:`|k_i| \le M` on all (one of each pair :math:`\pm\mathbf k`), so that products such as
    :math:`\cos(kx)\cos(ly)` are linear in the features, as in the causal-PINN paper's NS embedding.
    """

    def __init__(self, periods: dict[int, float], in_dim: int, harmonics: int = 5, trainable: bool = False,
                 cross: bool = False) -> None:
        super().__init__()
        check_int("harmonics", harmonics)
        for axis, period in periods.items():
            if not 0 <= axis < in_dim or not (math.isfinite(period) and period > 0):
                raise ValueError(f"periodic axis {axis} with period {period!r} is invalid for {in_dim} inputs")
        self.axes = sorted(periods)
        self.others = [i for i in range(in_dim) if i not in periods]
        frequencies = torch.tensor([[2 * math.pi * k / periods[a] for k in range(1, harmonics + 1)] for a in self.axes],
                                   dtype=torch.float64)
        self.register_buffer("frequencies", frequencies)  # (n_axes, M)
        amplitude = torch.ones(len(self.axes), 2 * harmonics, dtype=torch.float64)
        self.amplitude = nn.Parameter(amplitude) if trainable else None
        if cross and (trainable or len(self.axes) < 2):
            raise ValueError("cross harmonics need two or more periodic axes and trainable=False")
        vectors = [k for k in itertools.product(range(-harmonics, harmonics + 1), repeat=len(self.axes))
                   if sum(c != 0 for c in k) >= 2 and next(c for c in k if c) > 0] if cross else []
        omega = frequencies[:, :1]  # the first harmonic, 2 pi / L, per axis
        self.register_buffer("cross", torch.tensor(vectors, dtype=torch.float64).reshape(-1, len(self.axes)).T
                             * omega, persistent=False)  # (n_axes, F): one column per mixed wave vector
        self.out_dim = len(self.others) + 1 + 2 * harmonics * len(self.axes) + 2 * len(vectors)

    def forward(self, points: torch.Tensor) -> torch.Tensor:
        phase = points[:, self.axes, None] * self.frequencies.to(points.dtype)  # (n, axes, M)
        waves = torch.cat([torch.cos(phase), torch.sin(phase)], dim=2)
        if self.amplitude is not None:
            waves = waves * self.amplitude.to(points.dtype)
        ones = torch.ones_like(points[:, :1])
        columns = [points[:, self.others], ones, waves.flatten(1)]
        if self.cross.shape[1]:
            mixed = points[:, self.axes] @ self.cross.to(points.dtype)
            columns += [torch.cos(mixed), torch.sin(mixed)]
        return torch.cat(columns, dim=1)


class TemporalEncoding(nn.Module):
    r"""Time column :math:`\tau \mapsto [10^j \tau]_{j \in` ``powers`` :math:`]`, other columns unchanged.

    Powers are floats, so negative ones stay non-zero (the integer-power pitfall noted in the
    reference code's ``jnp.power(10, arange(-3, 3))``).
    """

    def __init__(self, powers: Sequence[float], column: int = -1) -> None:
        super().__init__()
        if not powers:
            raise ValueError("TemporalEncoding needs at least one power")
        self.register_buffer("scales", torch.tensor([10.0 ** float(j) for j in powers], dtype=torch.float64))
        self.column = column

    def forward(self, points: torch.Tensor) -> torch.Tensor:
        column = self.column % points.shape[1]
        rest = torch.cat([points[:, :column], points[:, column + 1:]], dim=1)
        return torch.cat([points[:, column:column + 1] * self.scales.to(points.dtype), rest], dim=1)


class FourierFeatures(nn.Module):
    r"""Random Fourier features :math:`z \mapsto [\cos(zB), \sin(zB)]`, :math:`B \sim N(0, \sigma^2)` fixed.

    ``B`` is drawn from ``generator`` (or torch's current RNG) at construction and never trained.
    """

    def __init__(self, in_dim: int, features: int, scale: float = 1.0, generator: torch.Generator | None = None) -> None:
        super().__init__()
        if features < 1 or features % 2:
            raise ValueError(f"features must be a positive even number, got {features!r}")
        check_positive("scale", scale)
        matrix = torch.randn(in_dim, features // 2, generator=generator, dtype=torch.float64) * scale
        self.register_buffer("matrix", matrix)
        self.out_dim = features

    def forward(self, points: torch.Tensor) -> torch.Tensor:
        projected = points @ self.matrix.to(points.dtype)
        return torch.cat([torch.cos(projected), torch.sin(projected)], dim=1)


class ModifiedMLP(nn.Module):
    r"""The modified MLP of Wang, Teng & Perdikaris (2021), used by the causal PINN.

    .. math::

        U = \sigma(X W_u + b_u),\quad V = \sigma(X W_v + b_v),\quad
        Z_l = \sigma(H_{l-1} W_l + b_l),\quad H_l = Z_l \odot U + (1 - Z_l) \odot V,

    with :math:`H_0 = X`, ``depth`` gated layers and a linear output layer; Glorot-normal
    weights, zero biases. The input is used as given (scale it beforehand).
    """

    def __init__(self, in_dim: int, out_dim: int, width: int = 128, depth: int = 4, activation: str = "tanh") -> None:
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation {activation!r}; known: {sorted(ACTIVATIONS)}")
        if width < 1 or depth < 1:
            raise ValueError(f"width and depth must be >= 1, got width={width}, depth={depth}")
        self.activation_name, self.activation = activation, ACTIVATIONS[activation]
        self.encoder_u, self.encoder_v = nn.Linear(in_dim, width), nn.Linear(in_dim, width)
        sizes = [in_dim] + [width] * depth
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in itertools.pairwise(sizes))
        self.output = nn.Linear(width, out_dim)
        for layer in (self.encoder_u, self.encoder_v, *self.layers, self.output):
            nn.init.xavier_normal_(layer.weight)
            nn.init.zeros_(layer.bias)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        u, v = self.activation(self.encoder_u(inputs)), self.activation(self.encoder_v(inputs))
        hidden = inputs
        for layer in self.layers:
            gate = self.activation(layer(hidden))
            hidden = gate * u + (1 - gate) * v
        return self.output(hidden)


class CausalNetwork(nn.Module):
    r"""Embedding + trunk for points ``(n, d + 1)`` (time last) on one time window.

    Parameters
    ----------
    lower, upper
        Space-time box of the window, ``d + 1`` entries each; time is measured from
        ``lower[-1]``. Periodic axes use their length ``upper - lower`` as the period.
    out_dim
        Number of fields.
    periodic_axes
        Spatial axes embedded exactly (:class:`PeriodicEmbedding`).
    harmonics, trainable_harmonics, cross_harmonics
        :math:`M`, trainable amplitudes and mixed wave vectors of the periodic embedding.
    temporal_powers
        ``()``: time rescaled to ``[-1, 1]``; else :class:`TemporalEncoding` of :math:`t - t_0`.
    fourier_features, fourier_scale
        ``0``: none; else that many random Fourier features of scale :math:`\sigma`.
    architecture
        ``"modified-mlp"`` (:class:`ModifiedMLP`) or ``"mlp"`` (:class:`pde_lab.nets.MLP`).
    """

    def __init__(
        self,
        lower: Sequence[float],
        upper: Sequence[float],
        out_dim: int,
        *,
        width: int = 128,
        depth: int = 4,
        activation: str = "tanh",
        architecture: str = "modified-mlp",
        periodic_axes: Sequence[int] = (),
        harmonics: int = 5,
        trainable_harmonics: bool = False,
        cross_harmonics: bool = False,
        temporal_powers: Sequence[float] = (),
        fourier_features: int = 0,
        fourier_scale: float = 1.0,
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        lower_t, upper_t = (torch.as_tensor(b, dtype=torch.float64) for b in (lower, upper))
        if lower_t.ndim != 1 or lower_t.shape != upper_t.shape or not torch.all(upper_t > lower_t):
            raise ValueError("lower/upper must have one entry per input column with upper > lower")
        in_dim = len(lower_t)
        periodic = {int(a): float(upper_t[a] - lower_t[a]) for a in periodic_axes}
        if any(a == in_dim - 1 for a in periodic):
            raise ValueError("time (the last column) cannot be periodic")
        # scaled inputs: non-periodic space to [-1, 1]; time to [-1, 1] or t - t0 when encoded
        shift, scale = (upper_t + lower_t) / 2, 2 / (upper_t - lower_t)
        for axis in periodic:
            shift[axis], scale[axis] = lower_t[axis], 1.0
        if temporal_powers:
            shift[-1], scale[-1] = lower_t[-1], 1.0
        self.register_buffer("shift", shift)
        self.register_buffer("scale", scale)
        stages: list[nn.Module] = []
        width_in = in_dim
        if periodic:
            stages.append(PeriodicEmbedding(periodic, in_dim, harmonics, trainable_harmonics, cross_harmonics))
            width_in = stages[-1].out_dim
        if temporal_powers:  # time is the first of the non-periodic columns after the embedding
            time_column = in_dim - 1 - len(periodic) if periodic else in_dim - 1
            stages.append(TemporalEncoding(temporal_powers, time_column))
            width_in += len(temporal_powers) - 1
        if fourier_features:
            stages.append(FourierFeatures(width_in, fourier_features, fourier_scale, generator))
            width_in = fourier_features
        self.embedding = nn.Sequential(*stages)
        if architecture == "modified-mlp":
            self.trunk = ModifiedMLP(width_in, out_dim, width, depth, activation)
        elif architecture == "mlp":
            self.trunk = MLP(width_in, out_dim, width, depth, activation)  # default box: no rescaling
        else:
            raise ValueError(f"unknown architecture {architecture!r}; use 'modified-mlp' or 'mlp'")

    def forward(self, points: torch.Tensor) -> torch.Tensor:
        scaled = (points - self.shift.to(points.dtype)) * self.scale.to(points.dtype)
        return self.trunk(self.embedding(scaled))
