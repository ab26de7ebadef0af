"""Checkpoints under faults and edits (issue 12, the engine's findings). A non-finite tensor is never
saved and an older one is refused. 3: an edited config.json is refused. 4: an edited meta.json is
refused (its own hash, its step against the folder's). 6: resume from checkpoint 0 logs nothing
twice; a checkpoint is replaced only once its successor is in place; incomplete and temporary
folders are removed with a note. 7: disk full, odd folder names and misshapen checkpoints are
one line, not a traceback. (Divergence: test_train_faults.py; one writer: test_files_lock.py.)

Most tests start from one trained run (``base``) and a copy of it cut back as a hard kill
would have left it (``cut``), so a resumed copy must end bit-identical to ``base``.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from conftest import CPU_SPEC, ckpt, cli, hidden, never_nan, one_line_error, same_run, write_spec
from grokkit.cli import main
from grokkit.errors import CheckpointError


@pytest.fixture
def spec(tmp_path):
    return write_spec(tmp_path, CPU_SPEC)


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    """A finished run of SPEC: checkpoints 0, 10, 20, 30, 40."""
    root = tmp_path_factory.mktemp("base")
    (root / "spec.toml").write_text(CPU_SPEC)
    assert main(["train", str(root / "spec.toml"), "--out", str(root / "run"), "--no-progress", "--threads", "1"]) == 0
    return root / "run"


def cut(base: Path, dst: Path, step: int) -> Path:
    """A copy of ``base`` as a kill right after its checkpoint at ``step`` leaves it."""
    shutil.copytree(base, dst, ignore=shutil.ignore_patterns(".lock"))
    (dst / "status.json").unlink()
    for folder in (dst / "checkpoints").iterdir():
        if int(folder.name[len("step_"):]) > step:
            shutil.rmtree(folder)
    rows = [line for line in (dst / "metrics.jsonl").read_text().splitlines() if json.loads(line)["step"] <= step]
    (dst / "metrics.jsonl").write_text("".join(line + "\n" for line in rows))
    return dst


def test_save_checkpoint_refuses_a_non_finite_tensor(tmp_path):
    from grokkit.files.checkpoint import save_checkpoint

    for value in (float("nan"), float("inf")):
        with pytest.raises(CheckpointError, match="W_E is not finite; nothing was written"):
            save_checkpoint(tmp_path, 10, {"W_E": torch.tensor([1.0, value])}, {}, {})
        assert list(tmp_path.iterdir()) == []


def test_a_non_finite_checkpoint_of_an_older_grokkit_is_refused_in_one_line(tmp_path, base, capsys):
    """Format 1 (no meta hash) from a version that wrote diverged weights: measure refuses it, no LinAlgError."""
    import hashlib

    from safetensors.torch import save_file

    run = cut(base, tmp_path / "run", 40)
    folder = ckpt(run, 40)
    model = load_file(str(folder / "model.safetensors"))
    name = next(iter(model))
    model[name] = torch.full_like(model[name], float("nan"))
    save_file(model, str(folder / "model.safetensors"))
    meta = json.loads((folder / "meta.json").read_text())
    meta["version"] = 1
    del meta["meta_sha256"]
    meta["files"]["model.safetensors"] = hashlib.sha256((folder / "model.safetensors").read_bytes()).hexdigest()
    (folder / "meta.json").write_text(json.dumps(meta))
    for command in ("measure", "report"):
        code, _, err = cli(capsys, command, run)
        assert code == 2
        one_line_error(err, "step_0000040", name, "not finite")


def test_info_json_never_prints_a_bare_nan(tmp_path, base, capsys):
    """metrics.jsonl of an older grokkit held NaN losses: info shows null / n/a."""
    run = cut(base, tmp_path / "run", 40)
    lines = (run / "metrics.jsonl").read_text().splitlines()
    lines[-1] = lines[-1].replace('"train_loss": ', '"train_loss": NaN, "_": ', 1)
    (run / "metrics.jsonl").write_text("\n".join(lines) + "\n")
    code, text, _ = cli(capsys, "info", run, "--json")
    assert code == 0
    never_nan(text)
    assert json.loads(text)["last"]["train_loss"] is None
    code, text, _ = cli(capsys, "info", run)
    assert code == 0 and "train loss n/a" in text


# --- finding 3: an edited config.json -----------------------------------------------------------

@pytest.mark.parametrize("section, key, value", [("task", "op", "sub"), ("task", "frac_train", 0.3), ("task", "p", 17)])
def test_an_edited_config_json_is_refused(tmp_path, base, capsys, section, key, value):
    from grokkit.run import Run

    run = cut(base, tmp_path / "run", 20)
    record = json.loads((run / "config.json").read_text())
    record["config"][section][key] = value
    (run / "config.json").write_text(json.dumps(record))
    before = (run / "metrics.jsonl").read_text()
    for argv in (["resume", run, "--no-progress"], ["measure", run, "--no-progress"], ["report", run]):
        code, _, err = cli(capsys, *argv)
        assert code == 2, argv
        one_line_error(err, "config.json", "step_0000020")
    with pytest.raises(CheckpointError, match="config.json"):
        Run(run).load_model()
    assert (run / "metrics.jsonl").read_text() == before and Run(run).checkpoint_steps() == [0, 10, 20]


# --- finding 4: an edited meta.json -------------------------------------------------------------

def edit_meta(folder: Path, rehash: bool = False, **changes) -> None:
    from grokkit.files.checkpoint import meta_digest

    meta = json.loads((folder / "meta.json").read_text())
    for dotted, value in changes.items():
        *path, last = dotted.split("__")
        node = meta
        for part in path:
            node = node[part]
        node[last] = value
    if rehash:  # an editor who knows the format: the hash fits, the binding to the run must not
        meta["meta_sha256"] = meta_digest(meta)
    (folder / "meta.json").write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")


@pytest.mark.parametrize("damage, needles", [
    (lambda run: edit_meta(ckpt(run, 20), config__train__weight_decay=0.0), ["meta.json", "SHA-256"]),
    (lambda run: edit_meta(ckpt(run, 20), step=10), ["meta.json", "SHA-256"]),
    (lambda run: edit_meta(ckpt(run, 20), rehash=True, step=10), ["says step 10, the folder says 20"]),
    (lambda run: edit_meta(ckpt(run, 20), rehash=True, config__train__weight_decay=0.0), ["config.json"]),
    (lambda run: ckpt(run, 20).rename(ckpt(run, 30)), ["says step 20, the folder says 30"]),
], ids=["weight decay", "step", "step rehashed", "weight decay rehashed", "folder renamed"])
def test_an_edited_meta_json_is_refused_and_nothing_is_overwritten(tmp_path, base, capsys, damage, needles):
    run = cut(base, tmp_path / "run", 20)
    damage(run)
    kept = {p: p.read_bytes() for p in (run / "checkpoints").rglob("*") if p.is_file()}
    for argv in (["resume", run, "--no-progress"], ["measure", run, "--no-progress"]):
        code, _, err = cli(capsys, *argv)
        assert code == 2, argv
        one_line_error(err, *needles)
    assert {p: p.read_bytes() for p in (run / "checkpoints").rglob("*") if p.is_file()} == kept


# --- finding 6: resume and replacement ----------------------------------------------------------

def test_resuming_from_checkpoint_0_logs_step_0_once_and_keeps_checkpoint_0(tmp_path, base, capsys):
    run = cut(base, tmp_path / "run", 0)
    before = {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in ckpt(run, 0).iterdir()}
    code, _, err = cli(capsys, "resume", run, "--no-progress")
    assert code == 0, err
    steps = [json.loads(line)["step"] for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert steps == [0, 10, 20, 30, 40]
    assert {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in ckpt(run, 0).iterdir()} == before
    same_run(base, run)


def test_a_checkpoint_is_replaced_only_once_its_successor_is_in_place(tmp_path, base, capsys, monkeypatch):
    """A kill between moving the old checkpoint aside and renaming the new one in loses nothing."""
    import grokkit.files.checkpoint as checkpoint
    from grokkit.run import Run

    run = cut(base, tmp_path / "run", 20)
    inode = (ckpt(run, 20) / "model.safetensors").stat().st_ino
    old = Run(run).checkpoint(20, with_state=True)
    real = os.replace

    def replace(src, dst):
        if Path(dst).name == "step_0000020":
            raise KeyboardInterrupt  # the kill
        real(src, dst)

    monkeypatch.setattr(checkpoint.os, "replace", replace)
    with pytest.raises(KeyboardInterrupt):
        checkpoint.save_checkpoint(ckpt(run, 0).parent, 20, old.model, old.state,
                                   {"config": old.meta["config"], "metrics": old.meta["metrics"]})
    monkeypatch.undo()
    assert not ckpt(run, 20).exists()
    aside = [name for name in hidden(run) if name.startswith(".old-step_0000020")]
    assert aside and (ckpt(run, 0).parent / aside[0] / "meta.json").is_file()  # the good one, kept aside

    code, _, err = cli(capsys, "resume", run, "--no-progress")
    assert code == 0, err
    assert "restored step_0000020" in err
    assert (ckpt(run, 20) / "model.safetensors").stat().st_ino == inode and hidden(run) == []
    same_run(base, run)


def test_incomplete_and_temporary_checkpoint_folders_are_removed_and_resume_goes_on(tmp_path, base, capsys):
    run = cut(base, tmp_path / "run", 20)
    ckpt(run, 30).mkdir()  # created, nothing written yet
    ckpt(run, 40).mkdir()  # a tensor file, no meta.json
    shutil.copy(ckpt(base, 40) / "model.safetensors", ckpt(run, 40))
    tmp = ckpt(run, 0).parent / ".tmp-step_0000030-99999"
    tmp.mkdir()
    (tmp / "model.safetensors").write_bytes(b"torn")
    code, out, err = cli(capsys, "resume", run, "--no-progress")
    assert code == 0, err
    assert "already finished" not in out
    for name in ("step_0000030", "step_0000040", ".tmp-step_0000030-99999"):
        assert f"removed {name}" in err, (name, err)
    assert hidden(run) == []
    same_run(base, run)


# --- finding 7: one line, not a traceback ------------------------------------------------------

def disk_full_error(kind: str) -> Exception:
    from safetensors import SafetensorError

    if kind == "safetensors":
        return SafetensorError("Error while serializing: IoError(Os { code: 28, kind: StorageFull, "
                               'message: "No space left on device" })')
    return OSError(errno.ENOSPC, "No space left on device")


@pytest.mark.parametrize("kind", ["safetensors", "oserror"])
def test_disk_full_while_checkpointing_is_one_line_and_leaves_no_half_checkpoint(tmp_path, spec, capsys,
                                                                                  monkeypatch, base, kind):
    import safetensors.torch

    real, calls = safetensors.torch.save_file, []

    def save_file(*args, **kwargs):
        calls.append(1)
        if len(calls) == 4:  # step 10's optimiser file, after its model file was written
            raise disk_full_error(kind)
        return real(*args, **kwargs)

    monkeypatch.setattr(safetensors.torch, "save_file", save_file)
    out = tmp_path / "run"
    code, _, err = cli(capsys, "train", spec, "--out", out, "--no-progress")
    assert code == 2
    one_line_error(err, "no space left")
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == ["step_0000000"]  # nothing half-written
    monkeypatch.undo()
    code, _, err = cli(capsys, "resume", out, "--no-progress")  # once there is room again
    assert code == 0, err
    same_run(base, out)


def test_a_checkpoint_folder_with_a_non_ascii_digit_is_ignored(tmp_path, base, capsys):
    run = cut(base, tmp_path / "run", 20)
    (run / "checkpoints" / "step_²").mkdir()
    code, _, err = cli(capsys, "resume", run, "--no-progress")
    assert code == 0, err
    same_run(base, run)
    for argv in (["info", run], ["measure", run, "--no-progress"], ["report", run]):
        code, _, err = cli(capsys, *argv)
        assert code == 0 and "Traceback" not in err, (argv, err)


@pytest.mark.parametrize("command", [
    "resume", "report", "load_model", "measure",
])
def test_a_checkpoint_of_another_shape_is_one_line(tmp_path, base, capsys, command):
    """Well-formed, hashed, with this run's config, but its tensors fit another model."""
    from grokkit.files.checkpoint import save_checkpoint
    from grokkit.run import Run

    run = cut(base, tmp_path / "run", 20)
    good = Run(run).checkpoint(20, with_state=True)
    model = dict(good.model)
    name = next(k for k, v in model.items() if v.ndim == 2)
    model[name] = torch.zeros(model[name].shape[0] + 1, model[name].shape[1])
    shutil.rmtree(ckpt(run, 20))
    save_checkpoint(ckpt(run, 0).parent, 20, model, good.state, {"config": good.meta["config"]})
    if command == "load_model":
        with pytest.raises(CheckpointError, match="do not fit"):
            Run(run).load_model()
        return
    code, _, err = cli(capsys, command, run, *([] if command == "report" else ["--no-progress"]))
    assert code == 2
    one_line_error(err, "step_0000020", "do not fit")
