r"""The peer run: the same :class:`~pde_lab.problem.Problem`, trained by DeepXDE (Lu et al. 2021).

DeepXDE (L. Lu, X. Meng, Z. Mao, G. E. Karniadakis, *SIAM Review* 63(1), 2021) is the
reference PINN library; this solver hands it our problem unchanged, through its public API
only, so benchmarks compare like with like. The network :math:`u_\theta` (``dde.nn.FNN``,
Glorot-normal weights, no input rescaling) minimises

.. math::

    \mathcal{L}(\theta) = \sum_{k} \frac{1}{N_r}\sum_i |\partial_t u_k - F_k[u]|^2
        + \sum_{b} \frac{1}{N_b}\sum_j |B_b[u] - g_b|^2
        + \sum_{k} \frac{1}{N_0}\sum_l |u_k(x_l, t_0) - u_{0,k}(x_l)|^2

(the first term is :math:`|R_k[u]|^2` for steady problems) with Adam, then L-BFGS. The
residual is *ours*: DeepXDE calls ``pde(x, y)`` and we build :class:`~pde_lab.fields.Fields`
on its graph, so ``f.u_xx``, ``f.lap("u")`` differentiate DeepXDE's own network output.
DeepXDE evaluates the PDE on all its training points, boundary points included, and sums
the initial term over fields where :class:`~pde_lab.solvers.pinn.PINN` averages it.

DeepXDE keeps global state. For the run we set its float type
(``dde.config.set_default_float``), its seed (``dde.config.set_random_seed``: Python,
NumPy and torch RNGs) and its L-BFGS options, and afterwards restore torch's default dtype
and device, torch's CPU RNG (and the run's CUDA device's), the ``random`` and ``np.random``
states, ``dde.config.real``, ``dde.config.random_seed`` and ``dde.optimizers.LBFGS_options``.
Not restorable: ``DDE_BACKEND=pytorch`` stays in the environment after the first import, and
nothing here is thread-safe (neither is DeepXDE). DeepXDE's console output is swallowed, or
sent to stderr when ``progress`` is on; it never reaches stdout.
"""

from __future__ import annotations

import contextlib
import functools
import io
import math
import random
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from pde_lab.problem import Problem
from pde_lab.solution import Solution, Status
from pde_lab.solvers.deepxde_translate import deepxde_data, deepxde_pde
from pde_lab.solvers.pinn import network_field, resolve_device, resolve_dtype
from pde_lab.validation import check_ints, check_positive

__all__ = ["DeepXDEPeer", "deepxde_pde"]

_HISTORY_POINTS = 20  # DeepXDE records the loss about this many times during Adam
_LBFGS_CHUNK = 50  # L-BFGS iterations per optimizer.step; DeepXDE records the loss after each
_ACTIVATIONS = ("tanh", "sin", "gelu", "silu", "relu", "elu", "selu", "sigmoid", "swish")


@dataclass(frozen=True)
class DeepXDEPeer:
    """DeepXDE's PINN on the same problem: the baseline every pde_lab solver is timed against.

    Parameters
    ----------
    width, depth, activation
        ``dde.nn.FNN([D] + [width] * depth + [n_fields], activation, "Glorot normal")``.
    adam_steps, lbfgs_steps, learning_rate
        Adam at ``learning_rate`` for ``adam_steps``, then DeepXDE's L-BFGS (torch's, with a
        strong-Wolfe line search, ``gtol=1e-8``) for at most ``lbfgs_steps`` iterations.
    n_interior, n_boundary, n_initial
        ``num_domain``, ``num_boundary`` and ``num_initial`` of ``dde.data.(Time)PDE``.
    sampling
        ``"uniform"``, ``"sobol"``, ``"hammersley"``, ``"halton"`` or ``"lhs"``, passed as
        DeepXDE's ``train_distribution`` (``"uniform"`` is its ``"pseudo"``: random).
    weights
        Loss weights keyed ``"pde"``, ``"boundary"``, ``"initial"`` (DeepXDE's ``loss_weights``).
    dtype
        ``"float32"`` or ``"float64"``. Our geometries hand DeepXDE float64 points; in
        float32 the network casts its input.
    device
        ``None`` picks CUDA when present (as DeepXDE does), else CPU; the run places
        DeepXDE's tensors there through torch's default-device context.
    seed
        ``dde.config.set_random_seed(seed)``: initialisation and sampling.
    progress
        Show DeepXDE's loss table on stderr; ``None`` shows it when stderr is a terminal.
    cpu_threads
        torch intra-op threads on CPU during the run (restored afterwards), as for our PINN,
        so that side-by-side timings compare like with like.

    Examples
    --------
    >>> from problems import poisson
    >>> solution = DeepXDEPeer(adam_steps=500, lbfgs_steps=500).solve(poisson())  # doctest: +SKIP
    """

    width: int = 50
    depth: int = 3
    activation: str = "tanh"
    adam_steps: int = 2000
    lbfgs_steps: int = 1000
    learning_rate: float = 1e-3
    n_interior: int = 2000
    n_boundary: int = 400
    n_initial: int = 400
    sampling: str = "hammersley"
    weights: Mapping[str, float] = field(default_factory=dict)
    dtype: str = "float32"
    device: str | None = None
    seed: int = 0
    progress: bool | None = None
    cpu_threads: int | None = 1

    name = "deepxde"

    def check(self, problem: Problem) -> None:
        """Raise ``ValueError`` (``TypeError``) saying why this solver cannot solve ``problem``; trains nothing."""
        if not isinstance(problem, Problem):
            raise TypeError(f"DeepXDEPeer.solve expects a Problem, got {type(problem).__name__}")
        self._check_options()
        if getattr(problem.geometry, "_deepxde", None) is None:
            raise ValueError(f"DeepXDE cannot express geometry {problem.geometry!r}: it has no DeepXDE counterpart")

    def solve(self, problem: Problem) -> Solution:
        import torch

        from geometries._sampling import deepxde_method
        from pde_lab.memory import PeakMemory
        from pde_lab.training import cpu_threads

        self.check(problem)
        device, dtype = resolve_device(self.device), resolve_dtype(self.dtype)
        distribution = deepxde_method(self.sampling)
        show = sys.stderr.isatty() if self.progress is None else bool(self.progress)
        verbose = 1 if show else 0

        start = time.perf_counter()
        with (
            PeakMemory(str(device)) as memory,
            cpu_threads(self.cpu_threads if device.type == "cpu" else None),
            _deepxde_session(dtype, self.seed, device, show) as dde,
        ):
            data, n_boundary_terms = deepxde_data(dde, problem, self, distribution)
            net = dde.nn.FNN(
                [problem.input_dim] + [self.width] * self.depth + [len(problem.fields)],
                self.activation,
                "Glorot normal",
            )
            if dtype != torch.float64:  # DeepXDE hands us float64 points (see class docstring)
                net.apply_feature_transform(functools.partial(_cast, dtype=dtype))
            model = dde.Model(data, net)
            loss_weights = self._loss_weights(problem, n_boundary_terms)
            adam_done = lbfgs_done = 0
            if self.adam_steps > 0:
                model.compile(
                    "adam", lr=self.learning_rate, loss_weights=loss_weights, verbose=verbose
                )
                model.train(
                    iterations=self.adam_steps,
                    verbose=verbose,
                    display_every=max(1, self.adam_steps // _HISTORY_POINTS),
                )
                adam_done = model.train_state.step
            if self.lbfgs_steps > 0 and _finite_loss(model):
                dde.optimizers.set_LBFGS_options(maxiter=self.lbfgs_steps)
                # set_LBFGS_options leaves the per-step limits at their import-time values
                # (1000 iterations; DeepXDE issue #1691, PR #2080), so set them as well.
                per_step = min(_LBFGS_CHUNK, self.lbfgs_steps)
                dde.optimizers.LBFGS_options.update(
                    iter_per_step=per_step, fun_per_step=per_step * 5 // 4
                )
                model.compile("L-BFGS", loss_weights=loss_weights, verbose=verbose)
                model.train(callbacks=[_lbfgs_budget(dde, self.lbfgs_steps)], verbose=verbose)
                lbfgs_done = int(_lbfgs_state(model.opt).get("n_iter", 0))
            used = str(next(net.parameters()).device)
        wall = time.perf_counter() - start
        net.eval()

        history = _history(model.losshistory, problem, n_boundary_terms)
        final = history["loss"][-1] if history["loss"] else None
        status, message = self._status(final, lbfgs_done)
        stats = {
            "wall_s": wall,
            "peak_mem_mb": memory.peak_mb,
            "iterations": adam_done + lbfgs_done,
            "device": used,
            "dtype": str(dtype).removeprefix("torch."),
            "final_loss": final,
        }
        evaluate = network_field(net, torch.device(used), dtype)
        return Solution(problem, evaluate, self.name, status, message, stats, history, net)

    # ------------------------------------------------------------------ helpers
    def _check_options(self) -> None:
        check_ints(self, ("width", "depth", "n_interior", "n_boundary", "n_initial"))
        check_ints(self, ("adam_steps", "lbfgs_steps"), minimum=0)
        check_positive("learning_rate", self.learning_rate)
        if not isinstance(self.activation, str) or self.activation.lower() not in _ACTIVATIONS:
            raise ValueError(f"DeepXDE has no activation {self.activation!r}; use {_ACTIVATIONS}")
        unknown = set(self.weights) - {"pde", "boundary", "initial"}
        if unknown:
            raise ValueError(f"unknown loss weights {sorted(unknown)}; use pde, boundary, initial")

    def _loss_weights(self, problem: Problem, n_boundary_terms: int) -> list[float] | None:
        if not self.weights:
            return None
        n_fields = len(problem.fields)
        n_initial = n_fields if problem.is_time_dependent else 0
        pde, boundary, initial = (
            float(self.weights.get(k, 1.0)) for k in ("pde", "boundary", "initial")
        )
        return [pde] * n_fields + [boundary] * n_boundary_terms + [initial] * n_initial

    def _status(self, final: float | None, lbfgs_done: int) -> tuple[Status, str]:
        if final is not None and not math.isfinite(final):
            return Status.DIVERGED, (
                "DeepXDE's training loss became NaN/inf; the network keeps the parameters DeepXDE "
                f"stopped with. Try a lower learning_rate (now {self.learning_rate:g}) or "
                "dtype='float64'."
            )
        if 0 < lbfgs_done < self.lbfgs_steps:
            return Status.CONVERGED, (f"L-BFGS stopped after {lbfgs_done} of {self.lbfgs_steps} iterations: a "
                                      "tolerance was met or its line search found no decrease")
        loss = "n/a" if final is None else f"{final:.3e}"
        return Status.BUDGET_EXHAUSTED, (
            f"used the whole budget (adam_steps={self.adam_steps}, lbfgs_steps="
            f"{self.lbfgs_steps}); final loss {loss}. Increase lbfgs_steps (or adam_steps) to "
            "lower it further."
        )


def _lbfgs_budget(dde, steps: int):
    """A DeepXDE callback capping its L-BFGS at ``steps`` iterations, in chunks.

    Before each ``optimizer.step`` it lowers torch's ``max_iter`` to what is left of the
    budget; after it, it stops training when L-BFGS met a tolerance (fewer iterations than
    allowed without running out of evaluations), where DeepXDE would call step again and
    again without progress.
    """

    class LBFGSBudget(dde.callbacks.Callback):
        def on_epoch_begin(self) -> None:
            state, group = _lbfgs_state(self.model.opt), self.model.opt.param_groups[0]
            group["max_iter"] = max(1, min(_LBFGS_CHUNK, steps - state.get("n_iter", 0)))
            # DeepXDE's 1.25 evaluations per iteration, plus room for a line search when
            # only a few iterations are left (else the last chunk starves after one).
            group["max_eval"] = group["max_iter"] * 5 // 4 + 5
            self.before = (state.get("n_iter", 0), state.get("func_evals", 0))

        def on_epoch_end(self) -> None:
            state, group = _lbfgs_state(self.model.opt), self.model.opt.param_groups[0]
            made = state.get("n_iter", 0) - self.before[0]
            evaluations = state.get("func_evals", 0) - self.before[1]
            if made == 0 or (made < group["max_iter"] and evaluations < group["max_eval"]):
                self.model.stop_training = True

    return LBFGSBudget()


def _cast(points, dtype):
    return points.to(dtype)


def _lbfgs_state(optimizer) -> dict:
    """torch L-BFGS keeps ``n_iter`` and ``func_evals`` in the state of its first parameter."""
    first = optimizer.param_groups[0]["params"][0]
    return optimizer.state.get(first, {})


def _finite_loss(model) -> bool:
    losses = model.losshistory.loss_train
    return not losses or bool(np.isfinite(np.sum(losses[-1])))


def _history(losshistory, problem: Problem, n_boundary_terms: int) -> dict[str, list]:
    n_fields = len(problem.fields)
    terms = [np.asarray(loss, dtype=float).reshape(-1) for loss in losshistory.loss_train]
    history: dict[str, list] = {
        "iteration": [int(step) for step in losshistory.steps],
        "loss": [float(term.sum()) for term in terms],
        "pde": [float(term[:n_fields].sum()) for term in terms],
    }
    if n_boundary_terms:
        history["boundary"] = [
            float(term[n_fields : n_fields + n_boundary_terms].sum()) for term in terms
        ]
    if problem.is_time_dependent:
        history["initial"] = [float(term[n_fields + n_boundary_terms :].sum()) for term in terms]
    return history


@contextlib.contextmanager
def _deepxde_session(dtype, seed: int, device, show: bool) -> Iterator[Any]:
    """DeepXDE configured for one run (float type, seed, device), and put back afterwards."""
    import importlib

    import torch

    from geometries._deepxde import deepxde_context, preserved_torch_defaults

    with deepxde_context():  # quiet import, warnings filtered; puts dde.config.real back on exit
        dde = importlib.import_module("deepxde")
        config, lbfgs = dde.config, dde.optimizers.LBFGS_options
        saved = (config.random_seed, dict(lbfgs), random.getstate(), np.random.get_state())
        cuda = [device] if device.type == "cuda" else []
        try:
            with (
                preserved_torch_defaults(),
                torch.random.fork_rng(devices=cuda),
                contextlib.redirect_stdout(sys.stderr if show else io.StringIO()),
                torch.device(device),
            ):
                config.set_default_float(str(dtype).removeprefix("torch."))
                config.set_random_seed(seed)
                yield dde
        finally:
            config.random_seed = saved[0]
            lbfgs.clear()
            lbfgs.update(saved[1])
            random.setstate(saved[2])
            np.random.set_state(saved[3])
