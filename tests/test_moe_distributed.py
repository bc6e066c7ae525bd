"""hc-moe on torch.distributed: 2 gloo ranks, each solving half the experts, follow the
1-process run (loss curve and trained parameters), and too few experts are refused."""

import json

import numpy as np
import pytest
import torch
import torch.multiprocessing as mp

from pde_lab import solve
from problems.diffusion_sorption import diffusion_sorption

SETTINGS = dict(grid=(17, 11), basis=6, constraint_points=20, batch=2, steps=4, train_instances=4, width=12,
                depth=2, sensors=2, experts=4, progress=False)
FNO = dict(backbone="fno", width=8, depth=2, modes=4)
MLP = dict(backbone="mlp")


def _flat(parameter):
    value = parameter.detach()
    return (torch.view_as_real(value) if value.is_complex() else value).reshape(-1)


def _family(seed):
    return diffusion_sorption(seed=1000 + seed)


def _worker(rank, world, init_file, result_file, options):
    torch.distributed.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world)
    try:
        try:
            solution = solve(diffusion_sorption(seed=5), "hc-moe", family=_family, **options)
        except ValueError as error:
            if rank == 0:
                with open(result_file, "w") as handle:
                    json.dump({"error": str(error)}, handle)
            return
        if rank == 0:
            with open(result_file, "w") as handle:
                json.dump({"loss": solution.history["loss"], "world": solution.stats["world_size"],
                           "parameters": [_flat(p).tolist() for p in solution.model.network.parameters()],
                           "held_out": solution.model.solution(diffusion_sorption(seed=2)).error_vs()}, handle)
    finally:
        torch.distributed.destroy_process_group()


def _two_ranks(tmp_path, options):
    result = tmp_path / "result.json"
    (tmp_path / "init").unlink(missing_ok=True)
    mp.spawn(_worker, args=(2, str(tmp_path / "init"), str(result), options), nprocs=2, join=True)
    return json.loads(result.read_text())


@pytest.mark.parametrize("backbone", [MLP, FNO], ids=["mlp", "fno"])
def test_two_ranks_with_two_experts_each_follow_one_process(tmp_path, backbone):
    options = {**SETTINGS, **backbone}
    single = solve(diffusion_sorption(seed=5), "hc-moe", family=_family, **options)
    double = _two_ranks(tmp_path, options)
    assert double["world"] == 2 and single.stats["world_size"] == 1
    assert len(set(single.history["loss"])) > 1  # the loss moves: the comparison is not of constants
    np.testing.assert_allclose(double["loss"], single.history["loss"], rtol=1e-8)
    for mine, theirs in zip(single.model.network.parameters(), double["parameters"], strict=True):
        np.testing.assert_allclose(_flat(mine).numpy(), theirs, rtol=1e-6, atol=1e-10)
    held_out = single.model.solution(diffusion_sorption(seed=2)).error_vs()
    assert double["held_out"] == pytest.approx(held_out, rel=1e-6)


def test_fewer_experts_than_ranks_is_refused(tmp_path):
    result = _two_ranks(tmp_path, {**SETTINGS, "mode": "global", "steps": 1})
    assert "2 ranks need at least 2 experts" in result["error"]


def _sum_worker(rank, world, init_file, result_file):
    from pde_lab.distributed import global_sum

    torch.distributed.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world)
    try:
        theta = torch.tensor(1.5, dtype=torch.float64, requires_grad=True)  # a shared parameter
        loss = global_sum((rank + 1) * theta**2).sqrt()  # sqrt(Σ_r (r + 1) θ²) = sqrt(3) θ
        loss.backward()
        gradient = theta.grad.clone()
        torch.distributed.all_reduce(gradient)
        gradient /= world  # what DDP does with the ranks' gradients
        if rank == 0:
            with open(result_file, "w") as handle:
                json.dump({"loss": loss.item(), "gradient": gradient.item()}, handle)
    finally:
        torch.distributed.destroy_process_group()


def test_global_sum_has_the_global_value_and_after_ddp_averaging_the_global_gradient(tmp_path):
    result = tmp_path / "result.json"
    mp.spawn(_sum_worker, args=(2, str(tmp_path / "init"), str(result)), nprocs=2, join=True)
    out = json.loads(result.read_text())
    assert out["loss"] == pytest.approx(np.sqrt(3) * 1.5, rel=1e-14)
    assert out["gradient"] == pytest.approx(np.sqrt(3), rel=1e-14)
