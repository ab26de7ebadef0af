"""Specs, the resumable sweep, the report and the CLI."""

import json
import math
import subprocess
import sys

import pytest

from conftest import TASKS
from grokkit.cli import main
from grokkit.errors import ConfigError, RunError, SpecError
from grokkit.toy import ToyConfig, load_rows, load_toy_spec, run_sweep, spec_from_dict, write_report

TINY = [
    "toy.n=30", "toy.S=0.8", "toy.test_points=50", "train.steps=40", "train.warmup_steps=4",
    "sweep.T=[3,20]", "sweep.seeds=2", "sweep.chunk_instances=2", "report.hidden_T=[3,20]",
]


def tiny_spec(*extra):
    return load_toy_spec(TASKS / "toy_cpu.toml", TINY + list(extra))


def test_config_errors_name_the_field():
    with pytest.raises(ConfigError, match=r"toy.S: must be in \[0, 1\), got 1.5"):
        ToyConfig(S=1.5)
    with pytest.raises(SpecError, match="unknown key toy.sparsity"):
        spec_from_dict({"toy": {"sparsity": 0.9}})
    with pytest.raises(SpecError, match=r"unknown section \[model\]"):
        spec_from_dict({"model": {}})
    with pytest.raises(ConfigError, match="sweep.R"):
        tiny_spec("sweep.R=[1,5]")  # R = 5 > T = 3
    with pytest.raises(ConfigError, match="train.cosine"):
        tiny_spec("train.cosine='linear'")


@pytest.mark.parametrize("path", sorted(TASKS.glob("*.toml")))
def test_task_specs_load(path):
    if path.name.startswith(("toy", "henighan")):
        load_toy_spec(path)


def test_sweep_resumes_and_reports(tmp_path):
    spec = tiny_spec("train.best_of=2")
    first = run_sweep(spec, tmp_path / "s", log=lambda *_: None)
    assert first.trained_chunks == 4  # 2 T × 2 seeds, best_of inits kept together: one model per chunk
    rows = load_rows(tmp_path / "s")
    assert len(rows) == 8 and sum(r["kept"] for r in rows) == 4
    chunk = tmp_path / "s" / "chunks" / "chunk_0002.json"
    chunk.unlink()
    again = run_sweep(spec, tmp_path / "s", log=lambda *_: None)
    assert again.trained_chunks == 1
    assert [r["test_loss"] for r in load_rows(tmp_path / "s")] == [r["test_loss"] for r in rows]
    with pytest.raises(RunError, match="different spec"):
        run_sweep(tiny_spec("train.steps=41"), tmp_path / "s")
    # report and speed settings may change between runs of one sweep; the new ones are kept
    later = tiny_spec("train.best_of=2", "train.block_elements=4096", "report.title='later'")
    assert run_sweep(later, tmp_path / "s", log=lambda *_: None).trained_chunks == 0
    assert json.loads((tmp_path / "s" / "sweep.json").read_text())["spec"]["report"]["title"] == "later"
    html = write_report(tmp_path / "s").read_text(encoding="utf-8")
    assert html.count("plotly.js v") == 1  # the library embedded once
    assert "Test loss (double descent)" in html and "Geometry of m = 2 models" in html
    # the run report's shell: its header and style, and every figure drawn into its own element
    assert "<header><h1>later</h1>" in html and "data-figures-expected=" in html and ".card.wide" in html


def test_cli_runs_and_rejects_bad_input_without_writing(tmp_path, capsys):
    out = tmp_path / "bad"
    assert main(["toy", str(TASKS / "toy_cpu.toml"), "--out", str(out), "--set", "toy.S=1.5"]) == 2
    assert "toy.S: must be in [0, 1)" in capsys.readouterr().err
    assert not out.exists()
    good = tmp_path / "good"
    args = ["toy", str(TASKS / "toy_cpu.toml"), "--out", str(good), "--no-progress", "--set", "sweep.R=[1,2]"]
    for item in TINY:
        args += ["--set", item]
    assert main(args) == 0
    assert (good / "report.html").is_file() and (good / "results.jsonl").is_file()
    rows = [json.loads(line) for line in (good / "results.jsonl").read_text().splitlines()]
    assert {r["R"] for r in rows} == {1, 2}
    assert "Repeated data" in (good / "report.html").read_text(encoding="utf-8")


def test_command_module_does_not_import_torch():
    code = "import sys, grokkit.commands.toy; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_toy_configs_refuse_non_finite_numbers():
    from grokkit.toy import spec_from_dict

    for section, key, value in [("train", "lr", math.inf), ("train", "weight_decay", math.inf),
                                ("train", "eps", math.inf), ("train", "lr", math.nan), ("toy", "S", math.nan),
                                ("sweep", "weight_decay", [math.inf])]:
        with pytest.raises(ConfigError, match=f"{section}.{key}"):
            spec_from_dict({section: {key: value}})
