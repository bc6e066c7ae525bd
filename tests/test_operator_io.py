"""Saving a trained FNO/PINO and loading it back (`pde_lab.solvers.operator_io`)."""

import numpy as np
import pytest
import torch

from pde_lab import solve
from pde_lab.data import BurgersFamily
from pde_lab.solvers import operator
from pde_lab.solvers.operator import FNO, PINO

FAMILY = BurgersFamily(resolution=16, reference_resolution=64, grf_modes=8, dt=1e-2, n_times=3)
TINY = dict(family=FAMILY, n_train=8, n_test=4, epochs=3, batch_size=4, modes=4, width=8, workers=1,
            progress=False, device="cpu")


@pytest.fixture
def saved(tmp_path):
    """A tiny FNO trained in this process and saved; the process cache emptied afterwards."""
    solver = FNO(**TINY)
    path = solver.save(str(tmp_path / "fno.pt"))
    answers = [solve(FAMILY.problem(100 + k), solver) for k in range(2)]
    trained = solver.train()
    operator._TRAINED.clear()
    yield path, trained, answers
    operator._TRAINED.clear()


def test_a_loaded_operator_answers_exactly_as_the_trained_one_without_training(saved, monkeypatch):
    path, trained, answers = saved
    monkeypatch.setattr(FNO, "_train", lambda self: pytest.fail("loading must not train"))
    state = torch.random.get_rng_state()
    loaded_solver = FNO(**TINY, weights=path, resolution=32)  # another evaluation grid is allowed
    loaded = loaded_solver.train()
    assert torch.equal(state, torch.random.get_rng_state())
    assert loaded.status is trained.status and loaded.message == trained.message
    assert loaded.history == trained.history and loaded.stats["weights"] == path
    assert loaded.stats["test_rel_l2"] == trained.stats["test_rel_l2"]
    for name, tensor in trained.model.state_dict().items():
        assert torch.equal(tensor, loaded.model.state_dict()[name]), name
    for k, answer in enumerate(answers):
        again = solve(FAMILY.problem(100 + k), FNO(**TINY, weights=path))
        points = np.column_stack([np.linspace(0, 1, 7), np.full(7, FAMILY.problem(0).time_span[1])])
        assert np.array_equal(again(points), answer(points))
    assert loaded_solver.train() is loaded  # cached like a trained one


def test_a_file_trained_with_other_settings_is_refused_naming_them(saved):
    path, _, _ = saved
    with pytest.raises(ValueError, match=r"epochs: file has 3, solver has 4"):
        FNO(**{**TINY, "epochs": 4}, weights=path).train()
    with pytest.raises(ValueError, match=r"solver: file has 'fno', solver has 'pino'"):
        PINO(**TINY, weights=path).train()
    other = BurgersFamily(resolution=16, reference_resolution=64, grf_modes=8, dt=1e-2, n_times=3, nu=0.05)
    with pytest.raises(ValueError, match=r"family\.nu: file has 0\.1, solver has 0\.05"):
        FNO(**{**TINY, "family": other}, weights=path).train()


def test_a_format_1_file_with_the_old_spectral_layout_loads_to_the_same_operator(saved, tmp_path):
    """Format 1 stored the spectral blocks as (in, out, *modes); they are moved to (*modes, in, out)."""
    path, trained, answers = saved
    payload = torch.load(path, weights_only=True)
    blocks = [k for k in payload["state"] if ".weights." in k]
    assert blocks and all(payload["state"][k].is_complex() for k in blocks)
    old = {k: v.movedim((-2, -1), (0, 1)).contiguous() if k in blocks else v for k, v in payload["state"].items()}
    assert any(old[k].shape != payload["state"][k].shape for k in blocks)
    torch.save({**payload, "format": 1, "state": old}, tmp_path / "format1.pt")
    loaded = FNO(**TINY, weights=str(tmp_path / "format1.pt")).train()
    for name, tensor in trained.model.state_dict().items():
        assert torch.equal(tensor, loaded.model.state_dict()[name]), name


def test_missing_or_foreign_files_get_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        FNO(**TINY, weights=str(tmp_path / "absent.pt")).train()
    foreign = tmp_path / "foreign.pt"
    torch.save({"format": 99}, foreign)
    with pytest.raises(ValueError, match="format 99"):
        FNO(**TINY, weights=str(foreign)).train()
    (tmp_path / "text.pt").write_text("not a torch file")
    with pytest.raises(ValueError, match="not a trained-operator file"):
        FNO(**TINY, weights=str(tmp_path / "text.pt")).train()
    with pytest.raises(FileNotFoundError, match="folder"):
        FNO(**TINY).save(str(tmp_path / "no" / "such" / "fno.pt"))


@pytest.mark.parametrize("cls", [FNO, PINO], ids=["fno", "pino"])
def test_interrupted_training_resumes_bit_for_bit(tmp_path, monkeypatch, cls):
    """SIGTERM in epoch 4 of 6: the checkpoint of epoch 3 is written, the interrupted operator is not
    cached, and the resumed training ends where the uninterrupted one ends."""
    import os
    import signal

    from pde_lab import Status

    settings = dict(TINY, epochs=6, checkpoint_every=2)
    operator._TRAINED.clear()
    whole = cls(**settings).train()
    operator._TRAINED.clear()
    path = str(tmp_path / "operator.ckpt")
    batches = {"n": 0}
    original = cls.loss_terms

    def counted(self, *args):
        batches["n"] += 1
        if batches["n"] == 7:  # the first batch of epoch 4 (2 batches an epoch)
            os.kill(os.getpid(), signal.SIGTERM)
        return original(self, *args)

    with monkeypatch.context() as patch:
        patch.setattr(cls, "loss_terms", counted)
        stopped = cls(**settings, checkpoint=path).train()
    assert stopped.status is Status.INTERRUPTED and "epoch 3" in stopped.message and not operator._TRAINED
    assert stopped.history == {key: values[:3] for key, values in whole.history.items()}
    resumed = cls(**settings, checkpoint=path, resume=True).train()
    assert resumed.status is whole.status and resumed.history == whole.history
    for a, b in zip(whole.model.parameters(), resumed.model.parameters(), strict=True):
        assert torch.equal(a, b)
    operator._TRAINED.clear()
    with pytest.raises(ValueError, match="different run"):
        cls(**dict(settings, width=6), checkpoint=path, resume=True).train()
    operator._TRAINED.clear()
    state = torch.load(path, weights_only=True)  # as written before the mode-major spectral weights
    state["fingerprint"].pop("spectral_layout")
    torch.save(state, path)
    with pytest.raises(ValueError, match="differs in spectral_layout"):
        cls(**settings, checkpoint=path, resume=True).train()
    operator._TRAINED.clear()
