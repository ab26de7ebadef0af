"""Shared fixtures and helpers: the tiny spec, the in-process CLI, one tiny trained run.

Every test that needs a small transformer spec starts from ``TINY`` (p = 13, d_model 32,
40 steps: trains in a second or two on CPU) and overrides only what it tests, through
``tiny_toml`` (a spec file's text) or the ``tiny_config`` fixture (a checked config).
Test modules import the plain helpers with ``from conftest import ...``; the helpers that several
test files share (an untrained run, a checkpoint's folder, comparing two runs, the bad-input specs)
live here once. The test files mirror the package: ``test_<room>.py`` or ``test_<room>_<topic>.py``.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any, NamedTuple

import pytest
import torch

torch.set_num_threads(1)  # tiny models: threads cost more than they save, and CI has 2 cores

TASKS = Path(__file__).resolve().parents[1] / "tasks"

TINY: dict[str, dict[str, Any]] = {
    "task": {"op": "add", "p": 13, "frac_train": 0.5},
    "model": {"d_model": 32, "n_heads": 2, "d_head": 16, "d_mlp": 64},
    "train": {"steps": 40, "eval_every": 10, "checkpoint_every": 10},
}
SMALL_MODEL = {"d_model": 16, "n_heads": 2, "d_head": 8, "d_mlp": 32}  # half of TINY's widths


def tiny_dict(**sections: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """``TINY`` with each given section's keys overridden (a fresh copy)."""
    out = {name: dict(values) for name, values in TINY.items()}
    for name, values in sections.items():
        out.setdefault(name, {}).update(values)
    return out


TINY_MLP = {"kind": "mlp", "d_model": 16, "d_mlp": 64}  # the MLP's model section (grokkit.model.mlp)


def tiny_mlp_dict(**sections: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """``TINY`` with an MLP (``TINY_MLP``, its keys overridden by ``model``) instead of the transformer."""
    out = tiny_dict(**{name: values for name, values in sections.items() if name != "model"})
    out["model"] = {**TINY_MLP, **sections.get("model", {})}
    return out


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return repr(value)


def tiny_toml(**sections: dict[str, Any]) -> str:
    """The text of a spec file: ``TINY`` with the given sections' keys overridden."""
    lines = []
    for name, values in tiny_dict(**sections).items():
        lines.append(f"[{name}]")
        lines += [f"{key} = {_toml_value(value)}" for key, value in values.items()]
    return "\n".join(lines) + "\n"


def tiny_mlp_toml(**sections: dict[str, Any]) -> str:
    """The text of a spec file: ``tiny_mlp_dict`` (the MLP) with the given sections' keys overridden."""
    lines = []
    for name, values in tiny_mlp_dict(**sections).items():
        lines.append(f"[{name}]")
        lines += [f"{key} = {_toml_value(value)}" for key, value in values.items()]
    return "\n".join(lines) + "\n"


TINY_SPEC = tiny_toml()
CPU_SPEC = tiny_toml(train={"device": "cpu"})  # the checkpoint, lock and divergence tests' run
SMALL_SPEC = tiny_toml(model=SMALL_MODEL, train={"steps": 20, "device": "cpu"})  # the bad-input tests' run
TOY = ["toy.n=20", "toy.S=0.8", "toy.test_points=20", "train.steps=20", "train.warmup_steps=2",
       "sweep.T=[3,10]", "sweep.seeds=1", "sweep.chunk_instances=1"]  # a two-chunk toy sweep's --set items
DEEP = "[" * 100_000 + "]" * 100_000  # a value nested far deeper than any parser's recursion limit


def write_spec(folder: Path, text: str, name: str = "spec.toml") -> Path:
    """A spec file ``folder/name`` holding ``text``."""
    path = Path(folder) / name
    path.write_text(text)
    return path


class CliResult(NamedTuple):
    """What one in-process ``grokkit`` call did."""

    code: int
    out: str
    err: str


def cli(capsys, *argv: Any) -> CliResult:
    """Run ``grokkit ARGV`` in this process (arguments may be paths) and capture its output."""
    from grokkit.cli import main

    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return CliResult(code, out, err)


def one_line_error(err: str, *needles: str) -> None:
    """``err`` ends in one ``grokkit: error:`` line naming every needle; only ``note:`` lines come before it."""
    assert "Traceback" not in err, err
    lines = err.splitlines()
    assert lines and err.endswith("\n"), err
    assert lines[-1].startswith("grokkit: error: "), err
    assert all(line.startswith("note: ") for line in lines[:-1]), err
    for needle in needles:
        assert needle in lines[-1], (needle, err)


@functools.lru_cache(maxsize=None)
def tiny_run():
    """One 40-step p = 13 run with live measures (key freqs 1, 3), checkpoints 0, 20, 40; trained once
    per session and shared by the measures and ablation tests (read it, never write to it)."""
    from grokkit.run import Run
    from grokkit.spec import config_from_dict
    from grokkit.workflow import train_run

    path = tempfile.mkdtemp(prefix="grokkit-tiny-")
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    config = tiny_dict(train={"eval_every": 20, "checkpoint_every": 20, "device": "cpu"},
                       measures={"live": ["all"], "key_freqs": [1, 3]})
    run = Run.create(f"{path}/run", config_from_dict(config))
    train_run(run, progress=False)  # the spec's [measures] live rows are written by train itself
    return run


def _files_of(root: Path) -> dict[str, tuple[int, int]]:
    """Every file under ``root``: relative path → (size, mtime_ns); a write, a new file or a removal shows."""
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in sorted(root.rglob("*")) if p.is_file() and p.name != ".lock"}


@pytest.fixture(autouse=True)
def tiny_run_stays_unwritten():
    """Fail the test that writes into the shared ``tiny_run`` folder: the folder is shared by every test
    file of the session, so a write there makes later tests depend on which file ran first (copy it to
    ``tmp_path`` and write to the copy instead)."""
    shared = tiny_run.cache_info().currsize > 0
    before = _files_of(tiny_run().path) if shared else None
    yield
    if tiny_run.cache_info().currsize > 0:
        path = tiny_run().path
        if before is None:  # built during this test: the test may only have read it since
            return
        after = _files_of(path)
        changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
        assert not changed, f"this test wrote into the shared tiny_run folder ({changed}); write to a copy"


@pytest.fixture
def tiny_spec(tmp_path: Path) -> Path:
    return write_spec(tmp_path, TINY_SPEC, "tiny.toml")


@pytest.fixture
def tiny_config():
    """``make(**sections)``: the checked config of ``TINY`` with those sections' keys overridden."""
    from grokkit.spec import config_from_dict

    def make(**sections):
        return config_from_dict(tiny_dict(**sections))

    return make


def made_run(root: Path):
    """A created, untrained run (p = 13, SMALL_MODEL widths) at ``root/run``."""
    from grokkit.run import Run
    from grokkit.spec import config_from_dict

    return Run.create(root / "run", config_from_dict({
        "task": {"p": 13, "frac_train": 0.5}, "model": {"d_model": 16, "n_heads": 2, "d_head": 8, "d_mlp": 32},
        "train": {"steps": 20, "device": "cpu"}}))


def ckpt(run_dir: Path, step: int) -> Path:
    return run_dir / "checkpoints" / f"step_{step:07d}"


def hidden(run_dir: Path) -> list[str]:
    """The hidden (temporary or moved-aside) folders under ``run_dir/checkpoints``."""
    return sorted(p.name for p in (run_dir / "checkpoints").iterdir() if p.name.startswith("."))


def never_nan(text: str) -> None:
    json.loads(text, parse_constant=lambda name: pytest.fail(f"bare {name} in {text[:200]!r}"))


def final_weights(run_dir: Path) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    last = sorted(p for p in (run_dir / "checkpoints").iterdir() if p.name.startswith("step_0"))[-1]
    return load_file(str(last / "model.safetensors"))


def same_run(a: Path, b: Path) -> None:
    """Bit-identical final weights and the same metrics rows (but for wall time)."""
    wa, wb = final_weights(a), final_weights(b)
    assert wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa)
    rows = lambda d: [{k: v for k, v in json.loads(line).items() if k != "wall_s"}  # noqa: E731
                      for line in (d / "metrics.jsonl").read_text().splitlines()]
    assert rows(a) == rows(b)


def interrupt_at(step: int):
    """An ``on_checkpoint`` callback that stops training (as Ctrl-C does) right after checkpoint ``step``."""

    def interrupt(at: int, model: Any) -> None:
        if at == step:
            raise KeyboardInterrupt

    return interrupt


@contextlib.contextmanager
def held_elsewhere(run_dir: Path):
    """Hold ``run_dir``'s lock as another process would: a flock on an open file of its own (``locked`` is
    re-entrant within a process, so it cannot stand in for another writer)."""
    import fcntl
    import os

    fd = os.open(Path(run_dir) / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


@pytest.fixture
def precious(tmp_path) -> Path:
    """A user's file that no link may lead grokkit to write or delete."""
    path = tmp_path / "precious.txt"
    path.write_text("my notes\n")
    return path
