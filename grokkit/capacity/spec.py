"""Capacity specs: TOML with ``[capacity]``, ``[train]``, ``[stack]``, ``[injection]``, ``[measures]``, ``[report]``.

Each section overrides the defaults of one typed config (``grokkit.capacity.config``);
unknown sections and keys are errors; ``--set section.key=value`` applies on top. The
checks that need several sections (a width above D, a task rounded to zero samples per
batch, an injection of zero samples) run here, before anything is written.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from itertools import product
from pathlib import Path
from typing import Any, Iterable

from grokkit.capacity.config import (CapacityTrainConfig, InjectionConfig, MeasureConfig, Member, MixtureConfig,
                                     ReportConfig, StackConfig)
from grokkit.capacity.mixture import batch_counts, frequencies, frequent_set, injected_samples
from grokkit.errors import ConfigError
from grokkit.spec import apply_overrides, read_spec, section_configs


@dataclass
class CapacitySpec:
    """Everything that defines a capacity study."""

    capacity: MixtureConfig = field(default_factory=MixtureConfig)
    """The task mixture."""
    train: CapacityTrainConfig = field(default_factory=CapacityTrainConfig)
    """Optimiser, schedule, batches."""
    stack: StackConfig = field(default_factory=StackConfig)
    """Widths, seeds and β values trained together."""
    injection: InjectionConfig = field(default_factory=InjectionConfig)
    """The injection experiment (off unless gaps are given)."""
    measures: MeasureConfig = field(default_factory=MeasureConfig)
    """When measures are taken."""
    report: ReportConfig = field(default_factory=ReportConfig)
    """The HTML report."""

    def __post_init__(self) -> None:
        check_spec(self)

    def to_dict(self) -> dict[str, dict[str, Any]]:
        return {name: dataclasses.asdict(getattr(self, name)) for name in SECTIONS}

    @property
    def betas(self) -> list[float]:
        return [float(b) for b in (self.stack.betas or [self.capacity.beta])]

    def members(self) -> list[Member]:
        """Every model of the stack: widths × seeds × β × gaps, width fastest."""
        gaps = self.injection.gaps or [0]
        return [Member(N=N, seed=seed, beta=beta, gap=gap)
                for beta, gap, seed, N in product(self.betas, gaps, range(self.stack.seeds), self.stack.widths)]


SECTIONS: dict[str, type] = {"capacity": MixtureConfig, "train": CapacityTrainConfig, "stack": StackConfig,
                             "injection": InjectionConfig, "measures": MeasureConfig, "report": ReportConfig}


def check_spec(spec: CapacitySpec) -> None:
    """The checks across sections; one ConfigError naming the field and what is allowed."""
    mix, train = spec.capacity, spec.train
    D = mix.dim
    for N in spec.stack.widths:
        if N > D:
            raise ConfigError(f"stack.widths: width {N} is above the input dimension D = {D}; allowed: 1 … {D}")
    for beta in spec.betas:
        pi = frequencies(mix.K, beta)
        if mix.rare in frequent_set(pi, mix.frequent_mass) and mix.K > 1:
            raise ConfigError(f"capacity.rare_task: task {mix.rare + 1} is in the frequent set F at β = {beta} "
                              f"(F holds π ≥ {mix.frequent_mass}); allowed: a task outside F (e.g. K = {mix.K})")
        for gap in spec.injection.gaps:
            m = injected_samples(gap, train.batch_size, float(pi[mix.rare]))
            if m < 1:
                exact = gap * train.batch_size * float(pi[mix.rare])
                raise ConfigError(f"injection.gaps: G = {gap} injects m = G·B·π_r = {exact:.2g} samples, which rounds "
                                  "to 0; allowed: larger gaps")
        if train.composition == "fixed" and train.objective == "sampled":
            counts = batch_counts(pi, train.batch_size)
            zero = [k + 1 for k, c in enumerate(counts) if c == 0]
            if zero:
                need = math.ceil(1 / float(pi[zero[0] - 1]))  # floor(B·π) >= 1 from here
                raise ConfigError(f"train.batch_size: task {zero[0]} (π = {float(pi[zero[0] - 1]):.2g} at β = {beta}) "
                                  f"rounds to 0 of {train.batch_size} samples per batch; allowed: batch_size >= "
                                  f"{need}, or train.composition = 'sampled'")
    if spec.injection.gaps:
        if train.objective != "sampled":
            raise ConfigError("train.objective: the injection experiment needs batches; allowed: 'sampled' "
                              "when injection.gaps is given")
        if train.composition != "fixed":
            raise ConfigError("train.composition: the injection experiment withholds the rare task from fixed batches; "
                              "allowed: 'fixed' when injection.gaps is given")


def spec_from_dict(data: dict[str, Any], source: str = "spec") -> CapacitySpec:
    """Build a CapacitySpec from nested dicts, rejecting unknown sections and keys."""
    return CapacitySpec(**section_configs(data, SECTIONS, source))


def load_capacity_spec(path: str | Path, overrides: Iterable[str] = ()) -> CapacitySpec:
    """Read a capacity TOML spec, apply ``--set`` overrides, and validate everything (memory included)."""
    spec = spec_from_dict(apply_overrides(read_spec(path), overrides), source=str(path))
    check_memory(spec)
    return spec


FLOAT = 4


def least_bytes(spec: CapacitySpec) -> int:
    """A lower bound on what one training step of the whole stack holds: per model, its copy of the batch
    ([B_max, D] inputs), its hidden and all-decoder outputs and their gradients ([B_max, N_max + K·d_T], twice),
    and its parameters with gradients and AdamW's two moments (4 copies of N_max·(D + K·d_T))."""
    mix, train = spec.capacity, spec.train
    injected = max((injected_samples(g, train.batch_size, float(frequencies(mix.K, b)[mix.rare]))
                    for g in spec.injection.gaps for b in spec.betas), default=0)
    rows = train.batch_size + injected
    n_max, outputs = max(spec.stack.widths), mix.K * mix.d_T
    per_model = rows * (mix.dim + 2 * (n_max + outputs)) + 4 * n_max * (mix.dim + outputs)
    return FLOAT * len(spec.members()) * per_model


def check_memory(spec: CapacitySpec, host: int | None = None) -> None:
    """Refuse (ConfigError naming stack.widths) a CPU stack that cannot fit in the host's memory."""
    from grokkit.limits import gigabytes, host_available

    if spec.train.device != "cpu":
        return  # a GPU's memory is its own; torch says so at the first step
    host = host_available() if host is None else host
    need = least_bytes(spec)
    if host is not None and need > host:
        raise ConfigError(f"stack.widths: {len(spec.members())} models up to width {max(spec.stack.widths)} need at "
                          f"least {gigabytes(need)} of host memory per step; {gigabytes(host)} is available; allowed: "
                          "fewer models (stack.widths, stack.seeds, stack.betas, injection.gaps) or a smaller "
                          "train.batch_size")
