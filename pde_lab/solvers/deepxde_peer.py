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
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from pde_lab.conditions import Dirichlet, Neumann, Periodic, evaluate_value
from pde_lab.problem import Problem
from pde_lab.solution import Solution, Status
from pde_lab.solvers.pinn import network_field, resolve_device, resolve_dtype

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

    name = "deepxde"

    def solve(self, problem: Problem) -> Solution:
        import torch

        from geometries._sampling import deepxde_method
        from pde_lab.memory import PeakMemory

        if not isinstance(problem, Problem):
            raise TypeError(f"DeepXDEPeer.solve expects a Problem, got {type(problem).__name__}")
        self._check_options()
        device, dtype = resolve_device(self.device), resolve_dtype(self.dtype)
        distribution = deepxde_method(self.sampling)
        show = sys.stderr.isatty() if self.progress is None else bool(self.progress)
        verbose = 1 if show else 0

        start = time.perf_counter()
        with (
            PeakMemory(str(device)) as memory,
            _deepxde_session(dtype, self.seed, device, show) as dde,
        ):
            data, n_boundary_terms = _deepxde_data(dde, problem, self, distribution)
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
        counts = {"width": 1, "depth": 1, "n_interior": 1, "n_boundary": 1, "n_initial": 1}
        for name, least in {**counts, "adam_steps": 0, "lbfgs_steps": 0}.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < least:
                raise ValueError(f"{name} must be an int >= {least}, got {value!r}")
        rate = self.learning_rate
        if not (isinstance(rate, (int, float)) and math.isfinite(rate) and rate > 0):
            raise ValueError(f"learning_rate must be positive and finite, got {rate!r}")
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
            return Status.CONVERGED, f"L-BFGS met its tolerance after {lbfgs_done} iterations"
        loss = "n/a" if final is None else f"{final:.3e}"
        return Status.BUDGET_EXHAUSTED, (
            f"used the whole budget (adam_steps={self.adam_steps}, lbfgs_steps="
            f"{self.lbfgs_steps}); final loss {loss}. Increase lbfgs_steps (or adam_steps) to "
            "lower it further."
        )


# --------------------------------------------------------------------- the PDE
def deepxde_pde(problem: Problem) -> Callable[[Any, Any], list]:
    r"""The function DeepXDE trains on: ``pde(x, y)`` -> one ``(n, 1)`` residual per field.

    ``x`` are DeepXDE's input points (requiring grad) and ``y = net(x)``; derivatives are
    taken by our :class:`~pde_lab.fields.Fields` on DeepXDE's graph. The residuals are those
    of :func:`pde_lab.collocation.pde_residuals`: :math:`\partial_t u - F[u]` or :math:`R[u]`.
    """
    from pde_lab.fields import Fields, as_field_tuple

    def pde(x, y) -> list:
        f = Fields(lambda _points: y, x, problem.fields, problem.coordinate_names)
        names, parameters = problem.fields, problem.parameters
        if problem.rate is not None:
            rates = as_field_tuple(problem.rate(f, parameters), names)
            residuals = [f.d(name, "t") - rate for name, rate in zip(names, rates, strict=True)]
        else:
            residuals = as_field_tuple(problem.residual(f, parameters), names)
        return [r.expand(x.shape[0]).reshape(-1, 1) for r in residuals]

    return pde


# --------------------------------------------------------------- DeepXDE's data
def _deepxde_data(dde, problem: Problem, options: DeepXDEPeer, distribution: str) -> tuple:
    """``dde.data.PDE`` or ``TimePDE`` for ``problem``, and the number of boundary loss terms."""
    space = getattr(problem.geometry, "_deepxde", None)
    if space is None:
        raise ValueError(
            f"DeepXDE cannot express geometry {problem.geometry!r}: it has no DeepXDE counterpart "
            "(use a geometries.* domain)"
        )
    geometry = space
    if problem.is_time_dependent:
        geometry = dde.geometry.GeometryXTime(space, dde.geometry.TimeDomain(*problem.time_span))
    conditions, labels = _deepxde_boundary_conditions(dde, problem, space, geometry)
    n_boundary_terms = len(conditions)
    if problem.is_time_dependent:
        conditions += [
            _initial_condition(dde, problem, geometry, k) for k in range(len(problem.fields))
        ]
        labels += [f"the initial condition of {name!r}" for name in problem.fields]
    common = {
        "num_domain": options.n_interior,
        "num_boundary": options.n_boundary if n_boundary_terms else 0,
        "train_distribution": distribution,
    }
    try:
        if problem.is_time_dependent:
            data = dde.data.TimePDE(
                geometry, deepxde_pde(problem), conditions, num_initial=options.n_initial, **common
            )
        else:
            data = dde.data.PDE(geometry, deepxde_pde(problem), conditions, **common)
    except NotImplementedError as error:
        raise ValueError(f"DeepXDE cannot express problem {problem.name!r}: {error}") from None
    for count, label in zip(data.num_bcs, labels, strict=True):
        if count == 0:
            raise ValueError(
                f"{label} selects none of DeepXDE's {options.n_boundary} boundary points; "
                "check its `where`, or raise n_boundary"
            )
    return data, n_boundary_terms


def _deepxde_boundary_conditions(dde, problem: Problem, space, geometry) -> tuple[list, list[str]]:
    """DeepXDE's BCs for our conditions (two per field for Periodic), with a label for each."""
    conditions, labels = [], []
    for condition in problem.boundary_conditions:
        if isinstance(condition, Periodic):
            if type(space).periodic_point is dde.geometry.Geometry.periodic_point:
                raise ValueError(
                    f"DeepXDE cannot express {condition!r} on {problem.geometry!r}: its DeepXDE "
                    f"{type(space).__name__} has no periodic images (periodic_point)"
                )
            axis = condition.axis
            on_lower = _lower_face(axis, *(float(bound[axis]) for bound in problem.geometry.bounds))
            for name in problem.fields if condition.field is None else (condition.field,):
                k = problem.fields.index(name)
                conditions += [
                    dde.icbc.PeriodicBC(
                        geometry, axis, on_lower, derivative_order=order, component=k
                    )
                    for order in (0, 1)
                ]
                labels += [repr(condition)] * 2
            continue
        k = problem.fields.index(condition.field or problem.fields[0])
        kind = {Dirichlet: dde.icbc.DirichletBC, Neumann: dde.icbc.NeumannBC}[type(condition)]
        conditions.append(
            kind(geometry, _numpy_value(condition.value), _selector(condition.where), component=k)
        )
        labels.append(repr(condition))
    return conditions, labels


def _lower_face(axis: int, lower: float, upper: float) -> Callable[[np.ndarray, bool], bool]:
    """DeepXDE's ``on_boundary(x, on)`` for the face ``x[axis] = lower``; PeriodicBC pairs it."""
    tolerance = 1e-9 * max(1.0, upper - lower)
    return lambda x, on: bool(on) and abs(float(x[axis]) - lower) <= tolerance


def _numpy_value(value) -> Callable[[np.ndarray], np.ndarray]:
    """Our value (number or torch callable of points) as DeepXDE's ``numpy (n, D) -> (n, 1)``."""
    import torch

    def evaluate(points: np.ndarray) -> np.ndarray:
        tensor = torch.as_tensor(np.asarray(points, dtype=np.float64))
        out = evaluate_value(value, tensor).detach().cpu().numpy().reshape(-1, 1)
        return out.astype(points.dtype, copy=False)

    return evaluate


def _selector(where) -> Callable[[np.ndarray, bool], bool]:
    """DeepXDE's per-point ``on_boundary(x, on)`` from our optional ``where`` mask."""
    import torch

    if where is None:
        return lambda x, on: bool(on)

    def select(x: np.ndarray, on: bool) -> bool:
        if not on:
            return False
        mask = where(torch.as_tensor(np.asarray(x, dtype=np.float64)[None, :]))
        return bool(torch.as_tensor(mask).reshape(-1)[0])

    return select


def _initial_condition(dde, problem: Problem, geometry, k: int):
    import torch

    n_fields = len(problem.fields)

    def evaluate(points: np.ndarray) -> np.ndarray:
        space = torch.as_tensor(np.asarray(points[:, :-1], dtype=np.float64))
        out = torch.as_tensor(problem.initial_condition(space)).detach().cpu()
        out = out.reshape(len(points), -1)
        if out.shape[1] != n_fields:
            raise ValueError(
                f"initial_condition returned {out.shape[1]} columns for fields {problem.fields}"
            )
        return out[:, k : k + 1].numpy().astype(points.dtype, copy=False)

    return dde.icbc.IC(geometry, evaluate, lambda _x, on_initial: bool(on_initial), component=k)


# ---------------------------------------------------------------- the training
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
