"""The engine under faults (issue 12, 2): a non-finite loss or weight stops the run, marked diverged,
with its last good (finite) checkpoint, and the rest of its stack goes on; a stack killed between
its runs' first checkpoints resumes every run from step 0."""

from __future__ import annotations

import json

import pytest
import torch

from conftest import CPU_SPEC, cli, hidden, never_nan, one_line_error, same_run, write_spec


@pytest.fixture
def spec(tmp_path):
    return write_spec(tmp_path, CPU_SPEC)


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
    from grokkit.train.step import StackState

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
    from grokkit.train.runs import DivergedError, train_runs
    from grokkit.run import Run

    config = tiny_config(train={"eval_every": eval_every, "device": "cpu"})
    bad, good = Run.create(tmp_path / "bad", config), Run.create(tmp_path / "good", config)
    poison_after(monkeypatch, update)
    with pytest.raises(DivergedError) as caught:
        train_runs([bad, good])
    assert str(bad.path) in str(caught.value) and str(good.path) not in str(caught.value)
    assert bad.status().to_dict() == {"finished": False, "diverged": True, "diverged_at": diverged_at,
                                      "grok_step": None, "reason": reason, "last_good_checkpoint": last_good}
    assert bad.checkpoint_steps() == list(range(0, last_good + 1, 10)) and hidden(bad.path) == []
    assert [r["step"] for r in bad.metrics()] == list(range(0, diverged_at, eval_every))  # finite rows only
    assert good.status().finished and good.checkpoint_steps() == [0, 10, 20, 30, 40]
    assert [r["step"] for r in good.metrics()] == list(range(0, 41, eval_every))


def test_a_run_with_a_non_finite_initial_model_leaves_its_stack(tmp_path, tiny_config):
    from grokkit.train.runs import DivergedError, train_runs
    from grokkit.run import Run

    good = Run.create(tmp_path / "good", tiny_config(train={"device": "cpu"}))
    bad = Run.create(tmp_path / "bad", tiny_config(model={"init_scale": 1e30}, train={"device": "cpu"}))
    with pytest.raises(DivergedError, match="no checkpoint was written"):
        train_runs([good, bad])
    assert good.status().finished and good.checkpoint_steps() == [0, 10, 20, 30, 40]
    assert bad.status().diverged_at == 0 and bad.checkpoint_steps() == [] and bad.metrics() == []


def test_a_stack_killed_between_its_runs_checkpoints_0_resumes_every_run_from_step_0(tmp_path, tiny_config):
    """One run has its checkpoint 0, the other none yet: the second still gets its step-0 row and checkpoint."""
    from grokkit.train.runs import train_runs
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
