"""Extensions decide under the run's lock from what the folder holds then, and explain only what they recorded.

Two extensions of one run (one from a handle opened before the other wrote), an extension while another
process holds the lock, a resume from a handle the folder has moved on from, and a hand edit of
``config.json`` hidden behind an extension record: each either records truthfully or is refused in one line
with nothing lost, and the run stays resumable.
"""

from __future__ import annotations

import json
import os

import pytest

from conftest import cli, held_elsewhere, one_line_error
from test_extend import train

from grokkit.errors import RunError
from grokkit.extend import extend_run
from grokkit.run import Run


def test_an_extension_from_a_stale_handle_keeps_the_other_extensions_record(tmp_path, capsys):
    run_dir = train(tmp_path, capsys, "run", "train.steps=20")
    stale = Run(run_dir)  # opened before the other extension
    extend_run(Run(run_dir), {"steps": 30})
    entry = extend_run(stale, {"steps": 40})  # decided from the folder, not from the handle's steps = 20
    assert entry["changed"] == {"train.steps": [30, 40]} and stale.config.train.steps == 40
    run = Run(run_dir)  # the chain 20 → 30 → 40 explains the config: it opens
    assert [e["changed"] for e in run.extended] == [{"train.steps": [20, 30]}, {"train.steps": [30, 40]}]
    code, out, err = cli(capsys, "resume", run_dir, "--no-progress")
    assert code == 0, err
    assert Run(run_dir).status().final_step == 40


def test_an_extension_while_another_process_holds_the_lock_is_refused_and_writes_nothing(tmp_path, capsys):
    run_dir = train(tmp_path, capsys, "run", "train.steps=20")
    before = {p.name: p.read_bytes() for p in run_dir.iterdir() if p.is_file()}
    with held_elsewhere(run_dir):
        code, out, err = cli(capsys, "resume", run_dir, "--steps", 40, "--no-progress")
    assert code != 0
    one_line_error(err, "another grokkit process")
    assert {p.name: p.read_bytes() for p in run_dir.iterdir() if p.is_file()} == before


def test_training_from_a_handle_the_folder_has_moved_on_from_is_refused(tmp_path, capsys):
    from grokkit.workflow import train_run

    run_dir = train(tmp_path, capsys, "run", "train.steps=20")
    stale = Run(run_dir)
    extend_run(Run(run_dir), {"steps": 30})  # another process extends it meanwhile
    with pytest.raises(RunError, match="config.json changed since this command opened it"):
        train_run(stale, resume=True, progress=False)
    assert "status.json" not in os.listdir(run_dir)  # the extension stands, untouched; resuming finishes it
    code, _, err = cli(capsys, "resume", run_dir, "--no-progress")
    assert code == 0, err and Run(run_dir).status().final_step == 30


@pytest.mark.parametrize("edit", ["task.op", "train.lr", "previous.task.op", "changed.task.op", "from_step",
                                  "changed.old"])
def test_a_hand_edit_behind_an_extension_record_is_refused(tmp_path, capsys, edit):
    run_dir = train(tmp_path, capsys, "run", "train.steps=20")
    assert cli(capsys, "resume", run_dir, "--steps", 30, "--no-progress").code == 0
    path = run_dir / "config.json"
    record = json.loads(path.read_text())
    entry = record["extended"][0]
    if edit == "task.op":  # the run's config says sub, its checkpoints up to step 20 were add
        record["config"]["task"]["op"] = "sub"
    elif edit == "train.lr":
        record["config"]["train"]["lr"] = 0.5
    elif edit == "previous.task.op":  # the previous config no longer leads to the run's
        entry["previous"]["task"]["op"] = "sub"
    elif edit == "changed.task.op":  # a record that claims to explain a key no extension changes
        record["config"]["task"]["op"] = "sub"
        entry["changed"]["task.op"] = ["add", "sub"]
    elif edit == "from_step":
        entry["from_step"] = "twenty"
    else:
        entry["changed"]["train.steps"] = [25, 30]
    path.write_text(json.dumps(record))
    for command in (("resume", run_dir, "--no-progress"), ("info", run_dir)):
        code, _, err = cli(capsys, *command)
        assert code != 0
        one_line_error(err, "config.json")


def _snapshot(run_dir) -> dict[str, bytes]:
    """Every file of the run folder (the lock file aside) and its bytes."""
    return {str(p.relative_to(run_dir)): p.read_bytes() for p in sorted(run_dir.rglob("*"))
            if p.is_file() and p.name != ".lock"}


def test_a_resume_whose_run_another_process_finished_after_the_extension_is_refused(tmp_path, capsys, monkeypatch):
    """``resume --steps N`` extends under the run's lock, releases it, and trains under the engine's lock: a process
    that finishes the run in between (here: inside the resource check, which runs in that window) wins; the loser is
    refused in one line by the engine's re-check under its lock, and the winner's files stay as it wrote them."""
    import grokkit.limits
    from grokkit.workflow import train_run

    run_dir = train(tmp_path, capsys, "run", "train.steps=20")
    check = grokkit.limits.check_resources
    seen = {}

    def finish_elsewhere(config):
        check(config)
        if not seen:  # the other process: opens the extended run and trains it to its end, lock and all
            train_run(Run(run_dir), resume=True, progress=False)
            seen["files"] = _snapshot(run_dir)

    monkeypatch.setattr(grokkit.limits, "check_resources", finish_elsewhere)
    code, out, err = cli(capsys, "resume", run_dir, "--steps", 40, "--no-progress")
    assert code != 0
    one_line_error(err, str(run_dir), "another process ended it", "finished at step 40", "nothing was written")
    assert _snapshot(run_dir) == seen["files"]  # nothing half-written over the winner's files
    run = Run(run_dir)
    assert run.status().finished and run.status().final_step == 40 and run.checkpoint_steps()[-1] == 40
    assert [e["changed"] for e in run.extended] == [{"train.steps": [20, 40]}]


def test_resuming_a_run_finished_under_the_lock_is_refused_by_the_engine_only_when_asked(tmp_path, capsys):
    from grokkit.workflow import train_run

    run_dir = train(tmp_path, capsys, "run", "train.steps=20")
    before = _snapshot(run_dir)
    with pytest.raises(RunError, match="another process ended it since this command read it .finished at step 20."):
        train_run(Run(run_dir), resume=True, progress=False, unfinished=True)
    assert _snapshot(run_dir) == before
