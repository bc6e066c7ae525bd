r"""The plain physics-informed neural network (Raissi, Perdikaris & Karniadakis 2019).

A network :math:`u_\theta(x, t)` minimises

.. math::

    \mathcal{L}(\theta) = \frac{1}{N_r}\sum_i |u_t - F[u]|^2(x_i, t_i)
        + \frac{1}{N_b}\sum_j |B[u] - g|^2(x_j, t_j)
        + \frac{1}{N_0}\sum_k |u(x_k, t_0) - u_0(x_k)|^2

(the first term is :math:`|R[u]|^2` for steady problems) with Adam, then L-BFGS. This is the
baseline the other neural solvers are measured against.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from pde_lab.loss_balance import check_loss_balance, make_balance
from pde_lab.problem import Problem
from pde_lab.solution import Solution
from pde_lab.validation import check_bools, check_int

__all__ = ["PINN", "default_device", "resolve_dtype"]


def default_device() -> str:
    """``"cuda"`` when a CUDA device is present, else ``"cpu"``."""
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def resolve_dtype(dtype):
    import torch

    table = {"float32": torch.float32, "float64": torch.float64}
    if isinstance(dtype, torch.dtype) and dtype in table.values():
        return dtype
    if dtype not in table:
        raise ValueError(f"dtype must be 'float32' or 'float64', got {dtype!r}")
    return table[dtype]


def resolve_device(device: str | None):
    import torch

    device = default_device() if device is None else device
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError) as error:
        raise ValueError(f"invalid device {device!r}: {error}") from None
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} requested but CUDA is not available; use device='cpu'")
    return resolved


@dataclass(frozen=True)
class PINN:
    """Plain PINN: an MLP trained on the PDE, boundary and initial residuals.

    Parameters
    ----------
    width, depth, activation
        The MLP (hidden width, number of hidden layers, ``tanh`` by default).
    adam_steps, lbfgs_steps, learning_rate
        Optimisation budget: Adam at ``learning_rate``, then L-BFGS with a strong-Wolfe
        line search.
    n_interior, n_boundary, n_initial
        Collocation points (fixed for the run, as L-BFGS needs).
    sampling
        ``"uniform"``, ``"sobol"``, ``"hammersley"``, ``"halton"`` or ``"lhs"``.
    weights
        Loss weights keyed ``"pde"``, ``"boundary"``, ``"initial"`` (default 1 each).
    dtype
        ``"float32"`` or ``"float64"`` (recommended for L-BFGS to low losses).
    lbfgs_dtype
        ``None`` (L-BFGS in ``dtype``) or ``"float64"``: Adam in ``dtype``, then the network
        and the points (as drawn) widened to float64 for L-BFGS, whose line search in float32
        can stall right after Adam (see the guide's troubleshooting). The solution is float64.
    device
        ``None`` picks CUDA when present, else CPU.
    seed
        Seeds the initialisation and the sampling (no global RNG state is touched).
    progress
        Progress bar; ``None`` shows it when stderr is a terminal.
    cpu_threads
        torch intra-op threads while training on CPU (restored afterwards). 1 is fastest
        for networks of this size and robust on shared machines; ``None`` keeps torch's.
    derivatives
        Derivative engine for the residuals: ``"autograd"`` (nested reverse mode),
        ``"taylor"``, ``"forward-laplacian"`` or ``"stde"`` (see :mod:`pde_lab.derivatives`).
    boundary
        ``"soft"``: a boundary loss term. ``"hard"``: homogeneous Dirichlet conditions built
        into the network, :math:`u = \\phi(x) N(x)` with the geometry's envelope :math:`\\phi`
        (:class:`~pde_lab.nets.Enveloped`; balls, disks and boxes), as in the STDE paper.
    resample_every
        Draw fresh interior points (uniformly at random, seeded by ``seed`` and the step)
        every this many Adam steps; 0 keeps one fixed set. L-BFGS uses the last set.
    lr_schedule
        ``"constant"``, or ``"linear"`` decay of Adam's rate to 0 over ``adam_steps``.
    loss_balance, balance_every
        ``None`` (the fixed ``weights``) or ``"grad-norm"``: every ``balance_every`` Adam
        steps the terms' weights move (momentum 0.9) towards equal gradient norms
        :math:`\\lambda_k = \\overline{g}/\\|\\nabla_\\theta\\mathcal L_k\\|`
        (:class:`~pde_lab.loss_balance.GradNormBalance`; ``weights`` multiply them); L-BFGS
        keeps the last ones.
    residual_on_boundary
        Also enforce the PDE on the boundary and initial-condition points, i.e. on the closed
        space-time cylinder, as DeepXDE does.
    checkpoint, checkpoint_every, resume
        Checkpoint file (written atomically every ``checkpoint_every`` iterations, at the
        end and on SIGTERM/SIGINT, which stops the run with status ``interrupted``); with
        ``resume=True`` the run continues from it and, seeded on CPU, ends bit for bit
        where an uninterrupted run would.

    Examples
    --------
    >>> from problems import poisson
    >>> solution = PINN(adam_steps=500, lbfgs_steps=200).solve(poisson())  # doctest: +SKIP
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
    lbfgs_dtype: str | None = None
    device: str | None = None
    seed: int = 0
    progress: bool | None = None
    cpu_threads: int | None = 1
    checkpoint: str | None = None
    checkpoint_every: int = 500
    resume: bool = False
    derivatives: str = "autograd"
    boundary: str = "soft"
    resample_every: int = 0
    lr_schedule: str = "constant"
    residual_on_boundary: bool = False
    loss_balance: str | None = None
    balance_every: int = 100

    name = "pinn"

    def solve(self, problem: Problem) -> Solution:
        from pde_lab.checkpoint import checkpointing_of
        from pde_lab.collocation import loss_terms, sample_collocation
        from pde_lab.derivatives import make_engine
        from pde_lab.distributed import global_mean, rank_and_world, shard, wrap
        from pde_lab.nets import MLP, Enveloped
        from pde_lab.training import solver_run, train

        self.check(problem)
        device, dtype = resolve_device(self.device), resolve_dtype(self.dtype)
        checkpointing = checkpointing_of(self)
        lower, upper = (np.asarray(b, dtype=float) for b in problem.geometry.bounds)
        if problem.is_time_dependent:
            lower, upper = np.append(lower, problem.time_span[0]), np.append(upper, problem.time_span[1])

        start = time.perf_counter()
        with solver_run(device, self.cpu_threads, self.seed) as memory:
            network = MLP(problem.input_dim, len(problem.fields), self.width, self.depth,
                          self.activation, lower, upper).to(device=device, dtype=dtype)
            if self.boundary == "hard":
                network = Enveloped(network, problem.geometry.envelope, problem.geometry.dim,
                                    getattr(problem.geometry, "envelope_jet", None))
            collocation = sample_collocation(
                problem, n_interior=self.n_interior, n_boundary=self.n_boundary, n_initial=self.n_initial,
                method=self.sampling, seed=self.seed, device=device, dtype=dtype,
                residual_on_boundary=self.residual_on_boundary,
            )
            if self.boundary == "hard":
                collocation.boundary = []  # satisfied exactly by the envelope
            rank, world = rank_and_world()  # data parallel under torchrun: a shard of the global batch each
            collocation, model = shard(collocation, rank, world), [wrap(network, device)]
            before_step = None
            if self.resample_every:
                before_step = _Resampler(problem, collocation, self.n_interior, self.resample_every, self.seed,
                                         device, dtype, rank, world)
            engine = make_engine(self.derivatives, network)
            wide = dtype if self.lbfgs_dtype is None else resolve_dtype(self.lbfgs_dtype)

            def widen() -> None:  # L-BFGS in float64: parameters changed in place, points and targets cast
                network.to(dtype=wide)
                collocation.to(wide)  # a resampler still draws in dtype, then casts: the same points
                model[0] = wrap(network, device)  # DDP's buckets follow the parameters' dtype

            result = train(
                list(network.parameters()),
                lambda: {k: global_mean(v) for k, v in loss_terms(problem, model[0], collocation, engine).items()},
                adam_steps=self.adam_steps, lbfgs_steps=self.lbfgs_steps,
                learning_rate=self.learning_rate, weights=dict(self.weights),
                progress=self.progress if rank == 0 else False, description=f"{self.name} {problem.name}",
                checkpoint=checkpointing, fingerprint=self._fingerprint(problem, network),
                schedule=(lambda k: 1 - k / self.adam_steps) if self.lr_schedule == "linear" else None,
                before_step=before_step, before_lbfgs=widen if wide != dtype else None,
                balance=make_balance(self.loss_balance, self.balance_every),
            )
        wall = time.perf_counter() - start
        network.eval()
        final_dtype = next(network.parameters()).dtype  # dtype, unless L-BFGS widened it
        stats = {
            "wall_s": wall, "peak_mem_mb": memory.peak_mb, "iterations": result.iterations,
            "device": str(device), "dtype": str(dtype).removeprefix("torch."), "world_size": world,
            "solution_dtype": str(final_dtype).removeprefix("torch."),
            "final_loss": result.history["loss"][-1] if result.history["loss"] else None,
        }
        return Solution(problem, network_field(network, device, final_dtype), self.name, result.status,
                        result.message, stats, result.history, network)

    def check(self, problem: Problem) -> None:
        """Raise ``ValueError`` (``TypeError``) saying why this solver cannot solve ``problem``; trains nothing."""
        if not isinstance(problem, Problem):
            raise TypeError(f"PINN.solve expects a Problem, got {type(problem).__name__}")
        if self.resume and self.checkpoint is None:
            raise ValueError("resume=True needs a checkpoint path")
        unknown = set(self.weights) - {"pde", "boundary", "initial"}
        if unknown:
            raise ValueError(f"unknown loss weights {sorted(unknown)}; use 'pde', 'boundary', 'initial'")
        self._check_options(problem)

    def _check_options(self, problem: Problem) -> None:
        from pde_lab.conditions import Dirichlet

        if self.boundary not in ("soft", "hard"):
            raise ValueError(f"boundary must be 'soft' or 'hard', got {self.boundary!r}")
        if self.lr_schedule not in ("constant", "linear"):
            raise ValueError(f"lr_schedule must be 'constant' or 'linear', got {self.lr_schedule!r}")
        check_int("resample_every", self.resample_every, minimum=0)
        check_loss_balance(self.loss_balance, self.balance_every)
        check_bools(self, ("residual_on_boundary", "resume"))
        resolve_dtype(self.dtype)
        if self.lbfgs_dtype not in (None, "float64"):
            raise ValueError(f"lbfgs_dtype must be None or 'float64', got {self.lbfgs_dtype!r}")
        if self.boundary == "hard":
            homogeneous = all(isinstance(c, Dirichlet) and c.where is None and not callable(c.value) and c.value == 0
                              for c in problem.boundary_conditions)
            if not problem.boundary_conditions or not homogeneous:
                raise ValueError(f"boundary='hard' needs u = 0 on the whole boundary (Dirichlet(0.0)); {problem.name} "
                                 f"has {list(problem.boundary_conditions)}. Use boundary='soft'.")
            import torch

            problem.geometry.envelope(torch.zeros(1, problem.geometry.dim, dtype=torch.float64))  # raises if none

    def _fingerprint(self, problem: Problem, network) -> dict:
        """What must match for a checkpoint to be resumed: problem, settings, shapes."""
        from pde_lab.checkpoint import BUDGET_SETTINGS, run_fingerprint

        return run_fingerprint(self, problem, network, BUDGET_SETTINGS)


def network_field(network, device, dtype, batch: int = 65536):
    """A numpy-in, numpy-out evaluator of a torch network, batched and without gradients."""
    import torch

    def evaluate(points: np.ndarray) -> np.ndarray:
        out = []
        with torch.no_grad():
            for chunk in np.array_split(points, max(1, int(np.ceil(len(points) / batch)))):
                tensor = torch.as_tensor(chunk, dtype=dtype, device=device)
                out.append(network(tensor).double().cpu().numpy())
        return np.concatenate(out)

    return evaluate


class _Resampler:
    """Fresh uniform interior points every ``every`` Adam steps, seeded by (seed, block)."""

    def __init__(self, problem, collocation, n, every, seed, device, dtype, rank, world) -> None:
        self.problem, self.collocation, self.n, self.every, self.seed = problem, collocation, n, every, seed
        self.device, self.dtype, self.rank, self.world, self.block = device, dtype, rank, world, 0

    def __call__(self, step: int) -> None:
        import torch

        from pde_lab.collocation import Collocation
        from pde_lab.distributed import shard

        block = step // self.every
        if block == self.block:
            return
        self.block = block
        seed = int(np.random.SeedSequence([self.seed, block]).generate_state(1)[0])
        problem = self.problem
        if problem.is_time_dependent:
            points = problem.geometry.sample_space_time(self.n, problem.time_span, method="uniform", seed=seed)
        else:
            points = problem.geometry.sample_interior(self.n, method="uniform", seed=seed)
        fresh = torch.as_tensor(np.asarray(points, dtype=np.float64), dtype=self.dtype, device=self.device)
        fresh = fresh.to(self.collocation.interior.dtype)  # float64 once L-BFGS has widened the points
        self.collocation.interior = shard(Collocation(interior=fresh), self.rank, self.world).interior
