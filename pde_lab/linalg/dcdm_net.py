r"""The DCDM network, its Ritz-vector training data, and its unsupervised training.

**Network.** A fully convolutional 2D/3D net :math:`f_\theta` mapping a residual to an
approximation of :math:`A^{-1}r` up to scale (Kaneda et al., ICML 2023): a linear
3×3(×3) convolution lifts to ``channels`` channels, residual blocks of ReLU convolutions
(:math:`h \leftarrow h + \mathrm{ReLU}(\mathrm{conv}(h))`) smooth, ``AvgPool(2)`` goes one
level down, the same blocks recurse, nearest upsampling adds the coarse result back as a
skip, residual blocks again, and a 1×1 convolution (the paper's ``Dense(1)``) returns one
channel. The paper uses one pooling level and a network per grid size; here the level
blocks are shared across levels and, by default (``levels=None``), the recursion goes down
until the grid is ``coarsest`` cells wide, so the receptive field grows with the grid as in
a multigrid V-cycle. Such a network must be trained on several grid sizes at once
(``TrainingSettings(grid=(8, 16, 32))``, one Adam step per size in turn): trained at one
size it does not generalise to recursion depths it never saw (DCDM stagnates at 32² with a
network trained at 16² alone), while trained on 8², 16² and 32² it takes 7 / 8 / 8 / 9
iterations at 32² / 64² / 128² / 256² (seed 0; seeds 2 and 3 reach 9 and 11 at 256², seed 1
stalls there; trained on 8²…64² for 2000 steps: 6 / 6 / 6 / 7). Measured 2026-11-23;
``pde-lab bench dcdm`` for 3D, where the growth also depends on the seed.
A fixed depth (``levels=3``) trained at one size also works on larger grids, but its
iteration count grows with the grid (its receptive field does not).

**Data.** Ritz vectors of the training matrix: :math:`m` Lanczos steps (re-normalised, no
re-orthogonalisation) from :math:`A\,\xi`, :math:`\xi \sim N(0, I)`, give :math:`AW^T = W^T T`
with :math:`T` tridiagonal; :math:`T = V\Theta V^T` gives Ritz vectors
:math:`y_i = W^T v_i`, sorted by Ritz value, dropping values below ``1e-8`` (null space).
A training right-hand side is :math:`b = \sum_i c_i y_i / \|\cdot\|`,
:math:`c_i \sim N(0,1)`, the lowest :math:`m/2 + \theta` coefficients ×9 (low frequencies
dominate fluid pressure right-hand sides).

**Loss.** Scale invariant, with the optimal step along the network's direction:

.. math::

    L(\theta) = \frac1B \sum_i \Big\| b_i - \frac{q_i^T b_i}{q_i^T A q_i} A q_i \Big\|^2,
    \qquad q_i = f_\theta(b_i).

Paper settings: 64³ or 128³ training grid, :math:`m = 10\,000`, θ = 500, 20 000 RHS,
Adam (lr 1e-4), batch 10, up to 1000 epochs on a GPU. The defaults of
:class:`TrainingSettings` are a CPU-feasible reduction (smaller grids, fewer Lanczos steps,
fresh right-hand sides every step instead of a fixed set, a thousand steps); with several
training grids each has its own Ritz vectors and the steps cycle through them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional

__all__ = ["DCDMNet", "TrainingSettings", "as_direction", "box_operators", "ritz_vectors", "scale_invariant_loss",
           "train_network", "training_rhs"]


class DCDMNet(nn.Module):
    """Fully convolutional residual U-Net of :math:`d = 2, 3` dimensions, any grid size.

    Input and output ``(batch, 1, *grid)``.

    Parameters
    ----------
    dim
        2 or 3.
    channels
        Filters per convolution (16 in the paper).
    blocks
        Residual ReLU convolutions before and after the coarse level (each side).
    levels
        Pooling levels (fewer where the grid is too small); ``None``: down to ``coarsest``
        cells along the shortest axis (train on several grid sizes, see the module docstring).
    residual_scale
        Initial scale of the residual branches' weights.
    padding
        How the 3×3 convolutions see beyond the walls: ``"zeros"`` for Dirichlet systems,
        ``"replicate"`` for all-Neumann ones (a closed container's pressure). Trained on
        Neumann boxes, a zero-padded network stalls at 64² (relative residual 2e-2 after 200
        iterations); a replicating one takes 4–7 iterations from 16² to 64² (2026-11-23).
    """

    def __init__(self, dim: int, channels: int = 16, blocks: int = 2, levels: int | None = None,
                 coarsest: int = 2, residual_scale: float = 0.1, padding: str = "zeros") -> None:
        super().__init__()
        if dim not in (2, 3):
            raise ValueError(f"DCDMNet is 2D or 3D, got dim={dim}")
        if padding not in ("zeros", "replicate"):
            raise ValueError(f"padding must be 'zeros' (Dirichlet walls) or 'replicate' (Neumann walls), got {padding!r}")
        conv = nn.Conv2d if dim == 2 else nn.Conv3d
        self.dim, self.levels, self.coarsest = dim, levels, coarsest
        self.lift = conv(1, channels, 3, padding=1, bias=False, padding_mode=padding)
        self.pre = nn.ModuleList(conv(channels, channels, 3, padding=1, bias=False, padding_mode=padding)
                                 for _ in range(blocks))
        self.coarse = nn.ModuleList(conv(channels, channels, 3, padding=1, bias=False, padding_mode=padding)
                                    for _ in range(blocks))
        self.post = nn.ModuleList(conv(channels, channels, 3, padding=1, bias=False, padding_mode=padding)
                                  for _ in range(blocks))
        self.project = conv(channels, 1, 1, bias=False)
        with torch.no_grad():  # residual branches start small: the net starts near a linear local filter
            for conv in (*self.pre, *self.coarse, *self.post):
                conv.weight.mul_(residual_scale)
        self.config = {"dim": dim, "channels": channels, "blocks": blocks, "levels": levels, "coarsest": coarsest,
                       "padding": padding}

    def forward(self, r: torch.Tensor) -> torch.Tensor:
        if r.dim() != self.dim + 2 or r.shape[1] != 1:
            raise ValueError(f"DCDMNet expects (batch, 1, *grid) with {self.dim} grid axes, got {tuple(r.shape)}")
        return self.project(self._level(self.lift(r), 0))

    def _level(self, h: torch.Tensor, depth: int) -> torch.Tensor:
        for conv in self.pre:
            h = h + functional.relu(conv(h))
        deeper = depth < self.levels if self.levels is not None else True
        if deeper and min(h.shape[2:]) >= 2 * self.coarsest:
            pool = functional.avg_pool2d if self.dim == 2 else functional.avg_pool3d
            low = pool(h, 2, ceil_mode=True)
            for conv in self.coarse:
                low = low + functional.relu(conv(low))
            low = self._level(low, depth + 1)
            h = h + functional.interpolate(low, size=h.shape[2:], mode="nearest")
        for conv in self.post:
            h = h + functional.relu(conv(h))
        return h


def as_direction(network: nn.Module, operator):
    """``r -> f(r)`` for :func:`pde_lab.linalg.krylov.dcdm`: grid-shaped ``r`` in any float dtype,
    the network run in its own dtype without gradients, zero in solid cells, ``r``'s dtype out."""
    parameter = next(network.parameters())

    def direction(r: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            q = network(r.to(parameter.dtype)[None, None])[0, 0]
        return q.to(r.dtype) * operator.fluid.to(r.dtype)

    return direction


@dataclass(frozen=True)
class TrainingSettings:
    """How the network is trained (see the module docstring for the paper's values).

    ``grid`` cells per axis of the training box (all faces Dirichlet, no obstacle), or a
    tuple of sizes trained in turn (see :func:`box_operators`); ``lanczos_steps`` :math:`m`
    per training grid, ``low_mode_extra`` θ, Adam ``steps`` (in all) with ``batch``
    right-hand sides each and ``learning_rate``.
    """

    grid: int | tuple[int, ...] = (8, 16, 32)
    lanczos_steps: int = 300
    low_mode_extra: int = 15
    steps: int = 1000
    batch: int = 8
    learning_rate: float = 1e-3


def ritz_vectors(operator, shape: tuple[int, ...], steps: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Ritz values (ascending) and vectors ``(k, *shape)`` of ``operator`` after Lanczos ``steps``.

    Lanczos in float64 on the device of ``operator``; vectors returned in float32.
    """
    from scipy.linalg import eigh_tridiagonal

    generator = torch.Generator(device=operator.device).manual_seed(seed)
    start = operator(torch.randn(shape, generator=generator, device=operator.device, dtype=torch.float64)
                     * operator.fluid.to(torch.float64))
    q, q_previous, beta = start / torch.linalg.vector_norm(start), torch.zeros_like(start), 0.0
    basis = torch.empty((steps, *shape), dtype=torch.float64, device=operator.device)
    alphas, betas = [], []
    for j in range(steps):
        basis[j] = q
        w = operator(q) - beta * q_previous
        alpha = float(torch.sum(w * q))
        w = w - alpha * q
        beta = float(torch.linalg.vector_norm(w))
        alphas.append(alpha)
        if beta < 1e-12 or j == steps - 1:
            break
        betas.append(beta)
        q_previous, q = q, w / beta
    k = len(alphas)
    values, vectors = eigh_tridiagonal(np.array(alphas), np.array(betas[:k - 1]))
    keep = values > 1e-8
    vectors = torch.as_tensor(vectors[:, keep], device=operator.device, dtype=torch.float64)
    ritz = torch.tensordot(vectors.T, basis[:k], dims=1)
    return torch.as_tensor(values[keep]), ritz.to(torch.float32)


def training_rhs(ritz: torch.Tensor, count: int, low_mode_extra: int, generator: torch.Generator) -> torch.Tensor:
    """``count`` normalised right-hand sides ``(count, *grid)`` from Ritz vectors (low modes ×9)."""
    m = ritz.shape[0]
    coefficients = torch.randn((count, m), generator=generator, device=ritz.device, dtype=ritz.dtype)
    coefficients[:, : min(m, m // 2 + low_mode_extra)] *= 9.0
    b = torch.tensordot(coefficients, ritz, dims=1)
    norms = torch.linalg.vector_norm(b.reshape(count, -1), dim=1)
    return b / norms.reshape(count, *([1] * (b.dim() - 1)))


def scale_invariant_loss(network: nn.Module, operator, b: torch.Tensor) -> torch.Tensor:
    """:math:`\\frac1B\\sum_i \\|b_i - (q_i^Tb_i / q_i^TAq_i)\\,Aq_i\\|^2` with :math:`q_i = f(b_i)`."""
    q = network(b.unsqueeze(1)).squeeze(1) * operator.fluid
    aq = operator(q)
    axes = tuple(range(1, b.dim()))
    step = (q * b).sum(axes, keepdim=True) / (q * aq).sum(axes, keepdim=True)
    return ((b - step * aq) ** 2).sum(axes).mean()


def box_operators(dim: int, settings: TrainingSettings, device: Any = "cpu", dtype: Any = torch.float32,
                  dirichlet: bool = True) -> list:
    """The box operators of ``settings.grid`` (one size or several) in ``dim`` dimensions, all
    faces Dirichlet, or all Neumann (``dirichlet=False``: a closed container's pressure)."""
    from pde_lab.linalg.poisson_fd import PoissonGrid

    sizes = (settings.grid,) if isinstance(settings.grid, int) else tuple(settings.grid)
    if not sizes or any(not isinstance(n, int) or n < 2 for n in sizes):
        raise ValueError(f"TrainingSettings.grid must be cells per axis >= 2 (an int or a tuple), got {settings.grid!r}")
    return [PoissonGrid((n,) * dim, dirichlet=dirichlet).operator(device, dtype) for n in sizes]


def train_network(network: DCDMNet, operator, settings: TrainingSettings, seed: int = 0,
                  progress: bool | None = None, checkpoint: Any = None,
                  fingerprint: dict[str, Any] | None = None) -> dict[str, Any]:
    """Train ``network`` in place on ``operator`` (a :class:`GridOperator`, float32 on its device),
    or on a sequence of them, one Adam step each in turn (see :func:`box_operators`).

    The loop is :func:`pde_lab.training.train` (Adam only): a progress bar, a non-finite loss
    stops training with the last finite parameters kept, and with ``checkpoint`` (a
    :class:`~pde_lab.checkpoint.Checkpointing`) the state, the right-hand sides' random
    stream included, is saved and a resumed run continues bit for bit.

    Returns the history: ``loss`` per step (on that step's operator), ``lanczos_s`` and
    ``train_s`` wall times, ``ritz_vectors`` per operator, and the training loop's
    ``status`` and ``message``.
    """
    import time

    from pde_lab.training import train

    operators = list(operator) if isinstance(operator, (list, tuple)) else [operator]
    if not operators:
        raise ValueError("train_network needs at least one operator")
    start = time.perf_counter()
    ritz = [ritz_vectors(type(op)(op.grid, op.device, torch.float64), op.grid.shape, settings.lanczos_steps, seed)[1]
            for op in operators]
    lanczos = time.perf_counter() - start
    generator = torch.Generator(device=operators[0].device).manual_seed(seed + 1)
    step = [0]

    def loss_terms() -> dict[str, torch.Tensor]:  # fresh right-hand sides on step k's operator
        k = step[0] % len(operators)
        b = training_rhs(ritz[k], settings.batch, settings.low_mode_extra, generator)
        return {"scale_invariant": scale_invariant_loss(network, operators[k], b)}

    result = train(list(network.parameters()), loss_terms, adam_steps=settings.steps, lbfgs_steps=0,
                   learning_rate=settings.learning_rate, progress=progress, description="dcdm training",
                   before_step=lambda k: step.__setitem__(0, k), generators=[generator], checkpoint=checkpoint,
                   fingerprint=fingerprint)
    return {"loss": result.history["loss"], "lanczos_s": lanczos, "train_s": time.perf_counter() - start - lanczos,
            "ritz_vectors": [int(r.shape[0]) for r in ritz], "status": result.status, "message": result.message}
