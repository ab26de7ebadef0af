import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch
from safetensors.torch import load_file

from conftest import interrupt_at
from grokkit.errors import ConfigError
from grokkit.run import Run
from grokkit.train.trainer import run_lr as lr_at
from grokkit.train.config import TrainConfig
from grokkit.workflow import train_run as train


def final_weights(run_dir):
    steps = sorted(os.listdir(run_dir / "checkpoints"))
    return load_file(str(run_dir / "checkpoints" / steps[-1] / "model.safetensors"))


def strip_wall(rows):
    return [{k: v for k, v in row.items() if k != "wall_s"} for row in rows]


def test_training_logs_checkpoints_and_learns(tmp_path, tiny_config):
    run = Run.create(tmp_path / "run", tiny_config(train={"steps": 60, "lr": 1e-2}))
    result = train(run, progress=False)
    rows = run.metrics()
    assert [r["step"] for r in rows] == list(range(0, 61, 10))
    assert set(rows[0]) >= {"step", "train_loss", "test_loss", "train_acc", "test_acc"}
    assert rows[-1]["train_loss"] < rows[0]["train_loss"] / 2
    assert run.checkpoint_steps() == list(range(0, 61, 10))
    assert result.final_step == 60 and run.status().finished
    assert abs(rows[0]["train_loss"] - torch.log(torch.tensor(13.0)).item()) < 0.3  # ≈ ln p at init


def test_interrupted_then_resumed_run_is_bit_identical(tmp_path, tiny_config):
    config = tiny_config(train={"steps": 40, "warmup_steps": 5})
    full = Run.create(tmp_path / "full", config)
    train(full, progress=False)

    cut = Run.create(tmp_path / "cut", config)

    with pytest.raises(KeyboardInterrupt):
        train(cut, progress=False, on_checkpoint=interrupt_at(20))
    with open(cut.path / "metrics.jsonl", "a") as handle:  # a row logged after the checkpoint, then a torn line
        handle.write(json.dumps({"step": 25, "train_loss": 0, "test_loss": 0, "train_acc": 0, "test_acc": 0}) + "\n{\"st")
    train(cut, resume=True, progress=False)

    a, b = final_weights(full.path), final_weights(cut.path)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert strip_wall(full.metrics()) == strip_wall(cut.metrics())


def test_optimizer_state_only_in_the_latest_checkpoint(tmp_path, tiny_config):
    from grokkit.errors import CheckpointError

    every = Run.create(tmp_path / "every", tiny_config(train={"steps": 40, "warmup_steps": 5}))
    train(every, progress=False)
    latest = Run.create(tmp_path / "latest", tiny_config(train={"steps": 40, "warmup_steps": 5,
                                                                "optimizer_state": "latest"}))

    with pytest.raises(KeyboardInterrupt):
        train(latest, progress=False, on_checkpoint=interrupt_at(20))
    train(latest, resume=True, progress=False)  # resumes from the one checkpoint that kept its state

    held = [s for s in latest.checkpoint_steps() if (latest.checkpoint_root / f"step_{s:07d}" / "optimizer.safetensors").exists()]
    assert latest.checkpoint_steps() == [0, 10, 20, 30, 40] and held == [40]
    assert latest.checkpoint(40, with_state=True).state  # the latest keeps state, verified
    old, same = latest.checkpoint(10).model, every.checkpoint(10).model  # older ones keep verified weights
    assert old.keys() == same.keys() and all(torch.equal(old[k], same[k]) for k in old)
    with pytest.raises(CheckpointError, match="optimiser state was removed"):
        latest.checkpoint(10, with_state=True)
    a, b = final_weights(every.path), final_weights(latest.path)
    assert all(torch.equal(a[k], b[k]) for k in a)  # pruning changes nothing about training


def test_minibatch_sgd_and_adam_resume_identically(tmp_path, tiny_config):
    for optimizer in ("sgd", "adam"):
        config = tiny_config(train={"steps": 30, "batch_size": 16, "optimizer": optimizer, "lr": 1e-2})
        full = Run.create(tmp_path / f"full-{optimizer}", config)
        train(full, progress=False)
        cut = Run.create(tmp_path / f"cut-{optimizer}", config)
        with pytest.raises(KeyboardInterrupt):
            train(cut, progress=False, on_checkpoint=lambda s, m: (_ for _ in ()).throw(KeyboardInterrupt) if s == 10 else None)
        train(cut, resume=True, progress=False)
        a, b = final_weights(full.path), final_weights(cut.path)
        assert all(torch.equal(a[k], b[k]) for k in a), optimizer


def kill_resume_and_compare(tmp_path, tiny_spec, threads: str, steps: int, every: int, poll: float) -> None:
    """SIGKILL a real `grokkit train` process mid-run, resume it, compare with an uninterrupted run."""
    env = {**os.environ, "OMP_NUM_THREADS": threads}
    sets = ["--set", f"train.steps={steps}", "--set", f"train.checkpoint_every={every}", "--no-progress"]
    cli = [sys.executable, "-m", "grokkit"]
    victim = subprocess.Popen([*cli, "train", str(tiny_spec), "--out", str(tmp_path / "killed"), *sets], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ckpts = tmp_path / "killed" / "checkpoints"
    deadline = time.time() + 120
    while time.time() < deadline and (not ckpts.is_dir() or len([p for p in ckpts.iterdir() if p.name.startswith("step_")]) < 3):
        time.sleep(poll)
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    assert not (tmp_path / "killed" / "status.json").exists(), "the run finished before it could be killed"
    subprocess.run([*cli, "resume", str(tmp_path / "killed"), "--no-progress"], env=env, check=True, capture_output=True)
    subprocess.run([*cli, "train", str(tiny_spec), "--out", str(tmp_path / "whole"), *sets], env=env, check=True,
                   capture_output=True)
    a, b = final_weights(tmp_path / "killed"), final_weights(tmp_path / "whole")
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert strip_wall(Run(tmp_path / "killed").metrics()) == strip_wall(Run(tmp_path / "whole").metrics())


def test_hard_killed_run_resumes_bit_identical(tmp_path, tiny_spec):
    kill_resume_and_compare(tmp_path, tiny_spec, threads="1", steps=600, every=50, poll=0.05)


def test_early_stop_after_generalising(tmp_path, tiny_config):
    config = tiny_config(task={"p": 7, "frac_train": 0.9}, train={"steps": 400, "lr": 1e-2, "early_stop_after": 20,
                                                                  "early_stop_acc": 0.5})
    run = Run.create(tmp_path / "run", config)
    result = train(run, progress=False)
    status = run.status()
    assert result.stopped_early and status.stopped_early
    assert result.final_step == status.grok_step + 20 < 400
    assert run.checkpoint_steps()[-1] == result.final_step

    # resuming a run that stopped early trains nothing more (no new rows, no new checkpoint)
    rows = (run.path / "metrics.jsonl").read_text()
    again = train(run, resume=True, progress=False)
    assert again.stopped_early and again.final_step == result.final_step
    assert run.checkpoint_steps()[-1] == result.final_step
    assert (run.path / "metrics.jsonl").read_text() == rows


def test_warmup_schedule():
    from grokkit.train.config import TrainConfig

    cfg = TrainConfig(lr=1e-3, warmup_steps=10)
    assert lr_at(cfg, 0) == pytest.approx(1e-4) and lr_at(cfg, 9) == lr_at(cfg, 500) == 1e-3
    assert lr_at(TrainConfig(lr=1e-3, warmup_steps=0), 0) == 1e-3


def test_checkpoint_files_follow_the_umask(tmp_path):
    from grokkit.files.checkpoint import save_checkpoint

    old = os.umask(0o022)
    try:
        folder = save_checkpoint(tmp_path, 0, {"w": torch.zeros(2)}, {"m": torch.zeros(2)}, {})
    finally:
        os.umask(old)
    modes = {f.name: f.stat().st_mode & 0o777 for f in folder.iterdir()}
    assert modes == {"model.safetensors": 0o644, "optimizer.safetensors": 0o644, "meta.json": 0o644}


def test_two_trainings_at_the_default_thread_count_are_bit_identical(tmp_path, tiny_spec):
    """No --threads, no OMP_NUM_THREADS: torch's own choice (one thread per core)."""
    env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
    cli = [sys.executable, "-m", "grokkit", "train", str(tiny_spec), "--no-progress"]
    for name in ("a", "b"):
        subprocess.run([*cli, "--out", str(tmp_path / name)], env=env, check=True, capture_output=True)
    a, b = final_weights(tmp_path / "a"), final_weights(tmp_path / "b")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    rows = [strip_wall(Run(tmp_path / name).metrics()) for name in ("a", "b")]
    assert rows[0] == rows[1]


def test_hard_killed_run_resumes_bit_identical_at_the_default_thread_count(tmp_path, tiny_spec):
    """As test_hard_killed_run_resumes_bit_identical, without --threads. The default is one thread per
    core; OMP_NUM_THREADS=2 pins it to what a 2-core CI machine gets, so the test means the same
    everywhere (the reductions of 2 threads, not 1)."""
    kill_resume_and_compare(tmp_path, tiny_spec, threads="2", steps=200, every=10, poll=0.02)


@pytest.mark.parametrize(
    "field, value",
    [("loss", "sparsemax"), ("grokfast", "fast"), ("grokfast_alpha", 1.0), ("grokfast_lamb", -1.0),
     ("grokfast_window", 0), ("orthograd", 1)],
)
def test_config_rejects_bad_accelerator_settings(field, value):
    with pytest.raises(ConfigError, match=f"train.{field}"):
        TrainConfig(**{field: value})


def test_default_lambda_follows_the_filter():
    assert TrainConfig(grokfast="ema").grokfast_lambda == 2.0
    assert TrainConfig(grokfast="ma").grokfast_lambda == 5.0
    assert TrainConfig(grokfast="ma", grokfast_lamb=1.5).grokfast_lambda == 1.5


def _final(run):
    step = sorted(os.listdir(run.path / "checkpoints"))[-1]
    return load_file(str(run.path / "checkpoints" / step / "model.safetensors"))


@pytest.mark.parametrize(
    "accel",
    [{"grokfast": "ema", "loss": "stablemax"}, {"grokfast": "ma", "grokfast_window": 7, "orthograd": True}],
)
def test_accelerated_run_resumes_bit_identical(tmp_path, tiny_config, accel):
    config = tiny_config(train={"steps": 30, **accel})
    full = Run.create(tmp_path / "full", config)
    train(full, progress=False)
    cut = Run.create(tmp_path / "cut", config)

    with pytest.raises(KeyboardInterrupt):
        train(cut, progress=False, on_checkpoint=interrupt_at(10))
    assert any(k.startswith("accel.") for k in cut.checkpoint(10, with_state=True).state)
    train(cut, resume=True, progress=False)
    a, b = _final(full), _final(cut)
    assert all(torch.equal(a[k], b[k]) for k in a)
    # and the filter changed training: not the plain run
    plain = Run.create(tmp_path / "plain", tiny_config(train={"steps": 30}))
    train(plain, progress=False)
    assert any(not torch.equal(_final(plain)[k], a[k]) for k in a)
