"""Typed configs of the sparse toy model on finite datasets (Henighan et al. 2023).

Each section of a toy task spec overrides one of these dataclasses; ``ToySpec`` holds one of
each (``grokkit.toy.spec`` reads it from TOML). Every choice the paper left unpublished (Adam
betas/eps, bias decay, cosine shape, test-set size) is a field here with the value the
replications used.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

from grokkit.checks import check_int, check_list, check_nonneg, check_unit, is_num
from grokkit.errors import ConfigError
from grokkit.train.device import DEVICES, resolve_device

COSINES = ("half", "quarter")

# The T grid of a published replication (3 … 100k), used when a spec names none.
PAPER_T = [3, 5, 6, 8, 10, 15, 30, 50, 100, 200, 500, 1000, 2000, 5000, 10_000, 20_000, 50_000, 100_000]


@dataclass
class ToyConfig:
    """Model and data of one toy model (the defaults are the paper's scale)."""

    n: int = 10_000
    """Number of features (paper: 10 000; Hobbhahn's reduced scale: 1 000)."""
    m: int = 2
    """Hidden dimensions (paper: 2 and a sweep); the default of sweep.m."""
    S: float = 0.999
    """Sparsity: each feature is 0 with probability S (paper: 0.999); the default of sweep.S."""
    R: int = 1
    """Copies of training point 0 in the set (1: no repetition); the default of sweep.R."""
    normalise: bool = True
    """Rescale every point to unit L2 norm (finite-data paper); false: raw uniform values (Elhage 2022)."""
    test_points: int = 1_000
    """Fresh test points, normalised the same way (unpublished; replications use 1 000–5 000)."""

    def __post_init__(self) -> None:
        check_int("toy.n", self.n, 1)
        check_int("toy.m", self.m, 1)
        check_unit("toy.S", self.S)
        check_int("toy.R", self.R, 1)
        if not isinstance(self.normalise, bool):
            raise ConfigError(f"toy.normalise: must be true or false, got {self.normalise!r}")
        check_int("toy.test_points", self.test_points, 1)
        if self.m > self.n:
            raise ConfigError(f"toy.m: must be <= toy.n ({self.n}), got {self.m}")


@dataclass
class ToyTrainConfig:
    """Full-batch AdamW with linear warm-up and cosine decay (the paper's recipe)."""

    steps: int = 50_000
    """Full-batch optimiser steps (paper: 50 000)."""
    lr: float = 1e-3
    """Peak learning rate, reached at the end of warm-up (paper: 1e-3)."""
    warmup_steps: int = 2_500
    """Linear warm-up from 0 to lr over this many steps (paper: 2 500)."""
    cosine: str = "half"
    """Decay after warm-up: half (0.5·(1 + cos πp)) or quarter (cos(πp/2)); unpublished, both reach 0."""
    weight_decay: float = 1e-2
    """Decoupled AdamW weight decay (paper: 1e-2); the default of sweep.weight_decay."""
    decay_bias: bool = True
    """Apply weight decay to b as well as W (unpublished; plain AdamW over all parameters does)."""
    beta1: float = 0.9
    """Adam β1 (unpublished; replications use 0.9)."""
    beta2: float = 0.999
    """Adam β2 (unpublished; replications use 0.999)."""
    eps: float = 1e-8
    """Adam ε (unpublished; replications use 1e-8)."""
    best_of: int = 1
    """Init seeds trained per model; the one with the lowest final train loss is kept (matters at m <= 3)."""
    best_of_max_T: int = 0
    """Apply best_of only to models with T <= this (0: every T); small sets are where inits get stuck and cheap to redo."""
    block_elements: int = 1 << 20
    """Floats of the dense reconstruction (instances × points × n) built at once: 4 MB stays in CPU cache
    (measured 3× faster than 64 MB blocks on a 2-core CPU); raise it on a GPU."""
    device: str = "auto"
    """auto (CUDA when present), cpu or cuda."""

    def __post_init__(self) -> None:
        check_int("train.steps", self.steps, 1)
        check_nonneg("train.lr", self.lr)
        check_int("train.warmup_steps", self.warmup_steps, 0)
        if self.warmup_steps > self.steps:
            raise ConfigError(f"train.warmup_steps: must be <= train.steps ({self.steps}), got {self.warmup_steps}")
        if self.cosine not in COSINES:
            raise ConfigError(f"train.cosine: must be one of {', '.join(COSINES)}, got {self.cosine!r}")
        check_nonneg("train.weight_decay", self.weight_decay)
        if not isinstance(self.decay_bias, bool):
            raise ConfigError(f"train.decay_bias: must be true or false, got {self.decay_bias!r}")
        check_unit("train.beta1", self.beta1)
        check_unit("train.beta2", self.beta2)
        if not is_num(self.eps) or not 0 < self.eps < math.inf:
            raise ConfigError(f"train.eps: must be a finite number > 0, got {self.eps!r}")
        check_int("train.best_of", self.best_of, 1)
        check_int("train.best_of_max_T", self.best_of_max_T, 0)
        check_int("train.block_elements", self.block_elements, 1)
        if self.device not in DEVICES:
            raise ConfigError(f"train.device: must be one of {', '.join(DEVICES)}, got {self.device!r}")

    def resolve_device(self) -> str:
        return resolve_device(self.device)


@dataclass
class SweepConfig:
    """The grid: every combination of the lists below, times `seeds` datasets, times train.best_of inits."""

    T: list[int] = field(default_factory=lambda: list(PAPER_T))
    """Training-set sizes (paper: 3 … 100 000)."""
    m: list[int] | None = None
    """Hidden dimensions to sweep (absent: [toy.m])."""
    S: list[float] | None = None
    """Sparsities to sweep (absent: [toy.S])."""
    weight_decay: list[float] | None = None
    """Weight decays to sweep (absent: [train.weight_decay])."""
    R: list[int] | None = None
    """Repetition counts of training point 0 to sweep (absent: [toy.R])."""
    seeds: int = 4
    """Dataset seeds per grid point (paper: test loss averaged over 4)."""
    chunk_instances: int = 32
    """At most this many models trained together in one chunk (the unit of resumption)."""

    def __post_init__(self) -> None:
        check_list("sweep.T", self.T, check_int, 1)
        if self.m is not None:
            check_list("sweep.m", self.m, check_int, 1)
        if self.S is not None:
            check_list("sweep.S", self.S, check_unit)
        if self.weight_decay is not None:
            check_list("sweep.weight_decay", self.weight_decay, check_nonneg)
        if self.R is not None:
            check_list("sweep.R", self.R, check_int, 1)
        check_int("sweep.seeds", self.seeds, 1)
        check_int("sweep.chunk_instances", self.chunk_instances, 1)


@dataclass
class ReportConfig:
    """What the HTML report shows beyond the standard figures."""

    hidden_T: list[int] | None = None
    """T values whose m = 2 W columns and hidden vectors are drawn (absent: up to 4 spread over sweep.T)."""
    title: str = "Toy model of superposition on finite data"
    """Heading of the report."""

    def __post_init__(self) -> None:
        if self.hidden_T is not None:
            check_list("report.hidden_T", self.hidden_T, check_int, 1)
        if not isinstance(self.title, str):
            raise ConfigError(f"report.title: must be a string, got {self.title!r}")


@dataclass(frozen=True)
class ToyInstance:
    """One model of a sweep: everything that makes it differ from its neighbours on the instance axis."""

    n: int
    """Number of features."""
    m: int
    """Hidden dimensions."""
    S: float
    """Sparsity of its data."""
    T: int
    """Training-set size."""
    R: int
    """Copies of training point 0 (1: none)."""
    weight_decay: float
    """Its AdamW weight decay."""
    data_seed: int
    """Seed of its training set (the test set depends on it too, not on T)."""
    init_seed: int
    """Index of its init among train.best_of."""
    normalise: bool = True
    """Unit-norm points."""
    test_points: int = 1_000
    """Size of its test set."""

    def __post_init__(self) -> None:
        if self.R > self.T:
            raise ConfigError(f"sweep.R: must be <= T, got R = {self.R} with T = {self.T}")
        if self.m > self.n:
            raise ConfigError(f"sweep.m: must be <= toy.n ({self.n}), got {self.m}")

    @property
    def group(self) -> tuple:
        """Key shared by the best_of inits of one model."""
        return (self.n, self.m, self.S, self.T, self.R, self.weight_decay, self.data_seed)


@dataclass
class ToySpec:
    """Everything that defines a toy-model sweep: one config per section of its TOML spec."""

    toy: ToyConfig = field(default_factory=ToyConfig)
    """Model and data."""
    train: ToyTrainConfig = field(default_factory=ToyTrainConfig)
    """Optimiser and schedule."""
    sweep: SweepConfig = field(default_factory=SweepConfig)
    """The grid of models."""
    report: ReportConfig = field(default_factory=ReportConfig)
    """Extra report settings."""

    def to_dict(self) -> dict[str, dict[str, Any]]:
        return {name: dataclasses.asdict(getattr(self, name)) for name in SECTIONS}


SECTIONS: dict[str, type] = {"toy": ToyConfig, "train": ToyTrainConfig, "sweep": SweepConfig, "report": ReportConfig}
