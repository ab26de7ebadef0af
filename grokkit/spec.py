"""Task specs: TOML files with ``[task]``, ``[model]`` and ``[train]`` sections.

Each section overrides the defaults of one typed config; unknown sections and keys
are errors. ``--set section.key=value`` overrides apply on top, with the value
parsed as TOML (``--set train.lr=3e-3``, ``--set task.op=sub``).
"""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from grokkit.data.dataset import TaskConfig
from grokkit.errors import SpecError
from grokkit.measures.config import MeasuresConfig
from grokkit.model.config import ModelConfig
from grokkit.track.config import LogConfig
from grokkit.train.config import TrainConfig


@dataclass
class RunConfig:
    """Everything that defines a training run."""

    task: TaskConfig = field(default_factory=TaskConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    measures: MeasuresConfig = field(default_factory=MeasuresConfig)
    log: LogConfig = field(default_factory=LogConfig)

    def __post_init__(self) -> None:
        self.measures.check_task(self.task)  # the checks that need two sections
        if self.task.is_mixture:
            from grokkit.data.mixture import check_run

            check_run(self.task, self.train.batch_size, getattr(self.model, "kind", "transformer"), self.measures.live)

    def to_dict(self) -> dict[str, dict[str, Any]]:
        return {name: dataclasses.asdict(getattr(self, name)) for name in SECTIONS}


SECTIONS: dict[str, type] = {
    "task": TaskConfig,
    "model": ModelConfig,
    "train": TrainConfig,
    "measures": MeasuresConfig,
    "log": LogConfig,
}


MAX_INT = 2**63 - 1  # every integer a config holds fits a 64-bit seed, count or size (torch's and numpy's)
MAX_ITEMS = 100_000  # entries of a list value (key frequencies, grids): far beyond any real spec


def check_size(name: str, value: Any) -> None:
    """Refuse (one SpecError naming the field) an integer beyond 64 bits or a list longer than ``MAX_ITEMS``,
    before a config's own checks (which compare, convert to float or seed a generator with it) see it."""
    if isinstance(value, int) and not isinstance(value, bool) and not -MAX_INT - 1 <= value <= MAX_INT:
        digits = len(str(abs(value))) if abs(value) < 10**4000 else "thousands of"
        raise SpecError(f"{name}: an integer of {digits} digits; allowed: a 64-bit integer (|value| < 2**63)")
    if isinstance(value, (list, tuple)):
        if len(value) > MAX_ITEMS:
            raise SpecError(f"{name}: a list of {len(value)} entries; allowed: at most {MAX_ITEMS}")
        for item in value:
            check_size(name, item)
    elif isinstance(value, dict):
        if len(value) > MAX_ITEMS:
            raise SpecError(f"{name}: a table of {len(value)} entries; allowed: at most {MAX_ITEMS}")
        for item in value.values():
            check_size(name, item)


def section_configs(data: dict[str, Any], sections: dict[str, type], source: str = "spec") -> dict[str, Any]:
    """One typed config per section of ``data``, rejecting unknown sections and keys.

    A key whose value is None is left out, so the field keeps its default: None only
    comes from JSON round trips, and every optional field defaults to None anyway.
    """
    for section in data:
        if section not in sections:
            raise SpecError(f"{source}: unknown section [{section}]; allowed: {', '.join(sections)}")
    parts = {}
    for section, cls in sections.items():
        values = data.get(section, {})
        if not isinstance(values, dict):
            raise SpecError(f"{source}: [{section}] must be a table of key = value pairs")
        allowed = [f.name for f in dataclasses.fields(cls)]
        for key, value in values.items():
            if key not in allowed:
                raise SpecError(f"{source}: unknown key {section}.{key}; allowed: {', '.join(allowed)}")
            check_size(f"{section}.{key}", value)
        parts[section] = cls(**{k: v for k, v in values.items() if v is not None})  # __post_init__ validates
    return parts


def config_from_dict(data: dict[str, Any], source: str = "spec") -> RunConfig:
    """Build a RunConfig from nested dicts, rejecting unknown sections and keys."""
    return RunConfig(**section_configs(data, SECTIONS, source))


def parse_override(text: str) -> tuple[str, str, Any]:
    """``"train.lr=3e-3"`` → ``("train", "lr", 0.003)``; bare words become strings."""
    if "=" not in text or "." not in text.split("=", 1)[0]:
        raise SpecError(f"--set {text!r}: expected section.key=value, e.g. train.lr=3e-3")
    dotted, raw = text.split("=", 1)
    section, key = dotted.strip().split(".", 1)
    try:
        value = tomllib.loads(f"v = {raw.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw.strip()  # an unquoted word such as task.op=sub
    except RecursionError:  # tomllib parses nested arrays recursively
        raise SpecError(f"--set {dotted.strip()}: the value is nested too deeply") from None
    return section, key, value


def apply_overrides(data: dict[str, Any], overrides: Iterable[str]) -> dict[str, Any]:
    merged = {section: dict(values) if isinstance(values, dict) else values for section, values in data.items()}
    for text in overrides:
        section, key, value = parse_override(text)
        merged.setdefault(section, {})
        if not isinstance(merged[section], dict):
            raise SpecError(f"--set {text!r}: [{section}] is not a table")
        merged[section][key] = value
    return merged


def packaged_specs() -> dict[str, Path]:
    """Name → file of the specs shipped with grokkit: ``grokkit/tasks/`` in an installed package
    (copied there by setup.py), else the repository's ``tasks/`` beside a source checkout."""
    package = Path(__file__).resolve().parent
    for folder in (package / "tasks", package.parent / "tasks"):
        if folder.is_dir():
            return {spec.stem: spec for spec in sorted(folder.glob("*.toml"))}
    return {}


def resolve_spec_path(name: str | Path) -> Path:
    """A spec argument as a file: an existing path as given, else a packaged spec by name
    (``quickstart`` or ``quickstart.toml``), so an installed grokkit runs ``grokkit run quickstart``."""
    path = Path(name)
    if path.is_file():
        return path
    known = packaged_specs()
    if path.parent == Path(".") and path.stem in known and path.suffix in ("", ".toml"):
        return known[path.stem]
    listed = f"; packaged specs: {', '.join(known)}" if known else ""
    raise SpecError(f"spec file {str(name)!r} does not exist{listed}")


def read_spec(path: str | Path) -> dict[str, Any]:
    """Parse a spec file (or a packaged spec's name) into nested dicts, with a one-line error for
    missing or malformed files."""
    path = resolve_spec_path(path)
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SpecError(f"spec file {str(path)!r} is not valid TOML: {exc}") from None
    except RecursionError:  # tomllib parses nested arrays recursively
        raise SpecError(f"spec file {str(path)!r}: a value is nested too deeply") from None


def load_spec(path: str | Path, overrides: Iterable[str] = ()) -> RunConfig:
    """Read a TOML spec, apply ``--set`` overrides, and validate everything."""
    return config_from_dict(apply_overrides(read_spec(path), overrides), source=str(path))
