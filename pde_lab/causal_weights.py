r"""Causal residual weighting (Wang, Sankaran & Perdikaris 2022, arXiv 2203.07404, sec. 3).

Collocation points are sorted into :math:`M` time chunks :math:`t_1 < \dots < t_M`, with
:math:`\mathcal L_i` the mean square PDE residual of chunk :math:`i`. The causal loss is

.. math::

    \mathcal L_r = \frac1M \sum_{i=1}^{M} w_i \mathcal L_i, \qquad
    w_i = \exp\Big(-\varepsilon \big[\lambda_{ic}\mathcal L_{ic}\big] - \varepsilon \sum_{k<i} \mathcal L_k\Big),

with the weights held constant (detached from the graph): they *gate* each chunk until the
earlier ones are resolved, they are not themselves minimised. The bracketed initial-condition
term is the KS/NS variant of the reference code (``initial_in_exponent``); without it
:math:`w_1 = 1`. :class:`EpsilonSchedule` raises :math:`\varepsilon` through a list once
:math:`\min_i w_i > \delta` (:math:`\delta = 0.99`): then every chunk is resolved at that
causality strength. :func:`plot_causal_weights` draws the weights over time per
:math:`\varepsilon`, the paper's convergence diagnostic.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from os import PathLike
from typing import Any

import torch

__all__ = ["EpsilonSchedule", "causal_loss", "causal_weights", "chunk_losses", "plot_causal_weights"]


def chunk_losses(residuals: Sequence[torch.Tensor], chunks: int, field_weights: Sequence[float] | None = None) -> torch.Tensor:
    r""":math:`\mathcal L_i`, ``(chunks,)``: mean over each chunk of :math:`\sum_f c_f r_f^2`.

    Each residual is ``(chunks * n,)`` ordered chunk by chunk (time-major), as the solver
    builds its points; ``field_weights`` :math:`c_f` default to 1.
    """
    weights = [1.0] * len(residuals) if field_weights is None else list(field_weights)
    if len(weights) != len(residuals):
        raise ValueError(f"{len(weights)} field weights for {len(residuals)} residuals")
    return sum(c * r.reshape(chunks, -1).square().mean(dim=1) for c, r in zip(weights, residuals, strict=True))


def causal_weights(losses: torch.Tensor, epsilon: float, initial: torch.Tensor | float = 0.0) -> torch.Tensor:
    r""":math:`w_i = \exp(-\varepsilon(\text{initial} + \sum_{k<i}\mathcal L_k))`, detached, ``(M,)``.

    ``initial`` is :math:`\lambda_{ic}\mathcal L_{ic}` for the variant with the initial loss in
    the exponent, else 0. The weights are non-increasing in :math:`i` since
    :math:`\mathcal L_k \ge 0`.
    """
    losses = losses.detach()
    earlier = torch.cumsum(losses, dim=0) - losses  # strictly earlier chunks: sum_{k<i} L_k
    initial = initial.detach() if isinstance(initial, torch.Tensor) else torch.as_tensor(initial, dtype=losses.dtype, device=losses.device)
    return torch.exp(-epsilon * (initial + earlier))


def causal_loss(losses: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    r""":math:`\frac1M\sum_i w_i \mathcal L_i`; gradients flow through :math:`\mathcal L_i` only."""
    return (weights.detach() * losses).mean()


@dataclass
class EpsilonSchedule:
    r"""The causality parameter :math:`\varepsilon` stepping through ``epsilons``.

    :meth:`update` is called at each check with the current weights; it advances when
    :math:`\min_i w_i >` ``tolerance`` and reports whether the schedule is finished (the last
    :math:`\varepsilon` resolved).
    """

    epsilons: Sequence[float]
    tolerance: float = 0.99
    index: int = 0

    def __post_init__(self) -> None:
        values = list(self.epsilons)
        if not values or any(not (math.isfinite(e) and e >= 0) for e in values):
            raise ValueError(f"epsilons must be a non-empty list of finite non-negative numbers, got {self.epsilons!r}")
        if any(b < a for a, b in itertools.pairwise(values)):
            raise ValueError(f"epsilons must be non-decreasing, got {values}")
        if not 0 < self.tolerance < 1:
            raise ValueError(f"tolerance must lie in (0, 1), got {self.tolerance!r}")

    @property
    def epsilon(self) -> float:
        return float(self.epsilons[min(self.index, len(self.epsilons) - 1)])

    @property
    def finished(self) -> bool:
        return self.index >= len(self.epsilons)

    def resolved(self, weights: torch.Tensor) -> bool:
        return float(weights.min()) > self.tolerance

    def update(self, weights: torch.Tensor) -> bool:
        """Advance past the current :math:`\\varepsilon` if resolved; return whether one advanced."""
        if self.finished or not self.resolved(weights):
            return False
        self.index += 1
        return True

    def give_up(self) -> None:
        """Move on without resolution (the per-:math:`\\varepsilon` step budget ran out)."""
        self.index += 1


def plot_causal_weights(history: Mapping[str, list] | Any, path: str | PathLike | None = None,
                        max_curves: int = 8):
    """Causal weights over time, one panel per :math:`\\varepsilon`, one curve per check.

    ``history`` is a :class:`~pde_lab.solution.Solution` of the causal solver or its
    ``history`` (keys ``weights``, ``weights_times``, ``weights_epsilon``, ``weights_step``,
    ``weights_window``). Later checks are drawn darker; windows share the time axis. Returns
    the matplotlib figure; writes it to ``path`` when given.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    history = getattr(history, "history", history)
    if "weights" not in history or not history["weights"]:
        raise ValueError("no causal weights recorded: pass the history of a solve with solver='causal'")
    epsilons = sorted(set(history["weights_epsilon"]))
    figure, axes = plt.subplots(1, len(epsilons), figsize=(3.2 * len(epsilons), 2.8), sharey=True, squeeze=False)
    for axis, epsilon in zip(axes[0], epsilons, strict=True):
        records = [i for i, e in enumerate(history["weights_epsilon"]) if e == epsilon]
        for window in sorted({history["weights_window"][i] for i in records}):
            mine = [i for i in records if history["weights_window"][i] == window]
            mine = mine[:: max(1, math.ceil(len(mine) / max_curves))] + ([mine[-1]] if mine else [])
            for rank, i in enumerate(dict.fromkeys(mine)):
                shade = 0.25 + 0.75 * (rank + 1) / len(dict.fromkeys(mine))
                axis.plot(history["weights_times"][i], history["weights"][i], color=plt.cm.viridis(1 - shade),
                          lw=1.2, label=f"step {history['weights_step'][i]}" if window == 0 else None)
        axis.set_title(f"ε = {epsilon:g}")
        axis.set_xlabel("t")
        axis.set_ylim(-0.05, 1.05)
    axes[0][0].set_ylabel("causal weight $w_i$")
    axes[0][-1].legend(fontsize=6, loc="lower left")
    figure.tight_layout()
    if path is not None:
        from pde_lab.io import write_atomically

        write_atomically(path, lambda target: figure.savefig(target, dpi=120))
    return figure
