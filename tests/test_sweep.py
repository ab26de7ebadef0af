"""Sweeps: expansion, stacked execution into ordinary runs, restart skipping, phase-diagram report, Ray."""

import importlib.util
import json

import pytest
import torch
from safetensors.torch import load_file

from conftest import SMALL_MODEL, tiny_toml, write_spec
from grokkit.errors import ConfigError, RunError, SpecError
from grokkit.run import Run
from grokkit.sweep.driver import run_sweep
from grokkit.sweep.spec import expand
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
        assert run.status().finished and run.checkpoint_steps() == [0, 20, 40]
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


# --- the command line: --set sweep.*, --max-stack, Ray flags, Ctrl-C ---------------------------

SPEC_TOML = tiny_toml(task={"p": 7}, model=SMALL_MODEL, train={"steps": 20}) + """
[sweep.grid]
"train.weight_decay" = [0.0, 1.0]
"model.seed" = [1, 2]
"""


def sweep_spec(tmp_path, text=SPEC_TOML):
    return write_spec(tmp_path, text, "s.toml")


def test_set_and_max_stack_reach_the_sweep_table(tmp_path, capsys):
    from grokkit.cli import main
    from grokkit.sweep.spec import load_sweep

    spec = sweep_spec(tmp_path)
    assert load_sweep(spec, ["sweep.max_stack=3"]).max_stack == 3  # was: "unknown section [sweep]"
    with pytest.raises(SpecError, match="sweep.max_stack"):
        load_sweep(spec, ["sweep.max_stack=0"])
    assert main(["sweep", str(spec), "--out", str(tmp_path / "o"), "--no-progress", "--max-stack", "2"]) == 0
    out = capsys.readouterr().out
    assert "batch 2/2: 2 run(s)" in out
    assert "run train.weight_decay=1.0,model.seed=2: no grok by step 20 (4/4 done)" in out  # a line per run


def test_stack_sizes_spread_runs_over_the_slots():
    from grokkit.sweep.batches import stack_sizes

    assert stack_sizes(4, 32, 1) == [4]
    assert stack_sizes(4, 32, 2) == [2, 2]      # two Ray CPUs: two stacks, not one stack and an idle node
    assert stack_sizes(3, 32, 8) == [1, 1, 1]
    assert stack_sizes(5, 2, 1) == [2, 2, 1]    # max_stack still caps
    assert stack_sizes(10, 32, 3) == [4, 3, 3]


def test_ray_flags_imply_ray_and_contradictions_are_one_line(tmp_path, capsys):
    from grokkit.cli import main
    from grokkit.executor import ExecutorOptions

    assert ExecutorOptions(None, "10.0.0.5:6379").kind == "ray"  # was: trained locally, silently
    assert ExecutorOptions(None, None, 2).kind == "ray" and ExecutorOptions().kind == "local"
    spec = sweep_spec(tmp_path)
    assert main(["sweep", str(spec), "--out", str(tmp_path / "o"), "--executor", "local",
                 "--address", "10.0.0.5:6379"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--address: only with --executor ray" in err
    assert not (tmp_path / "o").exists()


def test_ctrl_c_advises_the_sweep_command_without_restart(tmp_path, capsys, monkeypatch):
    from grokkit.sweep import driver
    from grokkit.cli import main

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(driver, "run_sweep", interrupted)
    spec = sweep_spec(tmp_path)
    out = tmp_path / "my sweep"
    assert main(["sweep", str(spec), "--out", str(out), "--restart", "--set", "train.lr=3e-3", "--threads", "1"]) == 130
    err = capsys.readouterr().err
    assert "grokkit resume" not in err  # resume refuses a sweep folder
    assert f"`grokkit sweep {spec} --out '{out}' --threads 1 --set train.lr=3e-3`" in err and "--restart" not in err


# --- what a sweep writes, and what --restart deletes (issue 16, items 2 and 7) -----------------

def test_a_spec_that_fails_validation_writes_nothing(tmp_path, capsys):
    from grokkit.cli import main

    long_value = "x" * 300  # a run name longer than a folder name may be
    spec = sweep_spec(tmp_path, SPEC_TOML + f'"log.project" = ["{long_value}"]\n')
    assert main(["sweep", str(spec), "--out", str(tmp_path / "o"), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "a folder name holds at most 255" in err
    assert not (tmp_path / "o").exists()  # was: sweep.json and runs/ left behind, so the fix was refused
    spec.write_text(SPEC_TOML)
    assert main(["sweep", str(spec), "--out", str(tmp_path / "o"), "--no-progress"]) == 0


def test_a_tracker_that_cannot_start_is_refused_before_anything_is_written(tmp_path, capsys, monkeypatch):
    from grokkit.cli import main

    monkeypatch.setenv("WANDB_MODE", "online")
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    monkeypatch.setenv("WANDB_CONFIG_DIR", str(tmp_path / "wandb-config"))  # no stored login
    monkeypatch.setenv("NETRC", str(tmp_path / "no-netrc"))
    spec = sweep_spec(tmp_path, SPEC_TOML.replace("[sweep.grid]", '[log]\nbackends = ["wandb"]\n\n[sweep.grid]'))
    assert main(["sweep", str(spec), "--out", str(tmp_path / "o"), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "log.backends" in err  # no package, or no login (naming WANDB_MODE=offline)
    assert not (tmp_path / "o").exists()  # was: sweep.json and runs/ written, then the first batch failed


def test_a_run_folder_holding_other_files_is_refused_before_anything_is_written(tmp_path):
    spec = expand(grid_2x2())
    out = tmp_path / "sw"
    run_sweep(spec, out, report=lambda _: None)
    victim = out / "runs" / spec.runs[1].name
    for entry in sorted(victim.rglob("*"), reverse=True):
        entry.rmdir() if entry.is_dir() else entry.unlink()
    (victim / "notes.txt").write_text("mine")
    stamp = (out / "sweep.json").stat().st_mtime_ns
    with pytest.raises(RunError, match="not a grokkit run"):
        run_sweep(spec, out, report=lambda _: None)
    assert (out / "sweep.json").stat().st_mtime_ns == stamp and (victim / "notes.txt").read_text() == "mine"


def test_restart_deletes_only_the_recorded_runs_and_says_what_it_left(tmp_path):
    out = tmp_path / "sw"
    first = expand(grid_2x2())
    run_sweep(first, out, report=lambda _: None)
    (out / "runs" / "NOTES.md").write_text("my notes")
    (out / "runs" / "my-analysis").mkdir()
    (out / "runs" / "my-analysis" / "plot.txt").write_text("a plot")
    kept_run = out / "runs" / first.runs[0].name
    (kept_run / "my-notebook.ipynb").write_text("{}")
    lines = []
    second = expand(sweep_data(grid={"train.weight_decay": [0.3], "model.seed": [1, 2]}))
    run_sweep(second, out, report=lines.append, restart=True)
    assert (out / "runs" / "NOTES.md").read_text() == "my notes"  # was: deleted
    assert (out / "runs" / "my-analysis" / "plot.txt").read_text() == "a plot"
    assert (kept_run / "my-notebook.ipynb").exists() and not (kept_run / "config.json").exists()
    assert sorted(p.name for p in (out / "runs").iterdir()) == sorted(
        ["NOTES.md", "my-analysis", kept_run.name, *(r.name for r in second.runs)])
    left = [line for line in lines if line.startswith("--restart: left")]
    assert len(left) == 1 and "NOTES.md" in left[0] and "my-analysis" in left[0] and "my-notebook.ipynb" in left[0]


def test_restart_never_deletes_through_a_runs_symlink(tmp_path):
    out = tmp_path / "sw"
    spec = expand(grid_2x2())
    run_sweep(spec, out, report=lambda _: None)
    elsewhere = tmp_path / "elsewhere"
    (out / "runs").rename(elsewhere)
    (out / "runs").symlink_to(elsewhere)
    before = sorted(p.name for p in elsewhere.iterdir())
    other = expand(sweep_data(grid={"train.weight_decay": [0.3], "model.seed": [1, 2]}))
    for restart in (True, False):  # was: a traceback from rmtree on a symbolic link
        with pytest.raises(RunError, match="runs is a symbolic link"):
            run_sweep(other, out, report=lambda _: None, restart=restart)
    assert sorted(p.name for p in elsewhere.iterdir()) == before and (out / "sweep.json").exists()


# --- shipping run folders to a Ray worker and back -----------------------------------------------

def test_ship_round_trip_checks_hashes_and_mirrors_deletions(tmp_path):
    from grokkit.sweep.ship import land, pack, unpack

    run = tmp_path / "driver" / "r"
    (run / "checkpoints" / "step_0000000").mkdir(parents=True)
    (run / "config.json").write_text("{}")
    (run / "checkpoints" / "step_0000000" / "optimizer.safetensors").write_bytes(b"state")
    (run / "checkpoints" / "step_0000000" / "model.safetensors").write_bytes(b"w0")
    (run / ".lock").write_text("123")
    sent = pack(run)
    assert ".lock" not in sent.files and len(sent.files) == 3

    worker = tmp_path / "worker" / "r"
    unpack(worker, sent)
    (worker / "checkpoints" / "step_0000000" / "optimizer.safetensors").unlink()  # pruned by the engine
    (worker / "checkpoints" / "step_0000010").mkdir()
    (worker / "checkpoints" / "step_0000010" / "model.safetensors").write_bytes(b"w10")
    (worker / "status.json").write_text('{"finished": true}')
    back = pack(worker)

    damaged = type(back)(dict(back.files), dict(back.sha256))
    damaged.files["status.json"] = b'{"finished": false}'
    with pytest.raises(RunError, match="another SHA-256"):
        land(run, damaged, sent)
    assert not (run / "status.json").exists()  # nothing written

    land(run, back, sent)
    assert pack(run).files == back.files and (run / ".lock").exists()


def test_ship_refuses_to_write_through_a_linked_checkpoints_folder(tmp_path):
    from grokkit.sweep.ship import Bundle, land

    run, elsewhere = tmp_path / "r", tmp_path / "elsewhere"
    run.mkdir()
    elsewhere.mkdir()
    (run / "checkpoints").symlink_to(elsewhere)
    files = {"checkpoints/step_0000000/model.safetensors": b"w"}
    from grokkit.files.digest import sha256_bytes

    with pytest.raises(RunError, match="symbolic link"):
        land(run, Bundle(files, {k: sha256_bytes(v) for k, v in files.items()}), Bundle({}, {}))
    assert not any(elsewhere.iterdir())


def test_an_address_where_nothing_answers_is_one_line_and_writes_nothing(tmp_path, capsys):
    import socket

    from grokkit.cli import main

    pytest.importorskip("ray")
    with socket.socket() as sock:  # a port nobody listens on: bound, never listening
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        code = main(["sweep", str(sweep_spec(tmp_path)), "--out", str(tmp_path / "o"), "--address", f"127.0.0.1:{port}"])
    assert code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "nothing answers there" in err
    assert not (tmp_path / "o").exists()  # was: sweep.json and runs/ written, then minutes of Ray retries
