"""grokkit compare: the page, counts that agree with the rows and with the model, findings that follow the data,
and bad input refused in one line with nothing written."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from conftest import TASKS, cli, made_run
from grokkit.compare import OWN_DIRECTION, load_toy, load_transformer
from grokkit.compare.collect import ToyCurve, ToySide, TransformerRun
from grokkit.compare.explain import memorised_summary, toy_findings, transformer_findings
from grokkit.errors import RunError
from grokkit.toy.summary import CurvePoint

TOY = ["toy.n=30", "toy.S=0.8", "toy.test_points=50", "train.steps=40", "train.warmup_steps=4",
       "sweep.T=[3,20]", "sweep.seeds=2", "sweep.chunk_instances=4", "train.best_of=1"]
SWEEP = {
    "task": {"op": "add", "p": 7},
    "model": {"d_model": 16, "n_heads": 2, "d_head": 8, "d_mlp": 32},
    "train": {"steps": 40, "lr": 1e-2, "eval_every": 10, "checkpoint_every": 20},
    "sweep": {"grid": {"task.frac_train": [0.5, 0.7]}},
}


@pytest.fixture(scope="module")
def sweeps(tmp_path_factory):
    """(toy sweep, transformer sweep without measures): trained once for the module; copy before changing."""
    from grokkit.sweep.driver import run_sweep
    from grokkit.sweep.spec import expand
    from grokkit.toy import load_toy_spec
    from grokkit.toy import run_sweep as run_toy

    root = tmp_path_factory.mktemp("compare")
    run_toy(load_toy_spec(TASKS / "toy_cpu.toml", TOY), root / "toy", log=lambda *_: None)
    run_sweep(expand(SWEEP), root / "transformer", report=lambda _: None)
    return root / "toy", root / "transformer"


@pytest.fixture(scope="module")
def measured(sweeps):
    """A copy of the transformer sweep whose runs carry the excluded measure (key frequencies 1 and 2 given)."""
    from grokkit.measures.offline import measure_run
    from grokkit.run import Run

    copy = sweeps[1].parent / "measured"
    shutil.copytree(sweeps[1], copy)
    for run_dir in sorted((copy / "runs").iterdir()):
        measure_run(Run(run_dir), ["excluded"], key_freqs=[1, 2])  # given, so K is not empty at 40 steps
    return copy


def test_page_has_every_section_and_figure(sweeps, measured, tmp_path, capsys):
    page = tmp_path / "out" / "compare.html"
    code, out, err = cli(capsys, "compare", "--toy", sweeps[0], "--transformer", measured, "--out", page)
    assert code == 0, err
    assert f"comparison: {page}" in out
    html = page.read_text(encoding="utf-8")
    assert html.count("plotly.js v") == 1 and 'data-figures-expected="4"' in html  # plotly.js embedded once
    for section in ("toy_loss", "transformer_loss", "toy_counts", "transformer_memorised"):
        assert f"id='section-{section}'" in html and f"id='fig-{section}'" in html
    for heading in ("Test loss against training-set size", "Training examples held individually",
                    "What the comparison shows", "Numbers"):
        assert heading in html
    assert not list(page.parent.glob(".*tmp*"))  # the temporary file was renamed away


def test_memorised_count_is_the_number_of_train_examples_still_right_without_key_freqs(measured):
    from grokkit.analysis.fourier import grid_directions
    from grokkit.measures.offline import read_measures
    from grokkit.run import Run

    runs = load_transformer(measured)
    assert [r.frac_train for r in runs] == [0.5, 0.7] and [r.n_train for r in runs] == [24, 34]  # ⌊frac·49⌋
    for r in runs:
        run = Run(measured / "runs" / r.name)
        rows = read_measures(run.path)
        assert r.steps == [row["step"] for row in rows] == run.checkpoint_steps()
        assert r.memorised == [round(row["excluded_acc"] * r.n_train) for row in rows]
        assert r.chance == r.n_train / 7
        # independently: remove Σ_k P_k(L) from the final logits and count the train rows still argmax-correct
        ds = run.dataset
        with torch.no_grad():
            L = run.load_model(r.steps[-1])(ds.tokens)[:, -1].double()  # [p², p]
        D = grid_directions(7, [1, 2])  # [p², 4]
        L_ex = L - D @ (D.T @ L)
        train = ds.split.train
        assert int((L_ex[train].argmax(-1) == ds.labels[train]).sum()) == r.memorised[-1]


def test_toy_counts_agree_with_the_rows_and_the_saved_dimensionalities(sweeps):
    from grokkit.toy import load_rows, load_tensors

    toy = load_toy(sweeps[0])
    rows = load_rows(sweeps[0])
    (curve,) = toy.curves
    assert curve.m == 2 and [p.T for p in curve.points_own] == [3, 20]
    for i, T in enumerate((3, 20)):
        at_T = [r for r in rows if r["T"] == T]
        assert curve.points_own[i].mean == pytest.approx(sum(r["n_points_above_small"] for r in at_T) / len(at_T))
        assert curve.features_own[i].mean == pytest.approx(sum(r["n_features_above_small"] for r in at_T) / len(at_T))
        for row in at_T:
            t = load_tensors(sweeps[0], row)
            assert int((t["point_dims"] >= OWN_DIRECTION).sum()) == row["n_points_above_small"]
            # dimensionalities of vectors in m dimensions sum to at most m
            assert float(t["point_dims"].sum()) <= 2 + 1e-4 and float(t["feature_dims"].sum()) <= 2 + 1e-4
            assert int((t["point_dims"] >= OWN_DIRECTION).sum()) <= 2 / OWN_DIRECTION


def fake_run(memorised: list[int], grok_step: int | None) -> TransformerRun:
    steps = [100 * i for i in range(len(memorised))]
    return TransformerRun(
        name="r", settings={}, p=7, frac_train=0.5, n_train=24, steps=steps, memorised=memorised,
        excluded_acc=[m / 24 for m in memorised], key_freqs=[1], key_freqs_source="final", eval_steps=steps,
        test_acc=[0.5] * len(steps), final_test_loss=1.0, final_step=steps[-1], grok_step=grok_step,
    )


def test_findings_follow_the_numbers():
    falls = fake_run([3, 20, 18, 9, 4], grok_step=300)
    s = memorised_summary(falls)
    assert (s.peak, s.peak_step, s.half_step, s.at_grok, s.final) == (20, 100, 300, 9, 4)
    (text,) = transformer_findings([falls])
    assert "20 of 24" in text and "fell to half its peak by step 300, at the step" in text
    stays = fake_run([3, 20, 18, 15, 12], grok_step=None)
    assert memorised_summary(stays).half_step is None
    (text,) = transformer_findings([stays])
    assert "never fell to half its peak" in text and "stayed below 99%" in text


def fake_toy(loss: list[float], points: list[float], features: list[float]) -> ToySide:
    def curve(values):
        return [CurvePoint(T, v, v, v, 1) for T, v in zip((3, 30, 300, 3000), values)]

    return ToySide(Path("."), 1000, [], [ToyCurve("all", 2, curve(loss), curve(points), curve(features))])


def test_toy_findings_follow_the_numbers():
    # peak at T = 300 where neither has an own direction, points lead below it and features above it
    text = " ".join(toy_findings(fake_toy([1.0, 1.01, 1.1, 0.99], [3, 20, 0, 0], [1, 2, 0, 5])))
    assert "highest at T = 300 (+0.1000); an interior peak" in text
    assert "training points at T = 3, 30; to features at T = 3000" in text and "Neither leads at T = 300" in text
    assert "the peak lies between the T where training points lead and the T where features lead" in text
    # the same peak, now with more points than features there, and the peak at an end of the swept T
    text = " ".join(toy_findings(fake_toy([1.0, 1.01, 1.1, 1.2], [3, 20, 9, 0], [1, 2, 4, 5])))
    assert "no bump is resolved" in text and "training points lead there" not in text
    assert "At the test-loss peak (T = 3000), 0.0 training points and 5.0 features" in text
    assert "features lead there" in text


def test_unmeasured_runs_are_refused_then_measured_with_the_flag(sweeps, tmp_path, capsys):
    copy = tmp_path / "transformer"
    shutil.copytree(sweeps[1], copy)
    page = tmp_path / "page.html"
    code, _, err = cli(capsys, "compare", "--toy", sweeps[0], "--transformer", copy, "--out", page)
    assert code == 2 and err.startswith("grokkit: error: --transformer") and err.count("\n") == 1
    assert "--measure" in err and not page.exists()
    assert not list(copy.rglob("measures.jsonl"))
    code, out, err = cli(capsys, "compare", "--toy", sweeps[0], "--transformer", copy, "--out", page, "--measure")
    assert code == 0, err
    assert page.is_file() and len(list(copy.rglob("measures.jsonl"))) == 2
    rows = [json.loads(line) for line in (copy / "runs" / "task.frac_train=0.5" / "measures.jsonl").open()]
    assert all(row["key_freqs_source"] == "final" for row in rows)  # the paper's convention


@pytest.mark.parametrize("case, arg", [
    ("toy_is_transformer", "--toy"),
    ("transformer_is_toy", "--transformer"),
    ("toy_missing", "--toy"),
    ("transformer_empty", "--transformer"),
    ("measures_without_excluded", "--transformer"),
])
def test_bad_input_is_one_line_exit_2_nothing_written(sweeps, measured, tmp_path, capsys, case, arg):
    toy, transformer, page = sweeps[0], measured, tmp_path / "page.html"
    if case == "toy_is_transformer":
        toy = measured
    elif case == "transformer_is_toy":
        transformer = sweeps[0]
    elif case == "toy_missing":
        toy = tmp_path / "nope"
    elif case == "transformer_empty":
        transformer = tmp_path / "empty"
        transformer.mkdir()
    elif case == "measures_without_excluded":
        transformer = tmp_path / "transformer"
        shutil.copytree(measured, transformer)
        target = transformer / "runs" / "task.frac_train=0.7" / "measures.jsonl"
        target.write_text(json.dumps({"step": 0, "weight_norm": 1.0}) + "\n")
    before = sorted(p.name for p in tmp_path.rglob("*"))
    code, _, err = cli(capsys, "compare", "--toy", toy, "--transformer", transformer, "--out", page, "--measure")
    assert code == 2 and err.startswith(f"grokkit: error: {arg}") and err.count("\n") == 1, err
    assert sorted(p.name for p in tmp_path.rglob("*")) == before  # nothing written, not even a temporary file


def test_the_cpu_spec_sweeps_frac_train_on_a_fourier_task():
    from grokkit.sweep.spec import load_sweep

    spec = load_sweep(TASKS / "compare_frac_cpu.toml")
    assert [r.config.task.frac_train for r in spec.runs] == [0.3, 0.4, 0.5, 0.6, 0.7]
    assert all(r.config.task.op == "add" and r.config.train.early_stop_after is None for r in spec.runs)


def test_command_module_does_not_import_torch():
    code = "import sys, grokkit.commands.compare; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_compare_of_measured_sweeps_does_not_import_transformer_lens(sweeps, measured, tmp_path):
    from test_commands_startup import heavy_imports

    page = tmp_path / "page.html"
    argv = ["compare", "--toy", str(sweeps[0]), "--transformer", str(measured), "--out", str(page)]
    assert heavy_imports(f"from grokkit.cli import main\nassert main({argv!r}) == 0") == []
    assert page.is_file()


@pytest.mark.parametrize("out", [".", "pages/", "pages/../page.html"])
def test_out_may_be_a_folder_or_an_odd_but_valid_path(sweeps, measured, tmp_path, capsys, monkeypatch, out):
    monkeypatch.chdir(tmp_path)
    code, printed, err = cli(capsys, "compare", "--toy", sweeps[0], "--transformer", measured, "--out", out)
    assert code == 0, err  # `--out .` was refused as a directory
    expected = {".": "compare.html", "pages/": "pages/compare.html", "pages/../page.html": "page.html"}[out]
    assert (tmp_path / expected).is_file()


def test_compare_refuses_a_sweep_record_naming_a_path_outside_its_runs(tmp_path, capsys):
    from grokkit.compare.collect import load_transformer

    made_run(tmp_path / "sw" / "runs")
    record = {"format": "grokkit-sweep", "version": 1, "runs": {"../../elsewhere": {}}}
    (tmp_path / "sw" / "sweep.json").write_text(json.dumps(record))
    with pytest.raises(RunError, match="not a folder name"):
        load_transformer(tmp_path / "sw")


def test_the_plots_functions_draw_the_pages_figures_from_the_sweep_folders(sweeps, measured):
    """grokkit.plots' compare, toy and sweep figures, from the folders alone (no width: they fill a cell)."""
    import grokkit
    import grokkit.plots as gp
    from grokkit.compare.collect import load_toy, load_transformer
    from grokkit.compare.page import memorised_figure, toy_counts_figure

    toy, transformer = sweeps
    assert gp.compare_toy_counts(toy).to_json() == toy_counts_figure(load_toy(toy)).to_json()
    runs = load_transformer(measured, log=lambda *_: None)
    assert gp.compare_memorised(measured).to_json() == memorised_figure(runs).to_json()
    assert len(gp.compare_transformer_loss(measured).data[1].x) == len(runs)
    for name in ("toy_test_loss", "toy_dimensionality", "toy_geometry", "toy_norms"):
        fig = getattr(gp, name)(toy)
        assert fig.data and fig.layout.width is None, name
    from grokkit.toy import load_rows

    mean_line = gp.toy_test_loss(toy).data[1]
    assert sorted(set(mean_line.x)) == sorted({r["T"] for r in load_rows(toy)})  # the sweep's T values
    with pytest.raises(grokkit.GrokkitError, match="varies 1 setting"):
        gp.phase_diagram(transformer)  # only frac_train varies
    fig = gp.phase_diagram(transformer, "final_test_acc", axes=("task.frac_train", "task.frac_train"))
    assert fig.data and fig.layout.width is None


MIXTURE = {
    "task": {"op": "mixture", "p": 7, "frac_train": 0.6, "zipf_beta": 1.0,
             "mixture": [{"op": "add"}, {"op": "sub"}, {"op": "add", "offset": 2}]},
    "model": {"d_model": 16, "n_heads": 2, "d_head": 8, "d_mlp": 16},
    "train": {"steps": 4, "lr": 1e-2, "eval_every": 2, "checkpoint_every": 2, "device": "cpu"},
    "sweep": {"grid": {"model.d_mlp": [8, 16]}},
}


def test_compare_sets_each_task_of_a_mixture_sweep_side_by_side(sweeps, tmp_path, capsys):
    """A mixture sweep: each task of each run is an entry of its own (its rows, split, group), drawn side by side."""
    from grokkit.compare.collect import load_transformer
    from grokkit.compare.page import memorised_figure
    from grokkit.run import Run

    from grokkit.sweep.driver import run_sweep
    from grokkit.sweep.spec import expand

    spec = expand({k: dict(v) for k, v in MIXTURE.items()})
    run_sweep(spec, tmp_path / "sw", report=lambda *_: None)
    entries = load_transformer(tmp_path / "sw", measure=True, log=lambda *_: None)
    assert len(entries) == 2 * 3  # every task of every run
    for r in spec.runs:
        run = Run(tmp_path / "sw" / "runs" / r.name)
        ds, measures, metrics = run.dataset, run.measures(), run.metrics()
        for k in range(3):
            (e,) = [e for e in entries if e.name == f"{r.name} task{k}"]
            n_train = len(ds.task_splits[k].train)
            assert e.n_train == n_train and e.p == 7 and e.settings["task"].startswith(f"{k} ")
            assert e.excluded_acc == [m[f"task{k}_excluded_acc"] for m in measures]
            assert e.memorised == [round(m[f"task{k}_excluded_acc"] * n_train) for m in measures]
            assert e.test_acc == [m[f"task{k}_test_acc"] for m in metrics]
            assert e.final_test_loss == metrics[-1][f"task{k}_test_loss"]
    fig = memorised_figure(entries)
    assert {t.legendgroup for t in fig.data} == {e.name for e in entries}
    page = tmp_path / "compare.html"
    code, _, err = cli(capsys, "compare", "--toy", sweeps[0], "--transformer", tmp_path / "sw", "--out", page)
    assert code == 0, err
    html = page.read_text(encoding="utf-8")
    assert "model.d_mlp=16 task2" in html and "2 add+2 p 7" in html
