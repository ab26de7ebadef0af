"""Toy task specs: TOML with ``[toy]``, ``[train]``, ``[sweep]`` and ``[report]`` sections.

Each section overrides the defaults of one typed config (grokkit.toy.config);
unknown sections and keys are errors. ``--set section.key=value`` applies on top,
parsed as TOML (``--set train.steps=2000``, ``--set sweep.T=[5,50,500]``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from grokkit.spec import apply_overrides, read_spec, section_configs
from grokkit.toy.config import ReportConfig, SweepConfig, ToyConfig, ToyTrainConfig


@dataclass
class ToySpec:
    """Everything that defines a toy-model sweep."""

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


def spec_from_dict(data: dict[str, Any], source: str = "spec") -> ToySpec:
    """Build a ToySpec from nested dicts, rejecting unknown sections and keys."""
    return ToySpec(**section_configs(data, SECTIONS, source))


def load_toy_spec(path: str | Path, overrides: Iterable[str] = ()) -> ToySpec:
    """Read a toy TOML spec, apply ``--set`` overrides, and validate everything (and every grid point)."""
    from grokkit.toy.sweep import expand_grid

    spec = spec_from_dict(apply_overrides(read_spec(path), overrides), source=str(path))
    expand_grid(spec)  # per-model checks (R <= T, m <= n) before anything touches disk
    check_memory(spec)
    return spec


FLOAT = 4


def least_bytes(spec: ToySpec, n: int) -> int:
    """A lower bound on what one chunk of the sweep allocates with ``n`` features: the dense uniform draw
    of a block of points (float32 values, their mask and their sort keys: about 3 floats a cell) and the
    chunk's weights W, b with their gradients and AdamW's two moments (5 copies of ``I · (m + 1) · n``)."""
    from grokkit.toy.data import ROW_BLOCK

    rows = min(max(spec.sweep.T), ROW_BLOCK)
    m = max(spec.sweep.m or [spec.toy.m])
    return FLOAT * n * (3 * rows + 5 * spec.sweep.chunk_instances * (m + 1))


def check_memory(spec: ToySpec, host: int | None = None) -> None:
    """Refuse (ConfigError naming toy.n) a sweep whose chunks cannot fit in the host's memory."""
    from grokkit.errors import ConfigError
    from grokkit.limits import gigabytes, host_available

    host = host_available() if host is None else host
    need = least_bytes(spec, spec.toy.n)
    if host is not None and need > host:
        top = host // max(least_bytes(spec, 1), 1)
        raise ConfigError(f"toy.n: {spec.toy.n} needs at least {gigabytes(need)} of host memory per chunk; "
                          f"{gigabytes(host)} is available; allowed: toy.n <= {top} with the other settings as "
                          "they are (or fewer sweep.chunk_instances)")
