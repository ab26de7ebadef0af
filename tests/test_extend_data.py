"""`grokkit resume RUN --set task.frac_train=F --steps N`: a run's data changes where it ended, nested, recorded,
and everything else continues bit-exactly."""

from __future__ import annotations

import json
import shutil

import pytest
import torch

from conftest import SMALL_MODEL, cli, one_line_error, tiny_toml
from grokkit.data.dataset import AlgorithmicDataset, make_split
from grokkit.run import Run

SPEC = tiny_toml(task={"p": 7, "frac_train": 0.6}, model=SMALL_MODEL,
                 train={"lr": 0.01, "steps": 30, "eval_every": 10, "checkpoint_every": 10})


def train(tmp_path, capsys, name, *sets):
    spec = tmp_path / "spec.toml"
    spec.write_text(SPEC)
    code, out, err = cli(capsys, "train", spec, "--out", tmp_path / name, "--no-progress",
                         *[arg for s in sets for arg in ("--set", s)])
    assert code == 0, err
    return tmp_path / name


def change(capsys, run_dir, frac, steps):
    return cli(capsys, "resume", run_dir, "--set", f"task.frac_train={frac}", "--steps", steps, "--no-progress")


def checkpoint_bytes(run_dir, step):
    folder = run_dir / "checkpoints" / f"step_{step:07d}"
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.mark.parametrize("seed,method", [(598, "randperm"), (0, "paper"), (3, "randperm")])
def test_the_split_is_nested_in_frac_train_by_its_own_permutation(seed, method):
    for n in (49, 120, 8939):
        splits = [make_split(n, f, seed, method) for f in (0.2, 0.3, 0.5, 0.8)]
        for small, large in zip(splits, splits[1:]):
            assert set(small.train.tolist()) < set(large.train.tolist())  # a subset when shrinking
            grown = set(large.train.tolist()) - set(small.train.tolist())
            assert grown <= set(small.test.tolist())  # growing draws from the test rows
        for s in splits:
            assert sorted(s.train.tolist() + s.test.tolist()) == list(range(n))


def test_a_data_change_is_recorded_shown_and_trains_on_the_new_rows(tmp_path, capsys):
    run_dir = train(tmp_path, capsys, "run")
    old_train = set(Run(run_dir).dataset.split.train.tolist())
    before = checkpoint_bytes(run_dir, 30)
    code, out, err = change(capsys, run_dir, 0.4, 60)
    assert code == 0, err
    assert f"{run_dir}: extended from step 30: " in out
    assert "task.frac_train 0.6 → 0.4" in out and "train.steps 30 → 60" in out
    run = Run(run_dir)
    assert run.config.task.frac_train == 0.4 and run.config.train.steps == 60
    new_train = set(run.dataset.split.train.tolist())
    assert new_train < old_train and len(new_train) == int(0.4 * 49)
    [entry] = json.loads((run_dir / "config.json").read_text())["extended"]
    assert entry["from_step"] == 30 and entry["changed"]["task.frac_train"] == [0.6, 0.4]
    assert entry["previous"]["task"]["frac_train"] == 0.6
    assert checkpoint_bytes(run_dir, 30) == before  # the state at the change step is untouched
    # the first evaluation after the change scores the new split: recompute it from the checkpoint
    row = next(r for r in run.metrics() if r["step"] == 40)
    model = run.load_model(40)
    ds = AlgorithmicDataset(run.config.task)
    with torch.no_grad():
        logits = model(ds.tokens)[:, -1]
    acc = (logits.argmax(-1)[ds.split.train] == ds.labels[ds.split.train]).double().mean().item()
    assert row["train_acc"] == pytest.approx(acc)
    for step in run.checkpoint_steps():  # every checkpoint, from before the change too, still opens
        run.checkpoint(step)
    code, out, _ = cli(capsys, "info", run_dir)
    assert "data changed at step 30: " in out and "task.frac_train 0.6 → 0.4" in out
    assert "frac_train = 0.4" in out and "step 60 of 60" in out
    from grokkit.report.collect import collect
    from grokkit.report.sections import curve_sections

    data = collect(run)
    assert [(m.step, m.label) for m in data.marks] == [(30, "frac_train 0.6 → 0.4")]
    accuracy = next(s for s in curve_sections(data) if s.id == "accuracy")
    assert [shape.x0 for shape in accuracy.figure.layout.shapes if shape.line.dash == "dash"] == [30]
    assert cli(capsys, "report", run_dir).code == 0
    assert "data changed" in (run_dir / "report.html").read_text()


def test_growing_the_set_takes_test_rows_and_shrinking_again_is_nested(tmp_path, capsys):
    run_dir = train(tmp_path, capsys, "run")
    first = set(Run(run_dir).dataset.split.train.tolist())
    assert change(capsys, run_dir, 0.8, 40).code == 0
    grown = set(Run(run_dir).dataset.split.train.tolist())
    assert first < grown
    assert change(capsys, run_dir, 0.3, 50).code == 0
    shrunk = set(Run(run_dir).dataset.split.train.tolist())
    assert shrunk < first
    extended = Run(run_dir).extended
    assert [e["from_step"] for e in extended] == [30, 40]


@pytest.mark.parametrize("batch", [None, 8])
def test_a_data_change_equals_a_run_started_from_that_checkpoint_with_the_new_data(tmp_path, capsys, batch):
    """The 'other means': a fresh run folder with the new config, its trainer fed the old run's
    weights, optimiser and sampler state at the change step, trained by the engine's Trainer directly."""
    from grokkit.train.trainer import Member, Trainer
    from grokkit.model.build import build_model
    from grokkit.spec import config_from_dict
    from grokkit.train.device import flush_subnormals

    sets = [] if batch is None else [f"train.batch_size={batch}"]
    run_dir = train(tmp_path, capsys, "run", *sets)
    ckpt = Run(run_dir).checkpoint(30, with_state=True)
    assert change(capsys, run_dir, 0.4, 60).code == 0

    new = Run(run_dir).config.to_dict()
    other = Run.create(tmp_path / "other", config_from_dict(new))
    member = Member(other, build_model(other.config.model, other.config.task, device="cpu"))
    member.bridge.load_state_dict(ckpt.model, strict=True)
    member.resume_state = ckpt.state
    if batch is not None and batch < len(other.dataset.split.train):
        member.batch_rng = torch.Generator().manual_seed(other.config.train.seed)
        member.batch_rng.set_state(ckpt.state["rng.batch"])
    with flush_subnormals("cpu"):
        Trainer([member], 30, torch.device("cpu"), []).train()
    a, b = Run(run_dir).checkpoint(60, with_state=True), other.checkpoint(60, with_state=True)
    assert a.model.keys() == b.model.keys() and a.state.keys() == b.state.keys()
    assert all(torch.equal(a.model[k], b.model[k]) for k in a.model)
    assert all(torch.equal(a.state[k], b.state[k]) for k in a.state)


def test_continuing_twice_gives_identical_bytes_and_differs_from_keeping_the_data(tmp_path, capsys):
    run_dir = train(tmp_path, capsys, "run", "train.batch_size=8")
    twin, same = tmp_path / "twin", tmp_path / "same"
    shutil.copytree(run_dir, twin)
    shutil.copytree(run_dir, same)
    for d in (run_dir, twin):
        assert change(capsys, d, 0.3, 50).code == 0
    assert cli(capsys, "resume", same, "--steps", 50, "--no-progress").code == 0
    ours, theirs = checkpoint_bytes(run_dir, 50), checkpoint_bytes(twin, 50)
    tensors = [name for name in ours if name.endswith(".safetensors")]
    assert len(tensors) >= 2 and all(ours[name] == theirs[name] for name in tensors)  # weights and optimiser state
    assert checkpoint_bytes(run_dir, 50)["model.safetensors"] != checkpoint_bytes(same, 50)["model.safetensors"]


def test_a_data_change_that_is_not_allowed_is_one_line_and_writes_nothing(tmp_path, capsys):
    from conftest import held_elsewhere

    run_dir = train(tmp_path, capsys, "run")
    record = (run_dir / "config.json").read_bytes()
    code, _, err = change(capsys, run_dir, 0.04, 60)  # 1 of 49 rows: 6 of 7 classes have none
    assert code != 0
    one_line_error(err, "task.frac_train", "class(es) without training rows")
    code, _, err = cli(capsys, "resume", run_dir, "--set", "task.frac_train=0.4", "--no-progress")
    assert code != 0
    one_line_error(err, "train.steps", "--steps")
    code, _, err = change(capsys, run_dir, 1.5, 60)
    assert code != 0
    one_line_error(err, "task.frac_train")
    code, _, err = cli(capsys, "resume", run_dir, "--set", "task.p=11", "--steps", 60, "--no-progress")
    assert code != 0
    one_line_error(err, "task.p", "only task.frac_train")
    with held_elsewhere(run_dir):  # as a process still training holds it
        code, _, err = change(capsys, run_dir, 0.4, 60)
    assert code != 0
    one_line_error(err, "another grokkit process")
    assert (run_dir / "config.json").read_bytes() == record


def test_a_run_that_has_not_ended_cannot_change_its_data(tmp_path, capsys):
    run_dir = train(tmp_path, capsys, "run")
    (run_dir / "status.json").unlink()  # as an interrupted run has none
    code, _, err = change(capsys, run_dir, 0.4, 60)
    assert code != 0
    one_line_error(err, "has not ended")


def test_a_task_mixture_cannot_change_its_data(tmp_path):
    from conftest import tiny_dict
    from grokkit.train.runs import train_runs
    from grokkit.errors import RunError
    from grokkit.extend import extend_run
    from grokkit.spec import config_from_dict

    config = config_from_dict(tiny_dict(task={"op": "mixture", "mixture": [{"op": "add"}, {"op": "sub"}]},
                                        train={"steps": 10, "eval_every": 10, "checkpoint_every": 10, "device": "cpu"}))
    run = Run.create(tmp_path / "mix", config)
    train_runs([run])
    record = (tmp_path / "mix" / "config.json").read_bytes()
    with pytest.raises(RunError, match="task.frac_train: .* is a task mixture"):
        extend_run(run, {"steps": 20}, {"frac_train": 0.3})
    assert (tmp_path / "mix" / "config.json").read_bytes() == record
