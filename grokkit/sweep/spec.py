"""Sweep specs: a task spec plus a ``[sweep]`` table saying which settings vary.

::

    [task]                       # the base run, as in any task spec
    p = 23
    [train]
    steps = 3000

    [sweep]
    max_stack = 32               # runs per vectorised stack (optional)
    pad_widths = false           # true: runs of different d_model / d_mlp / d_head share a stack, each
                                 # padded to the widest and masked (grokkit.model.pad; optional)
    [sweep.grid]                 # every combination of these values
    "train.weight_decay" = [0.0, 0.3, 1.0, 3.0]
    "task.frac_train" = [0.3, 0.4, 0.5, 0.6]
    [[sweep.runs]]               # and/or a list of settings, each crossed with the grid
    "model.seed" = 1
    [sweep.diagram]              # the phase diagram's axes (default: the first two grid keys)
    x = "task.frac_train"
    y = "train.weight_decay"
    [sweep.critical]             # optional: find the critical dataset size over task.frac_train
    criterion = 0.5              # (grokkit.sweep.critical)

Any ``section.key`` of a task spec can vary (task, model width included, optimiser,
accelerators). Every expanded run is validated before anything is trained.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from grokkit.errors import SpecError
from grokkit.sweep.critical import CriticalSpec, parse_critical
from grokkit.spec import RunConfig, apply_overrides, config_from_dict, read_spec

SWEEP_KEYS = ("grid", "runs", "diagram", "max_stack", "critical", "pad_widths")
DEFAULT_MAX_STACK = 32
NAME_MAX = 255  # bytes in one folder name on Linux and macOS file systems


@dataclass
class SweepRun:
    """One run of a sweep: its folder name, the settings it varies, its full config."""

    name: str
    settings: dict[str, Any]  # "section.key" → value
    config: RunConfig


@dataclass
class SweepSpec:
    """An expanded sweep."""

    runs: list[SweepRun]
    varied: list[str]  # the "section.key" names that vary, in spec order
    diagram: tuple[str, str] | None  # (x, y) settings of the phase diagram
    max_stack: int = DEFAULT_MAX_STACK
    base: dict[str, Any] = field(default_factory=dict)
    critical: CriticalSpec | None = None  # [sweep.critical]: find D_crit over task.frac_train
    pad_widths: bool = False  # runs of different widths share a stack, padded and masked (grokkit.model.pad)


def _dotted(name: str, source: str) -> str:
    if not isinstance(name, str) or name.count(".") != 1:
        raise SpecError(f"{source}: sweep setting {name!r} must be section.key, e.g. \"train.lr\"")
    return name


def run_name(settings: dict[str, Any]) -> str:
    """A stable, readable folder name: ``train.weight_decay=0.3,task.frac_train=0.4``."""
    if not settings:
        return "base"
    text = ",".join(f"{k}={v}" for k, v in settings.items())
    return re.sub(r"[^A-Za-z0-9._=,+-]", "_", text)


def expand(data: dict[str, Any], source: str = "sweep spec", overrides: Iterable[str] = ()) -> SweepSpec:
    """Expand a parsed sweep spec into validated runs (``--set`` overrides apply to the base and to [sweep])."""
    data = apply_overrides(data, overrides)  # --set sweep.max_stack=8 as well as --set train.lr=3e-3
    sweep = data.pop("sweep", None)
    if not isinstance(sweep, dict):
        raise SpecError(f"{source}: no [sweep] table; a sweep spec needs [sweep.grid] or [[sweep.runs]]")
    unknown = [k for k in sweep if k not in SWEEP_KEYS]
    if unknown:
        raise SpecError(f"{source}: unknown key(s) sweep.{', sweep.'.join(unknown)}; allowed: {', '.join(SWEEP_KEYS)}")
    base = data
    grid = sweep.get("grid", {})
    listed = sweep.get("runs", [{}])
    if not isinstance(grid, dict) or not all(isinstance(v, list) and v for v in grid.values()):
        raise SpecError(f"{source}: [sweep.grid] must map section.key to a non-empty list of values")
    if not isinstance(listed, list) or not all(isinstance(r, dict) for r in listed):
        raise SpecError(f"{source}: [[sweep.runs]] must be a list of tables of section.key = value")
    grid_keys = [_dotted(k, source) for k in grid]
    varied = list(grid_keys)
    for entry in listed:
        varied += [_dotted(k, source) for k in entry if k not in varied]

    runs, names = [], set()
    for entry in listed:
        for values in itertools.product(*grid.values()):
            settings = {**dict(zip(grid_keys, values)), **entry}
            merged = apply_overrides(base, [])
            for dotted, value in settings.items():
                section, key = dotted.split(".")
                merged.setdefault(section, {})[key] = value
            config = config_from_dict(merged, source=f"{source} (run {run_name(settings)})")
            name = run_name(settings)
            if len(name.encode()) > NAME_MAX:  # caught here, before the sweep writes anything
                raise SpecError(f"{source}: run name {name[:60]}… is {len(name.encode())} bytes; a folder name "
                                f"holds at most {NAME_MAX}: vary fewer settings or shorter values")
            if name in names:
                raise SpecError(f"{source}: run {name!r} appears twice")
            names.add(name)
            runs.append(SweepRun(name, settings, config))

    diagram = sweep.get("diagram")
    if diagram is not None:
        if not isinstance(diagram, dict) or set(diagram) != {"x", "y"}:
            raise SpecError(f"{source}: [sweep.diagram] needs exactly x and y (section.key names)")
        for axis in ("x", "y"):
            if diagram[axis] not in varied:
                raise SpecError(f"{source}: sweep.diagram.{axis} = {diagram[axis]!r} is not a varied setting")
        axes = (diagram["x"], diagram["y"])
    else:
        axes = (grid_keys[0], grid_keys[1]) if len(grid_keys) >= 2 else None
    max_stack = sweep.get("max_stack", DEFAULT_MAX_STACK)
    if isinstance(max_stack, bool) or not isinstance(max_stack, int) or max_stack < 1:
        raise SpecError(f"{source}: sweep.max_stack must be an integer >= 1, got {max_stack!r}")
    critical = None if "critical" not in sweep else parse_critical(sweep["critical"], grid_keys, source)
    pad_widths = sweep.get("pad_widths", False)
    if not isinstance(pad_widths, bool):
        raise SpecError(f"{source}: sweep.pad_widths must be true or false, got {pad_widths!r}")
    return SweepSpec(runs, varied, axes, max_stack, base, critical, pad_widths)


def load_sweep(path: str | Path, overrides: Iterable[str] = ()) -> SweepSpec:
    return expand(read_spec(path), source=str(path), overrides=overrides)
