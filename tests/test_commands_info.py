"""`grokkit info`'s readable header, and the resume command Ctrl-C prints."""

from __future__ import annotations

import json

from grokkit.cli import main
from conftest import SMALL_MODEL, tiny_toml

SPEC = tiny_toml(task={"p": 7, "frac_train": 0.3}, model=SMALL_MODEL,
                 train={"steps": 20, "eval_every": 10, "checkpoint_every": 10, "early_stop_after": 50})


def _train(tmp_path, capsys, *extra):
    spec = tmp_path / "spec.toml"
    spec.write_text(SPEC)
    code = main(["train", str(spec), "--out", str(tmp_path / "run"), "--no-progress", *extra])
    assert code == 0, capsys.readouterr().err
    capsys.readouterr()
    return spec, tmp_path / "run"


def test_info_opens_with_a_short_header_and_keeps_the_full_config_behind_a_flag(tmp_path, capsys):
    _, run_dir = _train(tmp_path, capsys)
    assert main(["info", str(run_dir)]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert [line.split()[0] for line in lines[:6]] == ["run", "task", "model", "optim", "steps", "status"]
    assert "add, p = 7, frac_train = 0.3" in lines[1]
    assert "1 layer, d_model 16, 2 heads × 8, d_mlp 32" in lines[2]
    assert lines[3].startswith("optim    adamw lr 0.001, weight decay 1, betas (0.9, 0.98)")
    assert "20, stopping 50 after test acc ≥ 0.99" in lines[4]
    assert "finished: step 20 of 20, 3 checkpoints" in lines[5]
    assert max(len(line.replace(str(run_dir), "RUN")) for line in lines) < 120  # no 1 100-character line
    assert main(["info", str(run_dir), "--config"]) == 0
    out = capsys.readouterr().out
    full = json.loads(out[out.index("config   ") + len("config   "):])
    assert full == json.loads((run_dir / "config.json").read_text())["config"]


def test_ctrl_c_prints_the_resume_command_with_the_run_path(tmp_path, capsys, monkeypatch):
    import grokkit.pipeline

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(grokkit.pipeline, "train_run", interrupted)  # what train and run call
    spec = tmp_path / "spec.toml"
    spec.write_text(SPEC)
    out = tmp_path / "my runs" / "quick"
    assert main(["train", str(spec), "--out", str(out), "--no-progress"]) == 130
    err = capsys.readouterr().err
    assert err.strip() == f"grokkit: interrupted; continue with `grokkit resume '{out}'`"
    argv = ["run", str(spec), "--out", str(out), "--no-progress", "--set", "train.lr=0.001"]
    assert main(argv) == 130
    err = capsys.readouterr().err
    assert f"`grokkit run {spec} --out '{out}' --no-progress --set train.lr=0.001` (it resumes)" in err
    assert f"`grokkit resume '{out}'`" in err
