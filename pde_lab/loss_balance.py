r"""Gradient-norm loss balancing (Wang, Teng & Perdikaris, SIAM J. Sci. Comput. 43, 2021; the
``grad_norm`` weighting of the jaxpi re-implementation, Wang et al. 2023).

A physics-informed loss :math:`\sum_k \lambda_k \mathcal L_k` (PDE residual, boundary,
initial condition) is hard to weigh by hand: the terms' gradients can differ by orders of
magnitude, and the largest one dictates where the optimiser goes (the "gradient pathology"
behind many PINNs that train but are wrong). Every ``every`` steps the balance sets

.. math::

    \hat\lambda_k = \frac{\overline{g}}{g_k}, \qquad g_k = \|\nabla_\theta \mathcal L_k\|_2,
    \qquad \overline{g} = \frac1K \sum_j g_j,

so that each weighted term pulls with the same gradient norm, and moves the weights there
with momentum, :math:`\lambda_k \leftarrow \alpha\lambda_k + (1-\alpha)\hat\lambda_k`
(:math:`\alpha = 0.9`; the weights start at 1). Between updates the weights are constant
(detached); an update costs one extra backward pass per term. Under torch.distributed the
gradients are averaged over ranks before their norms are taken, so every rank holds the
same weights.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pde_lab.validation import check_int, check_non_negative

if TYPE_CHECKING:  # torch is imported where it is used, so importing a solver stays light
    import torch

__all__ = ["GradNormBalance", "check_loss_balance", "make_balance"]

KINDS = (None, "grad-norm")


@dataclass
class GradNormBalance:
    """Loss weights :math:`\\lambda_k` that equalise the terms' gradient norms (module docstring).

    Parameters
    ----------
    every
        Update the weights every this many optimiser steps (at steps 0, every, 2·every, ...).
    momentum
        :math:`\\alpha` in :math:`\\lambda \\leftarrow \\alpha\\lambda + (1-\\alpha)\\hat\\lambda`;
        0 sets the weights to :math:`\\hat\\lambda` at each update.
    """

    every: int = 100
    momentum: float = 0.9
    weights: dict[str, float] = field(default_factory=dict)
    updates: int = 0

    def __post_init__(self) -> None:
        check_int("every", self.every)
        if check_non_negative("momentum", self.momentum) >= 1:
            raise ValueError(f"momentum must be a number in [0, 1), got {self.momentum!r}")

    def due(self, step: int) -> bool:
        return step % self.every == 0

    def update(self, terms: Mapping[str, torch.Tensor], parameters: Sequence[torch.Tensor]) -> dict[str, float]:
        """Move the weights towards :math:`\\hat\\lambda` from ``terms``' gradients (their graphs are kept)."""
        norms = {name: _gradient_norm(term, parameters) for name, term in terms.items()}
        usable = {name: norm for name, norm in norms.items() if math.isfinite(norm) and norm > 0}
        if not usable:
            return dict(self.weights)
        mean = sum(usable.values()) / len(usable)
        for name, norm in usable.items():
            target = mean / norm
            self.weights[name] = self.momentum * self.weights.get(name, 1.0) + (1 - self.momentum) * target
        self.updates += 1
        return dict(self.weights)

    def weight(self, name: str) -> float:
        return self.weights.get(name, 1.0)

    def record(self, history: dict[str, list], names: Iterable[str]) -> None:
        """Append each term's current weight to ``history["balance_<term>"]``."""
        for name in names:
            history.setdefault(f"balance_{name}", []).append(self.weight(name))

    def state_dict(self) -> dict[str, Any]:
        return {"weights": dict(self.weights), "updates": self.updates}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.weights, self.updates = dict(state["weights"]), int(state["updates"])


def check_loss_balance(kind: str | None, every: int) -> None:
    """``ValueError`` unless ``kind`` is ``None`` or ``"grad-norm"`` and ``every`` a positive int."""
    if kind not in KINDS:
        raise ValueError(f"loss_balance must be None or 'grad-norm', got {kind!r}")
    check_int("balance_every", every)


def make_balance(kind: str | None, every: int) -> GradNormBalance | None:
    """The balance a solver's ``loss_balance`` and ``balance_every`` ask for (``None``: fixed weights)."""
    check_loss_balance(kind, every)
    return None if kind is None else GradNormBalance(every)


def _gradient_norm(term: torch.Tensor, parameters: Sequence[torch.Tensor]) -> float:
    """:math:`\\|\\nabla_\\theta \\text{term}\\|_2`, of the rank-averaged gradient under torch.distributed."""
    import torch

    from pde_lab.distributed import is_distributed

    if not term.requires_grad:
        return 0.0
    grads = torch.autograd.grad(term, list(parameters), retain_graph=True, allow_unused=True)
    flat = torch.cat([(g if g is not None else torch.zeros_like(p)).reshape(-1) for g, p in zip(grads, parameters,
                                                                                               strict=True)])
    if is_distributed():
        torch.distributed.all_reduce(flat)
        flat /= torch.distributed.get_world_size()
    return float(torch.linalg.vector_norm(flat))
