"""A sweep checks every run before any trains, never silently replaces another grid, and never deletes
or misreads a folder that is not its own (issue 12, 8)."""

from __future__ import annotations

import json

import pytest

from conftest import SMALL_SPEC, TASKS, TOY, cli, one_line_error


SWEEP = SMALL_SPEC + """
[sweep]
[sweep.grid]
"task.frac_train" = {fracs}
"""


def sweep_spec(tmp_path, fracs):
    path = tmp_path / f"sweep{len(fracs)}.toml"
    path.write_text(SWEEP.format(fracs=json.dumps(fracs)))
    return path


@pytest.mark.parametrize("extra, field", [([], "task.frac_train"),
                                          (["--set", "task.p=100003"], "run task.frac_train=0.5: task.p: 100003")])
def test_sweep_validates_every_run_before_training_any(tmp_path, capsys, extra, field):
    out = tmp_path / "sw"
    fracs = [0.5, 0.6, 0.0001] if not extra else [0.5, 0.6]
    code, _, err = cli(capsys, "sweep", sweep_spec(tmp_path, fracs), "--out", out, "--no-progress", *extra)
    assert code == 2
    one_line_error(err, field)
    assert not out.exists()


def test_a_different_grid_on_an_existing_sweep_is_refused_unless_restart(tmp_path, capsys):
    out = tmp_path / "sw"
    assert cli(capsys, "sweep", sweep_spec(tmp_path, [0.5, 0.6]), "--out", out, "--no-progress")[0] == 0
    before = {name: (out / name).read_bytes() for name in ("sweep.json", "results.csv", "report.html")}
    other = sweep_spec(tmp_path, [0.4])
    code, _, err = cli(capsys, "sweep", other, "--out", out, "--no-progress")
    assert code == 2
    one_line_error(err, "--restart", "a sweep of 2 runs")
    assert {name: (out / name).read_bytes() for name in before} == before  # nothing replaced
    code, out_text, _ = cli(capsys, "sweep", other, "--out", out, "--no-progress", "--restart")
    assert code == 0 and "--restart: removing 2 run folder(s)" in out_text
    assert sorted(p.name for p in (out / "runs").iterdir()) == ["task.frac_train=0.4"]


def test_restart_never_deletes_a_folder_that_is_not_a_sweep(tmp_path, capsys):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    code, _, err = cli(capsys, "sweep", sweep_spec(tmp_path, [0.5]), "--out", out, "--restart")
    assert code == 2
    one_line_error(err, "not an empty directory or a grokkit sweep")
    assert (out / "notes.txt").read_text() == "keep me"


@pytest.mark.parametrize("content", ['{"format": "grokkit-sweep", "version": 1, "runs": [1, 2]}', "{not json",
                                     '{"format": "grokkit-toy-sweep", "version": 1, "spec": "x"}'])
def test_a_damaged_sweep_record_is_one_line_and_left_alone(tmp_path, capsys, content):
    out = tmp_path / "sw"
    out.mkdir()
    (out / "sweep.json").write_text(content)
    for argv in (["sweep", sweep_spec(tmp_path, [0.5]), "--out", out, "--restart"],
                 ["toy", TASKS / "toy_cpu.toml", "--out", out, *[a for item in TOY for a in ("--set", item)]],
                 ["compare", "--toy", out, "--transformer", out, "--out", tmp_path / "page.html"]):
        code, _, err = cli(capsys, *argv)
        assert code == 2
        one_line_error(err, str(out))
    assert (out / "sweep.json").read_text() == content
