r"""Neural-operator solvers: FNO (Li et al., ICLR 2021) and PINO (Li et al., 2021), trained on a family.

A neural operator learns the solution map of a *family* of problems
(:mod:`pde_lab.data.families`) from reference data, then answers ``solve(problem)`` for any
member in one forward pass. ``FNO(family="darcy")`` trains on first use, on
``n_train`` members (0 .. n_train-1, reference solutions generated in parallel, or read from
the ``.npz`` at ``dataset``, which is generated there if missing and resumed if
interrupted), and keeps the trained network in a process-wide cache keyed by the solver's
settings, so every later ``solve`` (from this or an equal solver object) is inference only.
``solver.save(path)`` keeps the trained network beyond the process; ``weights=path`` loads it
(:mod:`pde_lab.solvers.operator_io`).

Training follows the paper: Adam (lr 1e-3, weight decay 1e-4), step decay ×0.5 every
``epochs / 5`` epochs, batch 20 (10 for Navier–Stokes), the relative L2 loss

.. math:: \mathcal L_{data} = \frac1B\sum_b \frac{\|G_\theta(a_b) - u_b\|_2}{\|u_b\|_2},

with inputs and outputs normalised per channel. PINO adds the PDE residual on the output
grid, :math:`\lambda_{pde}\,\overline{|\mathcal R[G_\theta(a)]|^2}` (:mod:`pde_lab.operators.pino`).
The test error reported in ``stats["test_rel_l2"]`` is this relative L2 averaged over the
``n_test`` members after the training ones.
"""

from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from pde_lab.problem import Problem
from pde_lab.solution import Solution, Status
from pde_lab.solvers.pinn import resolve_device, resolve_dtype
from pde_lab.validation import check_ints, check_non_negative, check_positives

__all__ = ["FNO", "PINO", "TrainedOperator"]

#: Trained operators of this process, keyed by the solver's settings (see ``_OperatorSolver.key``).
_TRAINED: dict[str, TrainedOperator] = {}


@dataclass(frozen=True, eq=False)
class TrainedOperator:
    """A trained network with its family, normalisation and training record."""

    model: Any
    family: Any
    scales: dict[str, Any]  # per-channel mean and std of inputs and targets (torch)
    status: Status
    message: str
    history: dict[str, list[float]]
    stats: dict[str, Any]

    def predict(self, inputs: Any) -> Any:
        """Outputs (physical units) for a batch of inputs ``(batch, *grid, channels)`` (torch)."""
        import torch

        s = self.scales
        with torch.no_grad():
            return self.model((inputs - s["in_mean"]) / s["in_std"]) * s["out_std"] + s["out_mean"]


def relative_l2(prediction: Any, target: Any) -> Any:
    """Per-sample relative L2 error, ``(batch,)``."""
    difference = (prediction - target).flatten(1).norm(dim=1)
    return difference / target.flatten(1).norm(dim=1).clamp_min(1e-30)


def broadcast_inputs(inputs: np.ndarray, output_grid: tuple[int, ...]) -> np.ndarray:
    """Repeat an input ``(*grid_in, c)`` along the output's extra trailing axes (time)."""
    grid_in = inputs.shape[1:-1]
    if grid_in == output_grid:
        return inputs
    if output_grid[: len(grid_in)] != grid_in:
        raise ValueError(f"input grid {grid_in} does not match the output grid {output_grid}")
    extra = output_grid[len(grid_in):]
    shape = (inputs.shape[0], *grid_in, *(1,) * len(extra), inputs.shape[-1])
    return np.broadcast_to(inputs.reshape(shape), (inputs.shape[0], *output_grid, inputs.shape[-1]))


@dataclass(frozen=True)
class _OperatorSolver:
    """Settings and training shared by :class:`FNO` and :class:`PINO` (abstract: use those).

    Parameters
    ----------
    family
        A :class:`~pde_lab.data.families.Family` or a name in ``FAMILIES`` (``"burgers"``,
        ``"darcy"``, ``"navier-stokes"``) with its defaults (the paper's settings); ``None``:
        the family of the problem given to ``solve`` (its defaults).
    dataset
        ``.npz`` path of the training data (generated there when missing, resumable);
        ``None`` generates them in memory.
    n_train, n_test
        Members 0 .. n_train-1 train, the next n_test measure the test error (paper 1000/100).
    modes, width, batch_size
        ``None``: the paper's setting for the family (``family.fno_settings``).
    n_layers, projection, padding, activation
        Fourier layers (4), projection width (128), zero padding of non-periodic axes
        (fraction), activation (``"gelu"``).
    epochs, learning_rate, weight_decay, scheduler_step, scheduler_gamma
        Adam with step decay (``scheduler_step`` ``None``: ``epochs // 5``).
    resolution
        Grid on which ``solve`` evaluates (``None``: the family's); any grid works.
    workers
        Processes for data generation (``None``: one per core).
    dtype, device, seed, progress, cpu_threads
        As for :class:`~pde_lab.solvers.pinn.PINN`.
    weights
        A file written by :meth:`save`: the first ``solve`` (or :meth:`train`) loads it instead
        of training, after checking that it was trained with this family and these settings
        (:mod:`pde_lab.solvers.operator_io`).
    checkpoint, checkpoint_every, resume
        Checkpoint of the training, every ``checkpoint_every`` epochs, at the end and on
        SIGTERM/SIGINT (status ``interrupted``, not cached); ``resume=True`` continues it
        (:mod:`pde_lab.solvers.operator_training`).
    """

    family: Any = None
    dataset: str | None = None
    n_train: int = 1000
    n_test: int = 100
    modes: int | None = None
    width: int | None = None
    n_layers: int = 4
    projection: int = 128
    padding: float = 0.125
    activation: str = "gelu"
    epochs: int = 500
    batch_size: int | None = None
    learning_rate: float = 1e-3
    weight_decay: float = 1e-4
    scheduler_step: int | None = None
    scheduler_gamma: float = 0.5
    resolution: int | None = None
    workers: int | None = None
    dtype: str = "float32"
    device: str | None = None
    seed: int = 0
    progress: bool | None = None
    cpu_threads: int | None = 1
    weights: str | None = None
    checkpoint: str | None = None
    checkpoint_every: int = 10
    resume: bool = False

    name = "operator"
    _not_in_key = ("resolution", "workers", "progress", "cpu_threads", "dataset", "weights", "checkpoint",
                   "checkpoint_every", "resume")

    # ------------------------------------------------------------------ public
    def check(self, problem: Problem) -> None:
        """Raise ``ValueError`` (``TypeError``) saying why this solver cannot solve ``problem``; trains nothing."""
        self._prepared(problem)

    def _prepared(self, problem: Problem):
        """The solver with its family resolved (default: the problem's own, paper settings), that
        family, and the problem's inputs on the family's grid (raises unless it is a member)."""
        from pde_lab.data.families import family_of, make_family

        if not isinstance(problem, Problem):
            raise TypeError(f"{type(self).__name__}.solve expects a Problem, got {type(problem).__name__}")
        solver = self if self.family is not None else dataclasses.replace(self, family=family_of(problem))
        solver._check()
        family = make_family(solver.family)
        return solver, family, family.inputs(problem, self.resolution)

    def solve(self, problem: Problem) -> Solution:
        """The trained operator's answer for a member of the family, in one forward pass."""
        import torch

        from pde_lab.memory import PeakMemory

        solver, family, inputs = self._prepared(problem)
        inputs = inputs[None]
        device, dtype = resolve_device(self.device), resolve_dtype(self.dtype)
        trained = solver.train()
        start = time.perf_counter()
        with PeakMemory(str(device)) as memory:
            grid = tuple(len(axis) for axis, _ in family.output_axes(self.resolution or inputs.shape[1]))
            tensor = torch.as_tensor(np.ascontiguousarray(broadcast_inputs(inputs, grid)), dtype=dtype, device=device)
            outputs = trained.predict(tensor)[0].double().cpu().numpy()
            field = family.field(problem, outputs)
        stats = {**trained.stats, "wall_s": time.perf_counter() - start, "peak_mem_mb": memory.peak_mb,
                 "device": str(device), "dtype": self.dtype, "grid": list(grid)}
        return Solution(problem, field, self.name, trained.status, trained.message, stats, trained.history,
                        trained.model)

    def key(self) -> str:
        """Cache key: the family's metadata and every setting that changes the trained network."""
        from pde_lab.data.families import make_family

        settings = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
                    if f.name not in self._not_in_key and f.name != "family"}
        return json.dumps({"solver": self.name, "family": make_family(self.family).metadata(), **settings},
                          sort_keys=True, default=repr)

    def train(self) -> TrainedOperator:
        """Train (once per process and settings; or load ``weights``) and return the trained operator."""
        from pde_lab.solvers.operator_io import load_trained

        if self.family is None:
            raise ValueError("give family=... (a Family or one of FAMILIES) to train before solving a problem")
        key = self.key()
        if key in _TRAINED:
            return _TRAINED[key]
        self._check()
        trained = load_trained(self, self.weights, self._network) if self.weights else self._train()
        if trained.status is not Status.INTERRUPTED:  # an interrupted training is resumed, not reused
            _TRAINED[key] = trained
        return trained

    def save(self, path: str) -> str:
        """Write the trained operator (training it first if needed) to ``path``, for ``weights=path``."""
        from pde_lab.solvers.operator_io import save_trained

        return str(save_trained(self, self.train(), path))

    # ---------------------------------------------------------------- training
    def _network(self, family, in_channels: int, out_channels: int):
        """The untrained network for ``family`` at these settings (the paper's modes and width by default)."""
        from pde_lab.operators.fno import FNO as Network

        modes, width = self.modes or family.fno_settings["modes"], self.width or family.fno_settings["width"]
        axes = family.output_axes()
        return Network(in_channels, out_channels, (modes,) * len(axes), width, self.n_layers, self.projection,
                       self.activation, [p for _, p in axes], self.padding, dtype=resolve_dtype(self.dtype))

    def loss_terms(self, family, prediction, target, inputs) -> dict[str, Any]:
        return {"data": relative_l2(prediction, target).mean()}

    def _data(self, family):
        from pde_lab.data.generate import generate, generate_arrays, load_dataset

        total = self.n_train + self.n_test
        if self.dataset is None:
            return generate_arrays(family, range(total), workers=self.workers, progress=self.progress)
        data = load_dataset(generate(family, self.dataset, total, workers=self.workers, progress=self.progress))
        return data

    def _check(self) -> None:
        from pde_lab.checkpoint import checkpointing_of

        check_ints(self, ("n_train", "n_test", "n_layers", "projection", "epochs", "checkpoint_every"))
        checkpointing_of(self)
        check_positives(self, ("learning_rate", "scheduler_gamma"))

    def _train(self) -> TrainedOperator:
        from pde_lab.solvers.operator_training import train_operator

        return train_operator(self)


@dataclass(frozen=True)
class FNO(_OperatorSolver):
    """Fourier neural operator trained on a problem family from its reference data (module docstring).

    Examples
    --------
    >>> from pde_lab import solve
    >>> from pde_lab.data import BurgersFamily
    >>> family = BurgersFamily(resolution=64, reference_resolution=256)
    >>> fno = FNO(family=family, n_train=200, epochs=100)             # doctest: +SKIP
    >>> solution = solve(family.problem(5000), fno)   # trains once   # doctest: +SKIP
    >>> solve(family.problem(5001), FNO(family=family, n_train=200, epochs=100, resolution=256))  # doctest: +SKIP
    """

    name = "fno"


@dataclass(frozen=True)
class PINO(_OperatorSolver):
    r"""Physics-informed neural operator: FNO plus the PDE residual on the output grid.

    Loss: ``data_weight`` × relative L2 + ``pde_weight`` × mean squared residual
    (:mod:`pde_lab.operators.pino`; the family supplies its residual: Burgers needs a
    space-time output, ``BurgersFamily(n_times >= 3)``). ``data_weight = 0`` trains from the
    PDE alone (plus the inputs), as PINO's operator learning without data.
    """

    pde_weight: float = 1.0
    data_weight: float = 1.0

    name = "pino"

    def loss_terms(self, family, prediction, target, inputs) -> dict[str, Any]:
        terms = {}
        if self.data_weight:
            terms["data"] = self.data_weight * relative_l2(prediction, target).mean()
        if self.pde_weight:
            terms["pde"] = self.pde_weight * family.residual(prediction, inputs).square().mean()
        return terms

    def _check(self) -> None:
        super()._check()
        for name in ("pde_weight", "data_weight"):
            check_non_negative(name, getattr(self, name))
        if self.pde_weight == 0 and self.data_weight == 0:
            raise ValueError("pde_weight and data_weight are both 0: nothing to train on")
        from pde_lab.data.families import make_family

        family = make_family(self.family)
        if self.pde_weight and not family.has_residual:
            raise ValueError(f"PINO needs a PDE residual on the output grid; family {family.name!r} has none here"
                             + (" (use BurgersFamily(n_times >= 3) for a space-time output)" if family.name == "burgers" else ""))
