"""One writer per run (issue 12, 5): the run lock is held for the whole command, a second writer is
refused at once, and a lock left by a killed writer does not block. (A lock that is a link:
test_files_links.py.)"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from conftest import CPU_SPEC, ckpt, cli, one_line_error, write_spec


@pytest.fixture
def spec(tmp_path):
    return write_spec(tmp_path, CPU_SPEC)


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
