r"""Fourier neural operators in 1, 2 and 3 dimensions (Li et al., ICLR 2021).

An FNO maps a function :math:`a` on a grid to a function :math:`u` on the same grid:

.. math::

    v_0 = P(a, x), \qquad
    v_{l+1} = \sigma\big(W_l v_l + \mathcal F^{-1}[R_l \cdot (\mathcal F v_l)|_{|k| \le k_{max}}]\big),
    \qquad u = Q(v_L),

with a pointwise lift :math:`P` (the input channels plus the grid coordinates), four Fourier
layers (complex weights :math:`R_l` on the lowest modes, a pointwise linear :math:`W_l`; no
activation after the last one, as in the original code), and a pointwise projection
:math:`Q` (hidden width 128). ``modes`` counts modes per corner of the spectrum, the original
convention: ``modes = 12`` keeps :math:`k = -12..11` along the leading axes and
:math:`0..11` along the last (``rfft``) axis; neuraloperator's ``n_modes`` counts both signs
(``n_modes = 24``). Because the weights act on Fourier modes, the same network evaluates on
any grid fine enough for its modes (resolution-invariant evaluation).

Non-periodic axes are zero-padded by ``padding`` (a fraction of the axis length, so the
padded domain is the same at every resolution) before the Fourier layers and cropped after,
as the original code does for Darcy and for time. Written from the equations (the
``neuraloperator`` package would add wandb, tensorly, h5py and friends as dependencies).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from itertools import product

import torch
from torch import nn

__all__ = ["FNO", "FNO1d", "FNO2d", "FNO3d", "SpectralConv", "mode_major"]

_ACTIVATIONS = {"gelu": nn.GELU, "relu": nn.ReLU, "tanh": nn.Tanh}


class SpectralConv(nn.Module):
    r"""Fourier layer :math:`v \mapsto \mathcal F^{-1}[R\cdot\mathcal F v]` on the lowest modes, any dimension.

    Input ``(batch, in_channels, *grid)``; one complex weight block ``(*modes, in, out)`` per
    corner of the spectrum (:math:`2^{d-1}` blocks: both signs on the leading axes,
    non-negative frequencies on the last). At each mode the layer is a matrix product
    :math:`\hat v_{out}(k) = \hat v_{in}(k) R(k)`; the blocks are stored mode-major, so that the
    products run as one batched ``matmul`` without transposing the weights on every call (the
    ``(in, out, *modes)`` layout of the original code costs a copy of every block per pass:
    about a third of a CPU forward pass at batch 1). Files saved with that layout are
    converted on loading (:func:`pde_lab.solvers.operator_io.load_trained`).
    """

    def __init__(self, in_channels: int, out_channels: int, modes: Sequence[int],
                 dtype: torch.dtype = torch.float32) -> None:
        super().__init__()
        complex_dtype = {torch.float32: torch.cfloat, torch.float64: torch.cdouble}[dtype]
        self.modes = tuple(int(m) for m in modes)
        if not self.modes or any(m < 1 for m in self.modes):
            raise ValueError(f"modes must be positive ints, one per axis, got {modes!r}")
        scale = 1.0 / (in_channels * out_channels)
        blocks = 2 ** (len(self.modes) - 1)
        # drawn as (in, out, *modes), as the original code does, so that a seed gives the same network
        self.weights = nn.ParameterList(
            nn.Parameter(mode_major(scale * torch.rand(in_channels, out_channels, *self.modes, dtype=complex_dtype)))
            for _ in range(blocks)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        d = len(self.modes)
        grid = x.shape[-d:]
        dims = tuple(range(-d, 0))
        spectrum = torch.fft.rfftn(x, dim=dims)
        kept = [min(m, n // 2) for m, n in zip(self.modes[:-1], grid[:-1], strict=True)]
        kept.append(min(self.modes[-1], grid[-1] // 2 + 1))
        out = torch.zeros(x.shape[0], self.weights[0].shape[-1], *spectrum.shape[2:], dtype=spectrum.dtype, device=x.device)
        to_modes = (*range(2, d + 2), 0, 1)  # (batch, channel, *modes) -> (*modes, batch, channel)
        from_modes = (d, d + 1, *range(d))
        for block, signs in zip(self.weights, product((1, -1), repeat=d - 1), strict=True):
            signs = (*signs, 1)
            corner = tuple(slice(0, k) if sign > 0 else slice(-k, None) for k, sign in zip(kept, signs, strict=True))
            index = (slice(None), slice(None), *corner)
            modes_first = spectrum[index].permute(to_modes)  # (*kept, batch, in)
            # a grid too coarse for the modes cuts the corner: zero-pad the (small) spectrum to the
            # block's modes rather than copy the cut block out of the weights
            pads = [0, 0, 0, 0]
            for m, k, sign in zip(reversed(self.modes), reversed(kept), reversed(signs), strict=True):
                pads += [m - k, 0] if sign < 0 else [0, m - k]
            if any(pads):
                modes_first = nn.functional.pad(modes_first, pads)
            product_ = torch.matmul(modes_first, block.to(spectrum.dtype))[corner]
            out[index] = product_.permute(from_modes)
        return torch.fft.irfftn(out, s=grid, dim=dims)


def mode_major(weight: torch.Tensor) -> torch.Tensor:
    """A spectral weight block ``(in, out, *modes)`` (the original code's layout) as ``(*modes, in, out)``."""
    return weight.movedim((0, 1), (-2, -1)).contiguous()


class FNO(nn.Module):
    """Fourier neural operator on a ``d``-dimensional grid (``d = len(modes)``).

    Parameters
    ----------
    in_channels, out_channels
        Channels of the input function ``a`` and the output ``u`` (channels last).
    modes
        Modes per corner and axis (an int for every axis needs ``dim``).
    width, n_layers, projection, activation
        Hidden channels, Fourier layers (4), projection width (128), ``"gelu"``.
    periodic
        Per axis; non-periodic axes are zero-padded by ``padding`` (fraction of the axis).
    dim
        Number of grid axes when ``modes`` is an int.
    dtype
        ``torch.float32`` or ``torch.float64`` (the spectral weights get the matching complex
        type; do not convert with ``.to(dtype)``, which drops imaginary parts).

    ``forward(a)`` takes ``(batch, *grid, in_channels)`` and returns ``(batch, *grid, out_channels)``;
    the grid coordinates (in [0, 1] along each axis) are appended to the input, as in the paper.
    """

    def __init__(self, in_channels: int, out_channels: int, modes: int | Sequence[int], width: int = 32,
                 n_layers: int = 4, projection: int = 128, activation: str = "gelu",
                 periodic: bool | Sequence[bool] = True, padding: float = 0.125, dim: int | None = None,
                 dtype: torch.dtype = torch.float32) -> None:
        super().__init__()
        if isinstance(modes, int):
            if dim is None:
                raise ValueError("give dim when modes is an int (or one mode count per axis)")
            modes = (modes,) * dim
        self.dim = len(modes)
        if self.dim not in (1, 2, 3):
            raise ValueError(f"FNO supports 1, 2 or 3 grid axes, got {self.dim}")
        if activation not in _ACTIVATIONS:
            raise ValueError(f"unknown activation {activation!r}; use one of {sorted(_ACTIVATIONS)}")
        periodic = (periodic,) * self.dim if isinstance(periodic, bool) else tuple(bool(p) for p in periodic)
        if len(periodic) != self.dim:
            raise ValueError(f"periodic needs {self.dim} entries, got {len(periodic)}")
        if not (0 <= padding < 1):
            raise ValueError(f"padding must be a fraction in [0, 1), got {padding}")
        self.periodic, self.padding = periodic, float(padding)
        if dtype not in (torch.float32, torch.float64):
            raise ValueError(f"dtype must be torch.float32 or torch.float64, got {dtype}")
        self.lift = nn.Linear(in_channels + self.dim, width, dtype=dtype)
        self.spectral = nn.ModuleList(SpectralConv(width, width, modes, dtype) for _ in range(n_layers))
        self.pointwise = nn.ModuleList(nn.Linear(width, width, dtype=dtype) for _ in range(n_layers))
        self.activation = _ACTIVATIONS[activation]()
        self.project = nn.Sequential(nn.Linear(width, projection, dtype=dtype), _ACTIVATIONS[activation](),
                                     nn.Linear(projection, out_channels, dtype=dtype))
        self.in_channels, self.out_channels = in_channels, out_channels

    def grid(self, shape: Sequence[int], dtype: torch.dtype, device: torch.device) -> torch.Tensor:
        """Coordinates ``(*shape, dim)`` in [0, 1]: ``j/n`` on periodic axes, ``j/(n-1)`` otherwise."""
        axes = [torch.arange(n, dtype=dtype, device=device) / (n if p else max(n - 1, 1))
                for n, p in zip(shape, self.periodic, strict=True)]
        return torch.stack(torch.meshgrid(*axes, indexing="ij"), dim=-1)

    def forward(self, a: torch.Tensor) -> torch.Tensor:
        if a.dim() != self.dim + 2 or a.shape[-1] != self.in_channels:
            raise ValueError(f"input must have shape (batch, *grid[{self.dim}], {self.in_channels}), got {tuple(a.shape)}")
        shape = a.shape[1:-1]
        coordinates = self.grid(shape, a.dtype, a.device).expand(a.shape[0], *shape, self.dim)
        v = self.lift(torch.cat([a, coordinates], dim=-1)).movedim(-1, 1)  # (b, width, *grid)
        pads = [0 if p else math.ceil(self.padding * n) for n, p in zip(shape, self.periodic, strict=True)]
        if any(pads):
            v = nn.functional.pad(v, [x for pad in reversed(pads) for x in (0, pad)])
        for k, (spectral, pointwise) in enumerate(zip(self.spectral, self.pointwise, strict=True)):
            v = spectral(v) + pointwise(v.movedim(1, -1)).movedim(-1, 1)
            if k < len(self.spectral) - 1:
                v = self.activation(v)
        if any(pads):
            v = v[(slice(None), slice(None), *(slice(0, n) for n in shape))]
        return self.project(v.movedim(1, -1))


def FNO1d(in_channels: int, out_channels: int, modes: int = 16, width: int = 64, **options) -> FNO:
    """1D FNO; defaults of the paper's Burgers experiment (modes 16, width 64)."""
    return FNO(in_channels, out_channels, (modes,), width, **options)


def FNO2d(in_channels: int, out_channels: int, modes: int = 12, width: int = 32, **options) -> FNO:
    """2D FNO; defaults of the paper's Darcy experiment (modes 12, width 32)."""
    return FNO(in_channels, out_channels, (modes, modes), width, **options)


def FNO3d(in_channels: int, out_channels: int, modes: int = 8, width: int = 20, **options) -> FNO:
    """(2+1)D FNO over space and time; defaults of the paper's NS experiment (modes 8, width 20)."""
    return FNO(in_channels, out_channels, (modes, modes, modes), width, **options)
