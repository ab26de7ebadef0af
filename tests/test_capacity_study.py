"""`grokkit capacity`: the study end to end (files, summary, report), bad settings refused before anything is written."""

from __future__ import annotations

import json

import pytest

from conftest import cli, one_line_error, write_spec

SPEC = """
[capacity]
K = 4
d_T = 3
[train]
steps = 30
batch_size = 64
lr = 2e-2
warmup_steps = 5
[stack]
widths = [1, 2, 6]
seeds = 2
[injection]
gaps = []
[measures]
eval_every = 10
interference_batch = 32
"""


def test_the_command_writes_the_study_and_its_report(tmp_path, capsys):
    spec = write_spec(tmp_path, SPEC)
    result = cli(capsys, "capacity", spec, "--out", tmp_path / "out", "--no-progress")
    assert result.code == 0, result.err
    assert "learned pattern matches the predicted staircase" in result.out
    out = tmp_path / "out"
    for name in ("capacity.json", "theory.json", "curves.jsonl", "results.jsonl", "results.csv", "summary.json",
                 "weights.safetensors", "report.html"):
        assert (out / name).is_file(), name
    from grokkit.capacity import CapacityFolder

    folder = CapacityFolder.open(out)
    results = folder.results()
    assert len(results) == 6 * 4  # members × tasks
    curves = folder.curves()
    assert sorted({r["step"] for r in curves}) == [0, 10, 20, 30]
    assert all(len(r["s"]) == 4 and -1 <= r["interference"] <= 1 for r in curves)
    theory = folder.theory()[0]
    assert theory["F"] == [1, 2, 3] and theory["first_width"][0] == 1
    summary = folder.summary()
    assert summary["agreement"]["1.0"]["cells"] == 24
    page = (out / "report.html").read_text()
    assert "Learned subspace signal s_k over task × width" in page and "learned == predicted" in page


def test_figures_are_available_from_python(tmp_path):
    from grokkit.capacity import figures, load_capacity_spec, run_study

    spec = load_capacity_spec(write_spec(tmp_path, SPEC), ["injection.gaps=[4, 8]", "stack.widths=[2, 6]",
                                                            "stack.seeds=1", "capacity.K=8", "train.batch_size=128"])
    result = run_study(spec, tmp_path / "inj", log=lambda *_: None)
    figs = figures(result.path)
    assert set(figs) == {"retention", "interference"}  # every member is injected: no plain phase diagram
    retention = result.summary["injection"]
    assert {(r["N"], r["gap"]) for r in retention} == {(2, 4), (6, 4), (2, 8), (6, 8)}
    assert all(r["injections"] == 30 // r["gap"] for r in retention)
    injections = [json.loads(line) for line in (result.path / "injections.jsonl").read_text().splitlines()]
    assert len(injections) == sum(r["injections"] for r in retention)


@pytest.mark.parametrize("override, needles", [
    ("capacity.beta=0", ["capacity.beta", "> 0"]),
    ("capacity.beta=-1", ["capacity.beta", "> 0"]),
    ("stack.widths=[2, 13]", ["stack.widths", "D = 12"]),
    ("train.batch_size=4", ["train.batch_size", "task 4", "rounds to 0", "sampled"]),
    ("capacity.rare_task=1", ["capacity.rare_task", "frequent set"]),
    ("injection.gaps=[1, 2]\ntrain.batch_size=4", ["injection.gaps", "G = 1", "rounds to 0"]),
    ("capacity.alphas=[1, 2]", ["capacity.alphas", "K = 4"]),
    ("train.objectve=1", ["unknown key train.objectve"]),
])
def test_bad_settings_are_one_line_errors_before_anything_is_written(tmp_path, capsys, override, needles):
    spec = write_spec(tmp_path, SPEC)
    sets = [item for text in override.splitlines() for item in ("--set", text)]
    result = cli(capsys, "capacity", spec, "--out", tmp_path / "out", *sets)
    assert result.code == 2
    one_line_error(result.err, *needles)
    assert not (tmp_path / "out").exists()


def test_an_existing_study_folder_is_refused(tmp_path, capsys):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "x").write_text("mine")
    result = cli(capsys, "capacity", write_spec(tmp_path, SPEC), "--out", tmp_path / "out")
    assert result.code == 2
    one_line_error(result.err, "not an empty directory")


def test_every_figure_of_the_capacity_report_draws_in_headless_chromium(tmp_path):
    from test_report_browser import CHROMIUM, FigureDivs, render
    from pathlib import Path

    if not Path(CHROMIUM).exists():
        pytest.skip("needs headless Chromium: apt-get install -y chromium (.ci/run does this)")
    from grokkit.capacity import load_capacity_spec, run_study

    spec = load_capacity_spec(write_spec(tmp_path, SPEC), ["injection.gaps=[4, 8]", "capacity.K=8",
                                                            "train.batch_size=128"])
    spec_plain = load_capacity_spec(write_spec(tmp_path, SPEC))
    for name, s in (("plain", spec_plain), ("inj", spec)):
        result = run_study(s, tmp_path / name, log=lambda *_: None)
        parsed = FigureDivs()
        parsed.feed(render(result.path / "report.html", tmp_path / f"{name}.png", tmp_path / f"profile-{name}"))
        expected = int(parsed.body["data-figures-expected"])
        assert "data-figures-failed" not in parsed.body, parsed.body["data-figures-failed"]
        assert parsed.body.get("data-figures-drawn") == str(expected) and len(parsed.drawn) == expected >= 2
        assert all(parsed.drawn.values()), [fig for fig, ok in parsed.drawn.items() if not ok]


def test_a_stack_too_big_for_the_host_is_refused(tmp_path):
    from grokkit.capacity.spec import check_memory, least_bytes, load_capacity_spec
    from grokkit.errors import ConfigError

    spec = load_capacity_spec(write_spec(tmp_path, SPEC))
    need = least_bytes(spec)
    assert need >= 4 * 6 * 64 * 12  # six models, each at least its batch of 64 inputs of D = 12
    check_memory(spec, host=need)
    with pytest.raises(ConfigError, match="stack.widths: 6 models up to width 6 need at least"):
        check_memory(spec, host=need - 1)


def test_the_paper_scale_spec_needs_a_gpu_and_says_so_before_writing(tmp_path):
    import torch

    from conftest import TASKS
    from grokkit.capacity import load_capacity_spec, run_study
    from grokkit.errors import ConfigError

    spec = load_capacity_spec(TASKS / "huang2026.toml")
    assert spec.train.device == "cuda" and spec.capacity.dim == 1024 and max(spec.stack.widths) == 256
    if torch.cuda.is_available():
        pytest.skip("a CUDA device is present: the paper-scale spec would run")
    with pytest.raises(ConfigError, match="train.device"):
        run_study(spec, tmp_path / "out")
    assert not (tmp_path / "out").exists()
