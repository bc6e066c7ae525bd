r"""Data-parallel training over collocation points on ``torch.distributed`` (DDP).

Launch with ``torchrun --nproc_per_node N -m pde_lab.cli solve ...`` or
``pde-lab solve ... --nproc N`` (gloo on CPU, NCCL on GPU; several nodes with torchrun's
``--nnodes``/``--rdzv-endpoint``). Every rank samples the same *global* set of collocation
points from the same seed and keeps every ``world``-th point, so the union of the shards
is exactly the single-process batch. The network is wrapped in
:class:`~torch.nn.parallel.DistributedDataParallel`, which averages gradients across ranks;
each loss term's *value* is averaged too (:func:`global_mean`), so every rank sees the
global loss and L-BFGS's line search takes identical decisions everywhere. With equal
shard sizes the gradient equals the single-process one up to summation order.
"""

from __future__ import annotations

import os
from typing import Any

import torch

__all__ = ["is_distributed", "rank_and_world", "init_from_environment", "shard", "gather", "global_mean", "global_sum", "wrap"]


def is_distributed() -> bool:
    return torch.distributed.is_available() and torch.distributed.is_initialized()


def rank_and_world() -> tuple[int, int]:
    if not is_distributed():
        return 0, 1
    return torch.distributed.get_rank(), torch.distributed.get_world_size()


def init_from_environment() -> bool:
    """Initialise the process group when launched by torchrun (``WORLD_SIZE`` > 1)."""
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1 or is_distributed():
        return is_distributed()
    use_cuda = torch.cuda.is_available()
    if use_cuda:
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    torch.distributed.init_process_group(backend="nccl" if use_cuda else "gloo")
    return True


def shard(collocation: Any, rank: int, world: int) -> Any:
    """This rank's every-``world``-th slice of each point set of a :class:`Collocation`."""
    from pde_lab.collocation import Collocation

    if world == 1:
        return collocation

    def part(tensor: torch.Tensor | None) -> torch.Tensor | None:
        return None if tensor is None else tensor[rank::world]

    return Collocation(
        interior=part(collocation.interior),
        boundary=[(c, part(points), part(normals), part(target)) for c, points, normals, target in collocation.boundary],
        periodic=[(c, part(low), part(high)) for c, low, high in collocation.periodic],
        initial=None if collocation.initial is None else tuple(part(t) for t in collocation.initial),
        on_boundary=part(collocation.on_boundary),
    )


def global_mean(term: torch.Tensor) -> torch.Tensor:
    """A term whose value is the mean over ranks and whose gradient is the local one.

    DDP then averages the local gradients, which makes the gradient of the global mean.
    """
    if not is_distributed():
        return term
    value = term.detach().clone()
    torch.distributed.all_reduce(value)
    value /= torch.distributed.get_world_size()
    return term + (value - term.detach())


def global_sum(term: torch.Tensor) -> torch.Tensor:
    """A term whose value is the sum over ranks and whose gradient is ``world`` × the local one.

    For losses that are functions of sums split across ranks (hc-moe gives each rank whole
    experts): DDP's average of the scaled local gradients is then the gradient of the global
    function, ``(1/world) Σ_r world ∂S_r = ∂ Σ_r S_r``.
    """
    if not is_distributed():
        return term
    value = term.detach().clone()
    torch.distributed.all_reduce(value)
    return value + torch.distributed.get_world_size() * (term - term.detach())


class _GatherAll(torch.autograd.Function):
    """All-gather with a backward: each rank's input receives the sum over ranks of the
    gradients with respect to its slice."""

    @staticmethod
    def forward(ctx, tensor: torch.Tensor) -> torch.Tensor:
        parts = [torch.empty_like(tensor) for _ in range(torch.distributed.get_world_size())]
        torch.distributed.all_gather(parts, tensor.contiguous())
        return torch.stack(parts)

    @staticmethod
    def backward(ctx, gradient: torch.Tensor) -> torch.Tensor:
        gradient = gradient.contiguous().clone()
        torch.distributed.all_reduce(gradient)
        return gradient[torch.distributed.get_rank()]


def gather(tensor: torch.Tensor) -> torch.Tensor:
    """``(world, *shape)``: every rank's ``tensor`` (equal shapes), differentiable; ``tensor[None]``
    in one process."""
    if not is_distributed():
        return tensor[None]
    return _GatherAll.apply(tensor)


def wrap(network: torch.nn.Module, device: torch.device) -> torch.nn.Module:
    """DDP around ``network`` when distributed, else the network itself."""
    if not is_distributed():
        return network
    ids = [device.index if device.index is not None else torch.cuda.current_device()] if device.type == "cuda" else None
    return torch.nn.parallel.DistributedDataParallel(network, device_ids=ids)
