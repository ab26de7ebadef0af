"""The training engine under faults and hostile run folders (issue 12, the engine's findings).

2: a non-finite loss or weight stops the run, marked diverged, with its last good (finite)
checkpoint; the rest of its stack goes on. 3: an edited config.json is refused. 4: an edited
meta.json is refused (its own hash, its step against the folder's). 5: one writer per run.
6: resume from checkpoint 0 logs nothing twice; a checkpoint is replaced only once its
successor is in place; incomplete and temporary folders are removed with a note.
7: disk full, odd folder names and misshapen checkpoints are one line, not a traceback.

Most tests start from one trained run (``base``) and a copy of it cut back as a hard kill
would have left it (``cut``), so a resumed copy must end bit-identical to ``base``.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from conftest import cli, one_line_error, tiny_toml, write_spec
from grokkit.cli import main
from grokkit.errors import CheckpointError

SPEC = tiny_toml(train={"device": "cpu"})


def never_nan(text: str) -> None:
    json.loads(text, parse_constant=lambda name: pytest.fail(f"bare {name} in {text[:200]!r}"))


@pytest.fixture
def spec(tmp_path):
    return write_spec(tmp_path, SPEC)


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    """A finished run of SPEC: checkpoints 0, 10, 20, 30, 40."""
    root = tmp_path_factory.mktemp("base")
    (root / "spec.toml").write_text(SPEC)
    assert main(["train", str(root / "spec.toml"), "--out", str(root / "run"), "--no-progress", "--threads", "1"]) == 0
    return root / "run"


def ckpt(run_dir: Path, step: int) -> Path:
    return run_dir / "checkpoints" / f"step_{step:07d}"


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


def final_weights(run_dir: Path) -> dict[str, torch.Tensor]:
    last = sorted(p for p in (run_dir / "checkpoints").iterdir() if p.name.startswith("step_0"))[-1]
    return load_file(str(last / "model.safetensors"))


def same_run(a: Path, b: Path) -> None:
    """Bit-identical final weights and the same metrics rows (but for wall time)."""
    wa, wb = final_weights(a), final_weights(b)
    assert wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa)
    rows = lambda d: [{k: v for k, v in json.loads(line).items() if k != "wall_s"}  # noqa: E731
                      for line in (d / "metrics.jsonl").read_text().splitlines()]
    assert rows(a) == rows(b)


def hidden(run_dir: Path) -> list[str]:
    return sorted(p.name for p in (run_dir / "checkpoints").iterdir() if p.name.startswith("."))


# --- finding 2: divergence ----------------------------------------------------------------------

@pytest.mark.parametrize("sets", [["train.lr=1e6"], ["train.optimizer='sgd'", "train.lr=1e6"]], ids=["adamw", "sgd"])
def test_a_diverging_run_stops_marked_diverged_with_finite_checkpoints(tmp_path, spec, capsys, sets):
    from grokkit.run import Run

    out = tmp_path / "run"
    code, _, err = cli(capsys, "train", spec, "--out", out, "--no-progress", *[a for s in sets for a in ("--set", s)])
    assert code == 2
    one_line_error(err, "diverged at step", "kept the checkpoint at step")
    status = json.loads((out / "status.json").read_text())
    assert status["finished"] is False and status["diverged"] is True and "not finite" in status["reason"]
    run = Run(out)
    steps = run.checkpoint_steps()
    assert status["last_good_checkpoint"] == steps[-1] <= status["diverged_at"] < 40
    for step in steps:  # every checkpoint verifies and holds finite tensors only
        loaded = run.checkpoint(step, with_state=True)
        assert all(bool(torch.isfinite(t).all()) for t in [*loaded.model.values(), *loaded.state.values()]
                   if t.is_floating_point())
    text = (out / "metrics.jsonl").read_text()
    for line in text.splitlines():
        never_nan(line)
    assert all(row["step"] <= status["diverged_at"] for row in run.metrics())


def test_a_diverged_run_is_reported_as_such_and_still_measured(tmp_path, spec, capsys):
    out = tmp_path / "run"
    assert cli(capsys, "train", spec, "--out", out, "--no-progress", "--set", "train.lr=1e6")[0] == 2
    status = json.loads((out / "status.json").read_text())
    code, text, _ = cli(capsys, "info", out)
    assert code == 0 and "in progress" not in text
    assert (f"diverged at step {status['diverged_at']}" in text
            and f"last good checkpoint: step {status['last_good_checkpoint']}" in text)
    code, text, _ = cli(capsys, "info", out, "--json")
    never_nan(text)
    summary = json.loads(text)
    assert summary["finished"] is False
    assert summary["diverged"] == {"at": status["diverged_at"], "reason": status["reason"],
                                   "last_good_checkpoint": status["last_good_checkpoint"]}
    for command in ("measure", "report"):  # on its finite checkpoints
        code, _, err = cli(capsys, command, out, *(["--no-progress"] if command == "measure" else []))
        assert code == 0 and "Traceback" not in err, err
    steps = sorted(p.name for p in (out / "checkpoints").iterdir())
    code, _, err = cli(capsys, "resume", out, "--no-progress")  # deterministic: it would only diverge again
    assert code == 2
    one_line_error(err, f"diverged at step {status['diverged_at']}", "would diverge again")
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == steps


def test_an_initial_model_that_is_not_finite_is_marked_diverged(tmp_path, spec, capsys):
    out = tmp_path / "run"
    code, _, err = cli(capsys, "train", spec, "--out", out, "--no-progress", "--set", "model.init_scale=1e30")
    assert code == 2
    one_line_error(err, "diverged at step 0", "init_scale", "no checkpoint was written")
    status = json.loads((out / "status.json").read_text())
    assert status["diverged"] and status["diverged_at"] == 0 and status["last_good_checkpoint"] is None
    assert not (out / "checkpoints").exists() or not any((out / "checkpoints").iterdir())
    code, text, _ = cli(capsys, "info", out)
    assert code == 0 and "diverged at step 0" in text and "last good checkpoint: none" in text
    code, _, err = cli(capsys, "measure", out, "--no-progress")
    assert code == 2
    one_line_error(err, "no checkpoints")


def poison_after(monkeypatch, update: int, position: int = 0) -> None:
    """Make run ``position`` of the stack hold an infinite weight right after update ``update``
    (its loss at that update is still finite: only the checkpoint's check can see it)."""
    from grokkit.engine.stack import StackState

    real, calls = StackState.step, []

    def step(self, *args, **kwargs):
        losses = real(self, *args, **kwargs)
        calls.append(1)
        if len(calls) == update:
            with torch.no_grad():
                next(iter(self.stack.values()))[position].fill_(float("inf"))
        return losses

    monkeypatch.setattr(StackState, "step", step)


@pytest.mark.parametrize("update, eval_every, diverged_at, reason, last_good", [
    (15, 20, 15, "the training loss is not finite", 10),  # seen by the next update's loss
    (20, 10, 20, "the loss is not finite", 10),  # seen by the evaluation at step 20
    (10, 20, 10, "a weight is not finite", 0),  # step 10: a checkpoint, no evaluation; only the weights tell
], ids=["training loss", "evaluation", "weights"])
def test_a_non_finite_run_is_never_checkpointed_and_the_stack_goes_on(tmp_path, tiny_config, monkeypatch,
                                                                      update, eval_every, diverged_at, reason,
                                                                      last_good):
    from grokkit.engine.loop import DivergedError, train_runs
    from grokkit.run import Run

    config = tiny_config(train={"eval_every": eval_every, "device": "cpu"})
    bad, good = Run.create(tmp_path / "bad", config), Run.create(tmp_path / "good", config)
    poison_after(monkeypatch, update)
    with pytest.raises(DivergedError) as caught:
        train_runs([bad, good])
    assert str(bad.path) in str(caught.value) and str(good.path) not in str(caught.value)
    assert bad.status() == {"finished": False, "diverged": True, "diverged_at": diverged_at, "grok_step": None,
                            "reason": reason, "last_good_checkpoint": last_good}
    assert bad.checkpoint_steps() == list(range(0, last_good + 1, 10)) and hidden(bad.path) == []
    assert [r["step"] for r in bad.metrics()] == list(range(0, diverged_at, eval_every))  # finite rows only
    assert good.status()["finished"] and good.checkpoint_steps() == [0, 10, 20, 30, 40]
    assert [r["step"] for r in good.metrics()] == list(range(0, 41, eval_every))


def test_a_run_with_a_non_finite_initial_model_leaves_its_stack(tmp_path, tiny_config):
    from grokkit.engine.loop import DivergedError, train_runs
    from grokkit.run import Run

    good = Run.create(tmp_path / "good", tiny_config(train={"device": "cpu"}))
    bad = Run.create(tmp_path / "bad", tiny_config(model={"init_scale": 1e30}, train={"device": "cpu"}))
    with pytest.raises(DivergedError, match="no checkpoint was written"):
        train_runs([good, bad])
    assert good.status()["finished"] and good.checkpoint_steps() == [0, 10, 20, 30, 40]
    assert bad.status()["diverged_at"] == 0 and bad.checkpoint_steps() == [] and bad.metrics() == []


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


# --- finding 5: one writer per run --------------------------------------------------------------

def test_a_second_writer_is_refused_at_once_and_a_killed_writers_lock_is_stale(tmp_path, spec, capsys):
    from grokkit.files.jsonl import read_rows

    out = tmp_path / "run"
    long = ["--set", "train.steps=1000000", "--set", "train.checkpoint_every=1000", "--no-progress"]  # killed below
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cli_ = [sys.executable, "-m", "grokkit"]
    writer = subprocess.Popen([*cli_, "train", str(spec), "--out", str(out), *long], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 60
        while time.time() < deadline and not ckpt(out, 0).is_dir():
            time.sleep(0.05)
        assert writer.poll() is None, "the first writer ended before the second started"
        second = subprocess.run([*cli_, "resume", str(out), "--no-progress"], env=env, capture_output=True,
                                text=True, timeout=60)
        assert second.returncode == 2
        one_line_error(second.stderr, "another grokkit process", f"pid {writer.pid}")
        started = time.perf_counter()
        code, _, err = cli(capsys, "train", spec, "--out", out, *long)
        assert code == 2 and time.perf_counter() - started < 5
        one_line_error(err, "another grokkit process", f"pid {writer.pid}")
        assert writer.poll() is None  # the first writer goes on undisturbed
    finally:
        writer.send_signal(signal.SIGKILL)
        writer.wait()
    steps = [row["step"] for row in read_rows(out / "metrics.jsonl")]
    assert steps == sorted(set(steps))  # one row per step: nobody else wrote
    # the lock file outlives the killed writer, but the kernel released its lock
    assert (out / ".lock").read_text() == str(writer.pid)
    from grokkit.files.lock import RunLock

    RunLock(out).acquire().release()


def test_the_lock_is_held_for_the_whole_training_call(tmp_path, tiny_config):
    from grokkit.errors import RunError
    from grokkit.files.lock import RunLock
    from grokkit.run import Run
    from grokkit.workflow import train_run

    run = Run.create(tmp_path / "run", tiny_config(train={"steps": 20, "device": "cpu"}))
    refused = []

    def try_second_writer(step, model):
        with pytest.raises(RunError, match="another grokkit process"):
            RunLock(run.path).acquire()
        refused.append(step)

    train_run(run, progress=False, on_checkpoint=try_second_writer)
    assert refused == [0, 10, 20]
    RunLock(run.path).acquire().release()  # released at the end


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


def test_a_stack_killed_between_its_runs_checkpoints_0_resumes_every_run_from_step_0(tmp_path, tiny_config):
    """One run has its checkpoint 0, the other none yet: the second still gets its step-0 row and checkpoint."""
    from grokkit.engine.loop import train_runs
    from grokkit.run import Run

    configs = [tiny_config(train={"device": "cpu"}), tiny_config(train={"device": "cpu", "lr": 3e-3})]
    whole = [Run.create(tmp_path / f"whole{i}", c) for i, c in enumerate(configs)]
    train_runs(whole)
    cut_ = [Run.create(tmp_path / f"cut{i}", c) for i, c in enumerate(configs)]

    class Kill:
        def on_checkpoint(self, run, step, model):
            raise KeyboardInterrupt  # right after the first run's checkpoint 0

    with pytest.raises(KeyboardInterrupt):
        train_runs(cut_, callbacks=[Kill()])
    assert [r.checkpoint_steps() for r in cut_] == [[0], []]
    train_runs(cut_, resume=True)
    for a, b in zip(whole, cut_):
        assert b.checkpoint_steps() == [0, 10, 20, 30, 40]
        assert [r["step"] for r in b.metrics()] == [0, 10, 20, 30, 40]
        same_run(a.path, b.path)


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
