"""Typed configs of the capacity study (Huang et al. 2026, "Why Larger Models Learn More").

Each section of a capacity spec overrides one of these dataclasses. Every value the paper
leaves open (block size d_T, learning rate, weight decay, warm-up, how a batch is split
between tasks, the injection batch's weighting) is a field here with a documented default;
the paper's own values are quoted beside each field.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from grokkit.checks import check_choice, check_int, check_list, check_nonneg, check_positive, check_unit, is_num
from grokkit.errors import ConfigError
from grokkit.train.device import DEVICES, resolve_device

COMPOSITIONS = ("fixed", "sampled")
OBJECTIVES = ("sampled", "expected")



@dataclass
class MixtureConfig:
    """The task mixture: K linear regressions on orthogonal blocks of a Gaussian input (paper Sec. 3, App. B.1)."""

    K: int = 32
    """Number of tasks (paper: 32; 16 in some runs)."""
    d_T: int = 32
    """Input dimensions of each task's block (open; d_T = 32 fits "5 directions hold 90 % of the energy" at α = 2)."""
    D: int | None = None
    """Input dimension (paper: 1024); absent: K·d_T. Dimensions past K·d_T are noise no task reads."""
    beta: float = 1.0
    """Task frequencies π_k ∝ k^−β, k = 1 … K (paper: 0.5, 1, 1.5, 2; Fig. 2a uses 1); the default of stack.betas."""
    alpha: float = 2.0
    """Spectrum λ_{k,j} = j^−α of every task (paper: 2 in the main text, 1 in App. B.1)."""
    alphas: list[float] | None = None
    """Per-task α (length K), for the mixed-complexity runs (App. D); absent: alpha for every task."""
    rare_task: int | None = None
    """The rare task r (1-based) of the interference measure and the injection experiment; absent: K."""
    frequent_mass: float = 0.8
    """F is the smallest set of most frequent tasks with total π ≥ this (paper: 0.8)."""

    def __post_init__(self) -> None:
        check_int("capacity.K", self.K, 1)
        check_int("capacity.d_T", self.d_T, 1)
        if self.D is not None:
            check_int("capacity.D", self.D, 1)
            if self.D < self.K * self.d_T:
                raise ConfigError(f"capacity.D: must be >= K·d_T = {self.K * self.d_T} (each task owns a block), "
                                  f"got {self.D}")
        if not is_num(self.beta) or self.beta <= 0:
            raise ConfigError(f"capacity.beta: must be a finite number > 0 (π_k ∝ k^−β), got {self.beta!r}")
        check_positive("capacity.alpha", self.alpha)
        if self.alphas is not None:
            if not isinstance(self.alphas, list) or len(self.alphas) != self.K:
                raise ConfigError(f"capacity.alphas: must be a list of K = {self.K} numbers, got {self.alphas!r}")
            for i, a in enumerate(self.alphas):
                check_positive(f"capacity.alphas[{i}]", a)
        if self.rare_task is not None:
            check_int("capacity.rare_task", self.rare_task, 1)
            if self.rare_task > self.K:
                raise ConfigError(f"capacity.rare_task: must be <= K = {self.K}, got {self.rare_task}")
        if not is_num(self.frequent_mass) or not 0 < self.frequent_mass <= 1:
            raise ConfigError(f"capacity.frequent_mass: must be in (0, 1], got {self.frequent_mass!r}")

    @property
    def dim(self) -> int:
        """The input dimension D."""
        return self.D if self.D is not None else self.K * self.d_T

    @property
    def rare(self) -> int:
        """The rare task, 0-based."""
        return (self.rare_task or self.K) - 1

    def task_alphas(self) -> list[float]:
        return [float(a) for a in self.alphas] if self.alphas is not None else [float(self.alpha)] * self.K


@dataclass
class CapacityTrainConfig:
    """AdamW with the inverse-square-root schedule and gradient clipping (paper App. B.1)."""

    steps: int = 100_000
    """Optimiser steps (paper: 100 000; 1 M changed nothing)."""
    batch_size: int = 1024
    """Samples per step B (paper: 1024; 512 in the retention runs)."""
    composition: str = "fixed"
    """How a batch is split between tasks (open): fixed, round(B·π_k) samples of each task every step
    (largest remainders; a task rounded to 0 is an error), or sampled, each sample's task drawn from π."""
    objective: str = "sampled"
    """sampled: the paper's method (fresh Gaussian batches); expected: a variant, not the paper's method,
    descending the exact full-batch expected loss Σ_k π_k ‖D_k W − A_k‖²_F / d_T."""
    lr: float = 1e-3
    """Peak learning rate ("default hyper-parameters": torch's AdamW default, 1e-3)."""
    warmup_steps: int = 100
    """Linear warm-up, then lr·√(warmup/t) (open: the paper names the inverse-square-root schedule only)."""
    weight_decay: float = 1e-2
    """Decoupled AdamW weight decay on W and the decoders (torch's default, 1e-2)."""
    beta1: float = 0.9
    """Adam β1 (torch's default)."""
    beta2: float = 0.999
    """Adam β2 (torch's default)."""
    eps: float = 1e-8
    """Adam ε (torch's default)."""
    clip: float = 1.0
    """Gradient clipping: each model's own gradient norm (encoder and all decoders) is capped at this (paper: 1.0);
    0 turns it off."""
    device: str = "cpu"
    """cpu, cuda or auto."""

    def __post_init__(self) -> None:
        check_int("train.steps", self.steps, 1)
        check_int("train.batch_size", self.batch_size, 1)
        check_choice("train.composition", self.composition, COMPOSITIONS)
        check_choice("train.objective", self.objective, OBJECTIVES)
        check_positive("train.lr", self.lr)
        check_int("train.warmup_steps", self.warmup_steps, 0)
        check_nonneg("train.weight_decay", self.weight_decay)
        check_unit("train.beta1", self.beta1)
        check_unit("train.beta2", self.beta2)
        check_positive("train.eps", self.eps)
        check_nonneg("train.clip", self.clip)
        check_choice("train.device", self.device, DEVICES)

    def resolve_device(self) -> str:
        return resolve_device(self.device)


@dataclass
class StackConfig:
    """The models trained together in one stack: every width × seed × β (× injection gap)."""

    widths: list[int] = field(default_factory=lambda: [2, 4, 8, 16, 32, 64, 128, 256])
    """Encoder widths N (paper: 2 … 256); each must be <= D."""
    seeds: int = 1
    """Seeds per setting (data stream and init)."""
    betas: list[float] | None = None
    """Frequency exponents β to stack (absent: [capacity.beta])."""

    def __post_init__(self) -> None:
        check_list("stack.widths", self.widths, check_int, 1)
        check_int("stack.seeds", self.seeds, 1)
        if self.betas is not None:
            check_list("stack.betas", self.betas, check_positive)


@dataclass
class InjectionConfig:
    """The injection experiment: the rare task withheld for G steps, then one batch carrying m = G·B·π_r samples."""

    gaps: list[int] = field(default_factory=list)
    """Gaps G to stack (paper: 64 … 1280); empty: no injection, the rare task is in every batch."""

    def __post_init__(self) -> None:
        if self.gaps:
            check_list("injection.gaps", self.gaps, check_int, 1)


@dataclass
class MeasureConfig:
    """When and how the measures are taken during training."""

    eval_every: int = 1000
    """Steps between measurements (also at step 0 and the last step)."""
    interference_batch: int = 1024
    """Samples in each of the two batches (rare task; frequent set F) whose encoder gradients are compared."""
    learned: float = 0.5
    """A task counts as learned when s_k exceeds this (paper: 0.5)."""

    def __post_init__(self) -> None:
        check_int("measures.eval_every", self.eval_every, 1)
        check_int("measures.interference_batch", self.interference_batch, 1)
        if not is_num(self.learned) or not 0 < self.learned < 1:
            raise ConfigError(f"measures.learned: must be in (0, 1), got {self.learned!r}")


@dataclass
class ReportConfig:
    """The HTML report."""

    title: str = "Capacity, interference and rare-task retention"
    """Heading of the report."""

    def __post_init__(self) -> None:
        if not isinstance(self.title, str):
            raise ConfigError(f"report.title: must be a string, got {self.title!r}")


@dataclass(frozen=True)
class Member:
    """One model of the stack: what makes it differ from its neighbours."""

    N: int
    """Encoder width."""
    seed: int
    """Seed of its data stream and its init."""
    beta: float
    """Its frequency exponent."""
    gap: int = 0
    """Injection gap G (0: no injection)."""

    @property
    def data_key(self) -> tuple:
        """Members with equal keys see the very same batches (width does not change the data)."""
        return (self.seed, self.beta, self.gap)
