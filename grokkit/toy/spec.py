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

from grokkit.errors import SpecError
from grokkit.spec import apply_overrides, read_spec
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
    for section in data:
        if section not in SECTIONS:
            raise SpecError(f"{source}: unknown section [{section}]; allowed: {', '.join(SECTIONS)}")
    parts = {}
    for section, cls in SECTIONS.items():
        values = data.get(section, {})
        if not isinstance(values, dict):
            raise SpecError(f"{source}: [{section}] must be a table of key = value pairs")
        allowed = [f.name for f in dataclasses.fields(cls)]
        for key in values:
            if key not in allowed:
                raise SpecError(f"{source}: unknown key {section}.{key}; allowed: {', '.join(allowed)}")
        # None values come from JSON round trips of absent optional lists
        parts[section] = cls(**{k: v for k, v in values.items() if v is not None})
    return ToySpec(**parts)


def load_toy_spec(path: str | Path, overrides: Iterable[str] = ()) -> ToySpec:
    """Read a toy TOML spec, apply ``--set`` overrides, and validate everything (and every grid point)."""
    from grokkit.toy.sweep import expand_grid

    spec = spec_from_dict(apply_overrides(read_spec(path), overrides), source=str(path))
    expand_grid(spec)  # per-model checks (R <= T, m <= n) before anything touches disk
    return spec
