"""Sweeps: expansion, stacked execution into ordinary runs, restart skipping, phase-diagram report, Ray."""

import importlib.util
import json

import pytest
import torch
from safetensors.torch import load_file

from conftest import SMALL_MODEL, tiny_toml
from grokkit.errors import ConfigError, SpecError
from grokkit.run import Run
from grokkit.sweep import expand, run_sweep
from grokkit.sweep.report import phase_grid

BASE = {
    "task": {"op": "add", "p": 7, "frac_train": 0.5},
    "model": {"d_model": 16, "n_heads": 2, "d_head": 8, "d_mlp": 32},
    "train": {"steps": 40, "lr": 1e-2, "eval_every": 10, "checkpoint_every": 20},
}


def sweep_data(**sweep):
    data = {k: dict(v) for k, v in BASE.items()}
    data["sweep"] = sweep
    return data


def grid_2x2(**extra):
    return sweep_data(grid={"train.weight_decay": [0.0, 1.0], "task.frac_train": [0.5, 0.7]}, **extra)


def test_grid_times_list_expands_to_validated_named_runs():
    spec = expand(sweep_data(grid={"train.weight_decay": [0.0, 1.0], "task.frac_train": [0.4, 0.6]},
                             runs=[{"model.seed": 1}, {"model.seed": 2, "model.d_mlp": 64}]))
    assert len(spec.runs) == 8 and spec.diagram == ("train.weight_decay", "task.frac_train")
    assert spec.varied == ["train.weight_decay", "task.frac_train", "model.seed", "model.d_mlp"]
    run = spec.runs[-1]
    assert run.name == "train.weight_decay=1.0,task.frac_train=0.6,model.seed=2,model.d_mlp=64"
    assert run.config.model.d_mlp == 64 and run.config.task.frac_train == 0.6 and run.config.train.lr == 1e-2


@pytest.mark.parametrize("sweep, error, match", [
    ({"grid": {"train.lr": [1e-3]}, "budget": 3}, SpecError, "sweep.budget"),
    ({"grid": {"lr": [1e-3]}}, SpecError, "section.key"),
    ({"grid": {"train.lr": []}}, SpecError, "non-empty"),
    ({"grid": {"train.lr": [-1.0]}}, ConfigError, "train.lr"),
    ({"grid": {"train.lr": [1e-3], "train.steps": [5]}, "diagram": {"x": "train.lr", "y": "task.p"}}, SpecError,
     "diagram.y"),
])
def test_bad_sweep_specs_are_refused(sweep, error, match):
    with pytest.raises(error, match=match):
        expand(sweep_data(**sweep))


def test_phase_grid_takes_medians_over_seeds():
    rows = [{"x": 1, "y": "a", "grok_step": 100}, {"x": 1, "y": "a", "grok_step": 300},
            {"x": 2, "y": "a", "grok_step": None}, {"x": 2, "y": "a", "grok_step": None}]
    xs, ys, z, text = phase_grid(rows, "x", "y", "grok_step")
    assert xs == [1, 2] and ys == ["a"] and z == [[200, None]] and text[0] == ["200 (2/2)", "- (0/2)"]


def test_sweep_writes_ordinary_runs_results_and_report(tmp_path):
    outcome = run_sweep(expand(grid_2x2()), tmp_path / "sw", report=lambda _: None)
    assert len(outcome.rows) == 4 and not outcome.skipped
    for row in outcome.rows:
        run = Run(tmp_path / "sw" / "runs" / row["name"])
        assert run.status()["finished"] and run.checkpoint_steps() == [0, 20, 40]
        assert {"memorise_step", "grok_step", "final_test_loss", "key_freqs", "circuit_formation_end"} <= row.keys()
    assert (tmp_path / "sw" / "results.csv").read_text().count("\n") == 5
    page = outcome.report.read_text()
    assert "Steps to grok" in page and "plotly" in page and page.count("<script") >= 3


def final(path):
    return load_file(str(sorted((path / "checkpoints").iterdir())[-1] / "model.safetensors"))


def test_interrupted_sweep_restarts_without_redoing_finished_runs(tmp_path, monkeypatch):
    import grokkit.measures.live as live

    spec = expand(grid_2x2(max_stack=2))  # two batches of two stacked runs
    whole = run_sweep(spec, tmp_path / "whole", report=lambda _: None)

    class Interrupting(live.LiveMeasures):  # the second batch dies at its step-20 checkpoint
        def __bool__(self):
            return True

        def on_checkpoint(self, run, step, model):
            super().on_checkpoint(run, step, model)
            if step == 20 and "frac_train=0.5" in run.path.name and "decay=1.0" in run.path.name:
                raise KeyboardInterrupt

    monkeypatch.setattr(live, "LiveMeasures", Interrupting)
    with pytest.raises(KeyboardInterrupt):
        run_sweep(spec, tmp_path / "cut", report=lambda _: None)
    monkeypatch.undo()
    runs = tmp_path / "cut" / "runs"
    finished = sorted(p.name for p in runs.iterdir() if (p / "status.json").exists())
    assert len(finished) == 2
    stamps = {name: (runs / name / "metrics.jsonl").stat().st_mtime_ns for name in finished}

    again = run_sweep(spec, tmp_path / "cut", report=lambda _: None)
    assert sorted(again.skipped) == finished and len(again.trained) == 2
    assert stamps == {name: (runs / name / "metrics.jsonl").stat().st_mtime_ns for name in finished}
    for row in whole.rows:  # the resumed stack ends exactly where the uninterrupted one did
        a, b = final(tmp_path / "whole" / "runs" / row["name"]), final(runs / row["name"])
        assert all(torch.equal(a[k], b[k]) for k in a)
    assert [r["grok_step"] for r in again.rows] == [r["grok_step"] for r in whole.rows]


def test_sweep_command(tmp_path, capsys):
    from grokkit.cli import main

    spec = tmp_path / "s.toml"
    spec.write_text(tiny_toml(task={"p": 7, "frac_train": 0.3}, model=SMALL_MODEL, train={"steps": 20}) + """
[sweep.grid]
"train.weight_decay" = [0.0, 1.0]
"model.seed" = [1, 2]
""")
    assert main(["sweep", str(spec), "--out", str(tmp_path / "out"), "--no-progress"]) == 0
    assert "trained 4, skipped 0" in capsys.readouterr().out
    assert main(["sweep", str(spec), "--out", str(tmp_path / "out"), "--no-progress"]) == 0
    assert "trained 0, skipped 4" in capsys.readouterr().out
    assert json.loads((tmp_path / "out" / "sweep.json").read_text())["format"] == "grokkit-sweep"


@pytest.mark.slow  # starting Ray takes 20 s to minutes on a busy 2-core machine
@pytest.mark.skipif(importlib.util.find_spec("ray") is None,
                    reason="ray is not installed (optional extra: pip install 'grokkit[ray]')")
def test_ray_executor_on_a_local_instance(tmp_path):
    import ray

    spec = expand(grid_2x2(max_stack=2))
    outcome = run_sweep(spec, tmp_path / "ray", executor="ray", num_cpus=1, report=lambda _: None)
    assert not ray.is_initialized()  # the local instance it started is shut down again
    assert all(row["finished"] for row in outcome.rows) and len(outcome.trained) == 4
    local = run_sweep(spec, tmp_path / "local", report=lambda _: None)
    assert [r["final_test_loss"] for r in outcome.rows] == [r["final_test_loss"] for r in local.rows]
