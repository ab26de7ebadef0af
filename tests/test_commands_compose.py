"""Every view works on a group-composition run (op compose, issue 22 §2): info, measure, report, resume,
load_run + run_with_cache, and compare over a sweep of them."""

from __future__ import annotations

import json

import pytest
import torch

from conftest import TASKS, cli

TASK = {"op": "compose", "group": "A4", "frac_train": 0.6}
MODEL = {"d_model": 16, "n_heads": 2, "d_head": 8, "d_mlp": 32}
TRAIN = {"steps": 30, "eval_every": 10, "checkpoint_every": 10, "device": "cpu", "lr": 1e-2}


@pytest.fixture(scope="module")
def composed(tmp_path_factory):
    """One tiny A4 run, trained once for the module (copy before changing it)."""
    from grokkit.run import Run
    from grokkit.spec import config_from_dict
    from grokkit.workflow import train_run

    run = Run.create(tmp_path_factory.mktemp("compose") / "a4",
                     config_from_dict({"task": TASK, "model": MODEL, "train": TRAIN}))
    train_run(run, progress=False)
    return run.path


def test_info_names_the_group(composed, capsys):
    code, out, err = cli(capsys, "info", composed, "--config")
    assert code == 0, err
    assert "task     compose, group A4, 12 elements, frac_train = 0.6" in out
    assert '"group": "A4"' in out


def test_measure_and_report_read_the_computed_irreps(composed, tmp_path, capsys):
    import shutil

    run_dir = tmp_path / "a4"
    shutil.copytree(composed, run_dir)
    code, out, err = cli(capsys, "measure", run_dir, "--key-freqs", "1,2")
    assert code == 0, err
    assert "= 3a, 2a (complex)" in out
    rows = [json.loads(line) for line in (run_dir / "measures.jsonl").read_text().splitlines()]
    assert rows[-1]["group"] == "A4" and rows[-1]["key_freqs"] == [1, 2]
    assert {"excluded_loss", "restricted_loss", "gini_W_E", "frac_neurons_explained"} <= set(rows[-1])
    code, out, err = cli(capsys, "report", run_dir)
    assert code == 0, err
    assert "A4" in (run_dir / "report.html").read_text(encoding="utf-8")


def test_resume_extends_a_compose_run_bit_identically(composed, tmp_path, capsys):
    import shutil

    from conftest import final_weights
    from grokkit.run import Run
    from grokkit.spec import config_from_dict
    from grokkit.workflow import train_run

    run_dir = tmp_path / "a4"
    shutil.copytree(composed, run_dir)
    code, _, err = cli(capsys, "resume", run_dir, "--steps", "40", "--no-progress")
    assert code == 0, err
    straight = Run.create(tmp_path / "straight", config_from_dict(
        {"task": TASK, "model": MODEL, "train": {**TRAIN, "steps": 40}}))
    train_run(straight, progress=False)
    a, b = final_weights(run_dir), final_weights(straight.path)
    assert (run_dir / "checkpoints" / "step_0000040").is_dir()
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_load_run_and_run_with_cache(composed):
    import grokkit

    run = grokkit.load_run(composed)
    model = run.load_model()
    logits, cache = model.run_with_cache(run.dataset.tokens)
    assert logits.shape == (144, 3, 12) and cache["blocks.0.mlp.hook_post"].shape == (144, 3, 32)
    table = torch.from_numpy(run.config.task.finite_group.table.reshape(-1))
    assert torch.equal(run.dataset.labels, table)
    group = grokkit.group_for(run.config.task)
    assert group.name == "A4" and group.component_names == ("3a", "2a (complex)")


def test_compare_reads_a_sweep_of_compose_runs(tmp_path, capsys):
    from grokkit.sweep.driver import run_sweep
    from grokkit.sweep.spec import expand
    from grokkit.toy import load_toy_spec
    from grokkit.toy import run_sweep as run_toy

    toy = ["toy.n=30", "toy.S=0.8", "toy.test_points=50", "train.steps=20", "train.warmup_steps=4",
           "sweep.T=[3,20]", "sweep.seeds=1", "sweep.chunk_instances=4", "train.best_of=1"]
    run_toy(load_toy_spec(TASKS / "toy_cpu.toml", toy), tmp_path / "toy", log=lambda *_: None)
    sweep = {"task": TASK, "model": MODEL, "train": {**TRAIN, "steps": 20},
             "sweep": {"grid": {"task.frac_train": [0.5, 0.7]}}}
    outcome = run_sweep(expand(sweep), tmp_path / "sweep", report=lambda _: None)
    for row in outcome.rows:  # which irreps each run keeps (none yet at 20 steps), how much of each weight they hold
        assert row["key_names"] is not None and all(0 <= row[c] <= 1 + 1e-9 for c in
                                        ("key_embed_share", "key_unembed_share", "key_neuron_share", "key_logit_share"))
    page = tmp_path / "compare.html"
    code, out, err = cli(capsys, "compare", "--toy", tmp_path / "toy", "--transformer", tmp_path / "sweep",
                         "--out", page, "--measure")
    assert code == 0, err
    assert page.exists() and "Training examples held individually" in page.read_text(encoding="utf-8")
