"""`grokkit resume RUN --steps N`: a finished run trained on ends bit-identical to one started with N."""

from __future__ import annotations

import json

import pytest
import torch

from conftest import SMALL_MODEL, cli, one_line_error, tiny_toml
from grokkit.run import Run

SPEC = tiny_toml(task={"p": 7, "frac_train": 0.6}, model=SMALL_MODEL,
                 train={"lr": 0.01, "steps": 40, "eval_every": 10, "checkpoint_every": 10, "batch_size": 8})


def train(tmp_path, capsys, name, *sets):
    spec = tmp_path / "spec.toml"
    spec.write_text(SPEC)
    code, out, err = cli(capsys, "train", spec, "--out", tmp_path / name, "--no-progress",
                         *[arg for s in sets for arg in ("--set", s)])
    assert code == 0, err
    return tmp_path / name


def assert_same_final_weights(a, b) -> None:
    ra, rb = Run(a), Run(b)
    assert ra.checkpoint_steps()[-1] == rb.checkpoint_steps()[-1]
    ca, cb = ra.checkpoint(with_state=True), rb.checkpoint(with_state=True)
    assert ca.model.keys() == cb.model.keys() and ca.state.keys() == cb.state.keys()
    for name in ca.model:
        assert torch.equal(ca.model[name], cb.model[name]), name
    for name in ca.state:
        assert torch.equal(ca.state[name], cb.state[name]), name


def test_a_finished_run_extended_ends_bit_identical_to_one_trained_straight(tmp_path, capsys):
    short = train(tmp_path, capsys, "short", "train.steps=25")  # 25: off the eval and checkpoint grid
    straight = train(tmp_path, capsys, "straight")  # 40 steps
    before = json.loads((short / "config.json").read_text())
    code, out, err = cli(capsys, "resume", short, "--steps", 40, "--no-progress")
    assert code == 0, err
    assert f"{short}: extended from step 25: train.steps 25 → 40" in out
    assert_same_final_weights(short, straight)
    # every row a straight run logs is there with the same numbers; the extension adds the row at 25
    rows = {r["step"]: r for r in Run(short).metrics()}
    for row in Run(straight).metrics():
        assert {k: v for k, v in rows.pop(row["step"]).items() if k != "wall_s"} == \
            {k: v for k, v in row.items() if k != "wall_s"}
    assert list(rows) == [25]
    # recorded truthfully: the new config, what changed, from which step, the previous config
    record = json.loads((short / "config.json").read_text())
    assert record["config"]["train"]["steps"] == 40
    [entry] = record["extended"]
    assert entry["from_step"] == 25 and entry["changed"] == {"train.steps": [25, 40]}
    assert entry["previous"] == before["config"]
    assert json.loads((short / "status.json").read_text())["final_step"] == 40
    code, out, _ = cli(capsys, "info", short)
    assert "extended at step 25: train.steps 25 → 40" in out and "step 40 of 40" in out
    code, out, _ = cli(capsys, "info", short, "--json")
    [shown] = json.loads(out)["extended"]
    assert shown == {k: entry[k] for k in ("from_step", "changed", "at")}
    # every checkpoint, those written before the extension included, still opens
    for step in Run(short).checkpoint_steps():
        Run(short).checkpoint(step)


def test_set_train_steps_is_the_same_as_steps_and_an_interrupted_extension_resumes(tmp_path, capsys, monkeypatch):
    import grokkit.workflow

    short = train(tmp_path, capsys, "short", "train.steps=20")
    straight = train(tmp_path, capsys, "straight")

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    with monkeypatch.context() as m:
        m.setattr(grokkit.workflow, "train_run", interrupted)
        code, _, err = cli(capsys, "resume", short, "--set", "train.steps=40", "--no-progress")
    assert code == 130 and f"grokkit resume {short}" in err
    assert not (short / "status.json").exists()  # not "finished at 20" any more
    code, out, err = cli(capsys, "resume", short, "--no-progress")
    assert code == 0, err
    assert_same_final_weights(short, straight)


def test_an_early_stopped_run_needs_a_later_early_stop_and_then_matches(tmp_path, capsys):
    # early_stop_acc 0: "generalised" at step 0, so the run stops at early_stop_after
    stopped = train(tmp_path, capsys, "stopped", "train.early_stop_acc=0.0", "train.early_stop_after=20")
    assert json.loads((stopped / "status.json").read_text())["stopped_early"]
    config_before = (stopped / "config.json").read_bytes()
    code, _, err = cli(capsys, "resume", stopped, "--steps", 60)
    assert code == 2
    one_line_error(err, "train.early_stop_after")
    assert (stopped / "config.json").read_bytes() == config_before and (stopped / "status.json").exists()
    code, _, err = cli(capsys, "resume", stopped, "--set", "train.early_stop_after=30", "--no-progress")
    assert code == 0, err
    straight = train(tmp_path, capsys, "straight", "train.early_stop_acc=0.0", "train.early_stop_after=30")
    assert_same_final_weights(stopped, straight)
    assert json.loads((stopped / "status.json").read_text())["final_step"] == 30


@pytest.mark.parametrize("args, field", [
    (("--set", "train.schedule=cosine"), "train.steps and train.early_stop_after"),
    (("--set", "train.lr=0.1"), "train.steps and train.early_stop_after"),
    (("--steps", "10"), "train.steps: 10 is below step 20"),
    (("--steps", "-1"), "train.steps"),
])
def test_what_cannot_extend_bit_identically_is_one_line_and_writes_nothing(tmp_path, capsys, args, field):
    run = train(tmp_path, capsys, "run", "train.steps=20")
    before = {p: p.read_bytes() for p in run.rglob("*") if p.is_file()}
    code, _, err = cli(capsys, "resume", run, *args)
    assert code == 2
    one_line_error(err, field)
    assert {p: p.read_bytes() for p in run.rglob("*") if p.is_file()} == before


def test_a_cosine_schedule_depends_on_train_steps_and_is_refused(tmp_path, capsys):
    run = train(tmp_path, capsys, "run", "train.steps=20", "train.schedule=cosine")
    before = (run / "config.json").read_bytes()
    code, _, err = cli(capsys, "resume", run, "--steps", "40")
    assert code == 2
    one_line_error(err, "train.schedule = cosine")
    assert (run / "config.json").read_bytes() == before


def test_a_row_logged_only_because_the_run_ended_there_does_not_count_as_grokking(tmp_path, capsys):
    """The 8-step run logs a row at step 8 (its last) with test acc 0.2; a run started with 40 steps logs
    rows every 10 only and first reaches 0.2 at step 10, so it stops at 20, and so must the extended run."""
    sets = ("train.early_stop_acc=0.2", "train.early_stop_after=2")
    short = train(tmp_path, capsys, "short", "train.steps=8", *sets)
    assert [(r["step"], r["test_acc"]) for r in Run(short).metrics()][-1] == (8, pytest.approx(0.2))
    straight = train(tmp_path, capsys, "straight", *sets)
    assert json.loads((straight / "status.json").read_text())["final_step"] == 20
    code, _, err = cli(capsys, "resume", short, "--steps", 40, "--no-progress")
    assert code == 0, err
    assert json.loads((short / "status.json").read_text())["final_step"] == 20
    assert_same_final_weights(short, straight)
