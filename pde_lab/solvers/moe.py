r"""Physics-informed hard constraints with a mixture of experts, PI-HC-MoE (Chalapathi, Du &
Krishnapriyan, "Scaling physics-informed hard constraints with mixture-of-experts", ICLR 2024).

A basis network :math:`b_\theta(x, t; z) \in \mathbb R^N` (``z``: the instance's initial data at
``sensors`` points) is trained across a family of instances. For each instance the domain is
split into ``K`` fixed blocks; expert ``k`` solves

.. math::

    \omega_k^\star = \arg\min_\omega \lVert r_k(b_\theta\cdot\omega)\rVert^2 + \rho^2\lVert\omega\rVert^2

(PDE residual at ``constraint_points`` nodes of its block, initial and boundary rows; batched
Levenberg–Marquardt in float64) and gradients reach :math:`\theta` through the implicit
function theorem (:mod:`pde_lab.hard_constraints.layer`). The loss is physics only:

.. math::

    L(\theta) = \operatorname{mean}_{\text{batch}}\big(\,\mathrm{RMS}\,T(u_t - F[u]) +
        \mathrm{RMS}(\text{initial and boundary rows})\big), \qquad
    u = \textstyle\sum_k \mathbf 1_{\Omega_k}\, b_\theta\cdot\omega_k^\star ,

with the derivatives taken by grid differences of the assembled :math:`u` (as the paper's
loss does), so jumps between experts are penalised. Every expert's solve carries all of the
problem's initial and boundary rows (the paper's global IC/BC residuals).

The experts of a step are one batched solve. Under ``torchrun`` (``torch.distributed``) each
rank solves its share of them (experts ``rank, rank + world, ...``; ``K >= world``): the
backbone is replicated and wrapped in DDP, the experts' weights are all-gathered
(:func:`~pde_lab.distributed.gather`, differentiable) to assemble the field, each rank sums the
squared residuals at its experts' nodes, and :func:`~pde_lab.distributed.global_sum` adds the
ranks' sums before the square roots, so loss and gradient are those of one process.

``mode="global"`` is one constraint over the whole domain (PI-HC, ``K = 1``);
``mode="soft"`` trains the same backbone with one output on the same loss (PI-SC).

Backbones (:mod:`pde_lab.hard_constraints.backbones`): the paper's FNO on the grid
(``backbone="fno"``, the default; on diffusion–sorption 0.021 after 1,000 steps) or an MLP of
(coordinates, sensors) (``"mlp"``: cheaper per step, evaluable between grid nodes, but 0.127
after the same 1,000 steps; BENCHMARKS.md, hc-moe). Adam runs with the paper's global-norm
clipping (1.0) and staircase decay (×0.5 every 800 steps, floor 1e-4).

Periodic spatial axes are differentiated spectrally, and a problem that declares its second
field the stream function of the first (:func:`problems.vorticity_decay.vorticity_decay`, the
paper's unforced Navier–Stokes) gets it by FFT from each expert's field; with
``exact_initial=True`` the initial vorticity is built in, as in the paper's NS setting.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from pde_lab.problem import Problem
from pde_lab.solution import Solution
from pde_lab.solvers.pinn import resolve_device, resolve_dtype
from pde_lab.validation import check_int, check_ints, check_positive

__all__ = ["HCMoE", "TrainedBasis"]

MODES = ("moe", "global", "soft")
BACKBONES = ("mlp", "fno")


class TrainedBasis:
    """The trained basis network with its experts: solves any member of the family without
    retraining (``trained.solution(problem)``). ``backbone`` is a
    :class:`~pde_lab.hard_constraints.backbones.PointBasis` or ``GridBasis``."""

    def __init__(self, backbone, experts, settings: HCMoE, dtype, device=None) -> None:
        import torch

        self.backbone, self.experts, self.settings, self.dtype = backbone, experts, settings, dtype
        self.device = torch.device("cpu" if device is None else device)

    @property
    def network(self):
        return self.backbone.network

    def encode(self, problem: Problem):
        """The instance's code (its initial data at the sensors or the grid) on the basis's device."""
        return self.backbone.encode(problem, self.dtype).to(self.device)

    def weights(self, instances, codes, rows, generator, info=None, owned=None):
        """Expert weights ``(b, K, N)`` (ones for the soft mode) and the basis jets on the grid;
        with ``owned``, the weights of those experts only, ``(b, len(owned), N)``."""
        import torch

        from pde_lab.hard_constraints.layer import LMOptions

        s = self.settings
        basis = self.backbone(codes)
        if self.experts.exact_initial:
            basis = self.experts.embed(basis, rows)
        jets = self.experts.jets(basis)
        if s.mode == "soft":
            count = self.experts.experts if owned is None else len(owned)
            return torch.ones(len(instances), count, 1, dtype=self.dtype, device=self.device), jets
        options = LMOptions(s.lm_iterations, s.lm_tolerance, s.ridge, hessian=s.hessian)
        omega = self.experts.solve_weights(instances, jets, rows, s.constraint_points, generator, options,
                                           s.boundary_weight, s.initial_weight, info, owned)
        return omega, jets

    def solution(self, problem: Problem, seed: int = 0) -> Solution:
        """Constrained solve for ``problem`` (a member of the family) and its Solution."""
        import torch

        from pde_lab.hard_constraints.moe import block_of

        start = time.perf_counter()
        with torch.no_grad():
            code = self.encode(problem)[None]
            generator = torch.Generator().manual_seed(seed)
            info: dict = {}
            omega, jets = self.weights([problem], code, [self.experts.linear_rows(problem, self.dtype)], generator, info)
        experts, backbone = self.experts, self.backbone
        # the stream function and the embedded initial data live on the grid
        on_grid = backbone.at is None or experts.derived is not None or experts.exact_initial
        if on_grid:  # the blended field at the nodes, interpolated
            nodal = (jets[()][0] * experts.node_weights(omega)[0]).sum(-1)
            if experts.derived is not None:  # and its stream function
                nodal = torch.cat([nodal[:, None], experts.grid.stream_function(nodal[None, :, None])[0]], dim=1)
            nodal = nodal.double().cpu().numpy()

        def evaluate(points: np.ndarray) -> np.ndarray:
            if on_grid:
                return experts.grid.interpolate(nodal, points).reshape(len(points), -1)
            with torch.no_grad():
                basis = backbone.at(torch.as_tensor(points, dtype=self.dtype, device=self.device), code)[0]
                block = torch.as_tensor(block_of(points, experts.lower, experts.upper, experts.splits), device=self.device)
                return (basis * omega[0, block]).sum(-1, keepdim=True).double().cpu().numpy()

        from pde_lab.solution import Status

        stats = {"wall_s": time.perf_counter() - start, "peak_mem_mb": 0.0, "iterations": info.get("iterations", 0),
                 "device": str(self.device), "dtype": str(self.dtype).removeprefix("torch.")}
        return Solution(problem, evaluate, self.settings.name, Status.CONVERGED, "constrained solve", stats, {}, self)


def _all_experts(omega, K: int, world: int):
    """``(b, K, N)`` from each rank's ``(b, len(owned), N)`` (rank r owns r, r + world, ...),
    differentiable: gradients return to the rank that solved each expert."""
    import torch

    from pde_lab.distributed import gather

    per = -(-K // world)
    padded = torch.nn.functional.pad(omega, (0, 0, 0, per - omega.shape[1]))
    parts = gather(padded)  # (world, b, per, N); expert j * world + r sits at [r, :, j]
    return parts.permute(1, 2, 0, 3).reshape(omega.shape[0], per * world, -1)[:, :K]


@dataclass(frozen=True)
class HCMoE:
    """PI-HC-MoE and its two baselines, trained on a family of instances.

    Parameters
    ----------
    mode
        ``"moe"`` (K experts), ``"global"`` (one hard constraint, PI-HC) or ``"soft"`` (PI-SC).
    experts
        ``K`` (split along the first spatial axis, as the paper's diffusion–sorption ``[1, 4]``)
        or a split per axis (space..., time), e.g. ``(2, 2, 1)``.
    basis
        Number of basis functions ``N`` (paper: 16 for diffusion–sorption, 64 for NS).
    grid
        Nodes per axis (space..., time); default the paper's 1024 × 101 in 1D.
    constraint_points
        PDE rows per expert ``m``, resampled each step (paper: 20000; capped by the block).
    family, train_instances
        ``seed -> Problem`` giving the training instances (the paper's 8000 initial states);
        ``None`` trains on the problem alone.
    batch, steps, learning_rate
        Instances per step, Adam steps, step size (paper: 6, 4000, 1e-3).
    lr_decay, lr_floor, clip_norm
        Staircase decay ``(factor, every)`` of the step size down to ``lr_floor``, and the
        gradient's global-norm clip (paper: (0.5, 800), 1e-4, 1.0); ``None`` turns either off.
    backbone
        ``"mlp"``: an MLP of (coordinates, initial data at ``sensors`` points), ``width`` wide,
        ``depth`` hidden layers, ``activation``. ``"fno"`` (the paper's): an FNO on the grid
        of the initial data broadcast over time, ``width`` channels, ``depth`` Fourier layers
        with ``modes`` modes per axis (paper: 64, 5, 8), projection 128, GELU.
    width, depth, activation, sensors, modes
        See ``backbone``.
    lm_iterations, lm_tolerance, ridge, hessian, initial_weight
        Inner solve: Levenberg–Marquardt budget and tolerance (paper: 50, 1e-4), ridge ``ρ``
        (1e-4), implicit-gradient Hessian (``"exact"`` or ``"gauss-newton"``), start ``ω0``.
    boundary_weight
        Weight of the initial/boundary rows against the PDE rows in the solve. The PDE rows are
        T-scaled, and each row group is scaled by 1/sqrt(rows). Diffusion–sorption needs about
        300, which is near the paper's physical-units weighting: 1 gives 0.73 there, 300 gives
        0.021.
    initial_layer
        :math:`\tau`: PDE rows weighted by :math:`1 - e^{-(t-t_0)/(\tau T)}` (see
        :class:`~pde_lab.hard_constraints.moe.Experts`); 0, the default, is the paper's
        unweighted rows.
    shared_rows
        Every expert carries all initial and boundary rows (the paper's global IC/BC
        residuals); ``False`` keeps only the rows inside its block (a development option:
        blocks away from the boundary then decouple).
    exact_initial
        Build the initial data into the field, ``u = u0(x) + (t - t0)/T · b·ω``
        (the paper's Navier–Stokes setting) instead of constraining it by rows.
    checkpoint, checkpoint_every, resume
        As for :class:`~pde_lab.solvers.pinn.PINN` (every ``checkpoint_every`` steps, at the end and
        on SIGTERM/SIGINT; the generator that picks the instances and the rows is part of it, so
        a resumed run, seeded on the CPU, ends bit for bit where an uninterrupted one ends; a
        larger ``steps`` may be given on resume).
    dtype, device, seed, progress, cpu_threads
        As for :class:`~pde_lab.solvers.pinn.PINN`: float64 by default (the inner solve runs in
        float64 whatever the network's dtype); ``device=None`` is CUDA when torch sees a GPU. The
        grid's index arrays stay on the host and the rows are drawn by a CPU generator, so a seeded
        run draws the same rows on every device.
    """

    mode: str = "moe"
    experts: int | tuple[int, ...] = 4
    basis: int = 16
    grid: tuple[int, ...] | None = None
    constraint_points: int = 20000
    family: Callable[[int], Problem] | None = None
    train_instances: int = 8000
    batch: int = 6
    steps: int = 4000
    learning_rate: float = 1e-3
    lr_decay: tuple[float, int] | None = (0.5, 800)
    lr_floor: float = 1e-4
    clip_norm: float | None = 1.0
    width: int = 64
    depth: int = 5
    activation: str = "tanh"
    sensors: int = 16
    backbone: str = "fno"
    modes: int | tuple[int, ...] = 8
    lm_iterations: int = 50
    lm_tolerance: float = 1e-4
    ridge: float = 1e-4
    hessian: str = "exact"
    initial_weight: float = 1.0
    boundary_weight: float = 1.0
    initial_layer: float = 0.0
    shared_rows: bool = True
    exact_initial: bool = False
    weights: dict[str, float] = field(default_factory=dict)
    dtype: str = "float64"
    device: str | None = None
    seed: int = 0
    progress: bool | None = None
    cpu_threads: int | None = 1
    checkpoint: str | None = None
    checkpoint_every: int = 100
    resume: bool = False

    name = "hc-moe"

    def splits(self, problem: Problem) -> tuple[int, ...]:
        if self.mode != "moe":
            return (1,) * problem.input_dim
        if isinstance(self.experts, int) and not isinstance(self.experts, bool):
            if self.experts < 1:
                raise ValueError(f"experts must be >= 1, got {self.experts}")
            return (self.experts,) + (1,) * (problem.input_dim - 1)
        splits = tuple(self.experts)
        if len(splits) != problem.input_dim or not all(isinstance(s, int) and s >= 1 for s in splits):
            raise ValueError(f"experts must be an int or {problem.input_dim} positive ints (space..., time), got {self.experts!r}")
        return splits

    def check(self, problem: Problem) -> None:
        """Raise ``ValueError`` (``TypeError``) saying why this solver cannot solve ``problem``; trains nothing."""
        self._check(problem)

    def _check(self, problem: Problem) -> None:
        if not isinstance(problem, Problem):
            raise TypeError(f"HCMoE.solve expects a Problem, got {type(problem).__name__}")
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {self.mode!r}")
        if self.backbone not in BACKBONES:
            raise ValueError(f"backbone must be one of {BACKBONES}, got {self.backbone!r}")
        modes = (self.modes,) if isinstance(self.modes, int) else tuple(self.modes)
        if not all(isinstance(m, int) and not isinstance(m, bool) and m >= 1 for m in modes) or \
                (len(modes) not in (1, problem.input_dim)):
            raise ValueError(f"modes must be a positive int or one per axis ({problem.input_dim}), got {self.modes!r}")
        if not problem.is_time_dependent:
            raise ValueError("hc-moe is implemented for evolution problems (its instances differ by initial data)")
        from pde_lab.hard_constraints.moe import check_domain
        from pde_lab.hard_constraints.pointwise import required_partials

        check_domain(problem)
        required_partials(problem)  # derivatives up to second order
        check_ints(self, ("basis", "constraint_points", "train_instances", "batch", "sensors", "width", "depth"))
        check_int("steps", self.steps, minimum=0)
        if self.lr_decay is not None:
            factor, every = self.lr_decay
            if not (0 < factor <= 1) or isinstance(every, bool) or not isinstance(every, int) or every < 1:
                raise ValueError(f"lr_decay must be (factor in (0, 1], every >= 1 steps), got {self.lr_decay!r}")
        check_positive("lr_floor", self.lr_floor)
        from pde_lab.checkpoint import checkpointing_of

        checkpointing_of(self)
        unknown = set(self.weights) - {"pde", "boundary"}
        if unknown:
            raise ValueError(f"unknown loss weights {sorted(unknown)}; use 'pde', 'boundary'")

    def solve(self, problem: Problem) -> Solution:
        import torch

        from pde_lab.checkpoint import BUDGET_SETTINGS, checkpointing_of, run_fingerprint
        from pde_lab.distributed import global_sum, rank_and_world, wrap
        from pde_lab.hard_constraints.backbones import PointBasis, fno_backbone
        from pde_lab.hard_constraints.moe import Experts
        from pde_lab.memory import PeakMemory
        from pde_lab.nets import MLP
        from pde_lab.training import cpu_threads, train

        self._check(problem)
        device, dtype = resolve_device(self.device), resolve_dtype(self.dtype)
        grid = self.grid or ((1024, 101) if problem.spatial_dim == 1 else (64,) * problem.spatial_dim + (64,))
        start = time.perf_counter()
        with PeakMemory(str(device)) as memory, cpu_threads(self.cpu_threads), torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed)
            experts = Experts(problem, grid, self.splits(problem), self.initial_layer, self.shared_rows,
                              self.exact_initial)
            lower, upper = experts.lower, experts.upper
            size = 1 if self.mode == "soft" else self.basis
            if self.backbone == "fno":
                backbone = fno_backbone(experts.grid, size, self.modes, self.width, self.depth, dtype).to(device)
            else:
                n_sensors = self.sensors
                sensors = np.linspace(lower[:-1], upper[:-1], n_sensors).reshape(n_sensors, -1)
                network = MLP(problem.input_dim + n_sensors, size, self.width, self.depth, self.activation,
                              np.concatenate([lower, -np.ones(n_sensors)]), np.concatenate([upper, np.ones(n_sensors)]))
                backbone = PointBasis(network.to(device=device, dtype=dtype), experts.points, sensors)
            network = backbone.network
            rank, world = rank_and_world()
            if experts.experts < world:
                raise ValueError(f"hc-moe on torch.distributed gives each rank whole experts: {world} ranks need "
                                 f"at least {world} experts, got K = {experts.experts} (mode {self.mode!r})")
            owned = list(range(rank, experts.experts, world)) if world > 1 else None
            backbone.network = wrap(network, device)  # DDP averages the gradients of the ranks
            trained = TrainedBasis(backbone, experts, self, dtype, device)
            family = [problem] if self.family is None else None
            cache: dict[int, tuple] = {}

            def instance(i: int):
                if i not in cache:
                    member = family[i] if family is not None else self.family(i)
                    cache[i] = (member, trained.encode(member), experts.linear_rows(member, dtype))
                return cache[i]

            count = 1 if family is not None else self.train_instances
            generator = torch.Generator().manual_seed(self.seed)
            lm_iterations = [0]  # the last step's; train's history keeps them all (checkpoints too)

            def loss_terms():
                picked = torch.randint(count, (self.batch,), generator=generator).tolist()
                members, codes, rows = zip(*(instance(i) for i in picked), strict=True)
                info: dict = {}
                omega, jets = trained.weights(list(members), torch.stack(codes), list(rows), generator, info, owned)
                lm_iterations[0] = info.get("iterations", 0)
                if world > 1:  # every expert's weights, for the assembled field
                    omega = _all_experts(omega, experts.experts, world)
                return experts.blended_terms(list(members), jets, list(rows), omega, owned,
                                             global_sum if world > 1 else None)

            schedule = None
            if self.lr_decay is not None:
                factor, every = self.lr_decay
                floor = self.lr_floor / self.learning_rate
                schedule = lambda k: max(factor ** (k // every), floor)  # noqa: E731
            train_start = time.perf_counter()
            result = train(list(network.parameters()), loss_terms, adam_steps=self.steps, lbfgs_steps=0,
                           learning_rate=self.learning_rate, weights=dict(self.weights),
                           progress=self.progress if rank == 0 else False,
                           description=f"{self.name}[{self.mode}] {problem.name}", schedule=schedule,
                           clip_norm=self.clip_norm, generators=[generator], checkpoint=checkpointing_of(self),
                           observe=lambda: {"lm_iterations": lm_iterations[0]},
                           fingerprint=run_fingerprint(self, problem, network, BUDGET_SETTINGS | {"steps"}))
            train_wall = time.perf_counter() - train_start
            backbone.network = network  # unwrapped: the trained basis solves members on any process
            network.eval()
            solution = trained.solution(problem, seed=self.seed)
        stats = {
            "wall_s": time.perf_counter() - start, "peak_mem_mb": memory.peak_mb, "iterations": result.iterations,
            "device": str(device), "dtype": str(dtype).removeprefix("torch."), "mode": self.mode,
            "experts": experts.experts, "world_size": world, "step_s": train_wall / max(result.iterations, 1),
            "mean_lm_iterations": float(np.mean(result.history.get("lm_iterations") or [0.0])),
            "final_loss": result.history["loss"][-1] if result.history["loss"] else None,
        }
        return Solution(problem, solution.field, self.name, result.status, result.message, stats, result.history, trained)
