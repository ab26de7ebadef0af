"""A run's outcome (grokkit.measures.outcome) is read from its metrics rows as the module documents."""

from __future__ import annotations

import json

import pytest

from conftest import cli
from grokkit.measures.milestones import GROKKED_ACC
from grokkit.measures.outcome import LOST_BELOW, OUTCOMES, SEMI_BOUNDS, SETTLED_SPREAD, classify


def rows(train, test, every=100):
    """Metrics rows at steps 0, every, 2·every, … with these accuracies."""
    return [{"step": i * every, "train_acc": a, "test_acc": b} for i, (a, b) in enumerate(zip(train, test))]


FIT = [1.0] * 20


@pytest.mark.parametrize("train,test,expected", [
    ([0.5] * 20, [0.01] * 20, "not fitted"),
    (FIT[:19] + [0.98], [1.0] * 20, "not fitted"),  # fitted is read at the end
    (FIT, [0.02] * 19 + [1.0], "grokked"),  # grokked at the very end
    (FIT, [0.02] * 10 + [1.0] * 10, "grokked"),
    (FIT, [0.02] * 5 + [1.0] * 5 + [0.3] * 10, "ungrokked"),
    (FIT, [0.02] * 5 + [1.0] * 14 + [LOST_BELOW - 0.01], "ungrokked"),
    (FIT, [0.02] * 5 + [1.0] * 14 + [0.95], "grokked"),  # a dip, not a loss
    (FIT, [0.05] * 20, "memorised"),
    (FIT, [0.05] * 10 + [0.7] * 10, "semi-grokked"),  # rose part way and stayed
    (FIT, [0.05] * 15 + [0.7, 0.72, 0.74, 0.73, 0.71], "semi-grokked"),
    (FIT, [0.05] * 15 + [0.3, 0.4, 0.5, 0.6, 0.7], "unsettled"),  # still rising
    (FIT, [0.05] * 15 + [0.1, 0.15, 0.1, 0.12, SEMI_BOUNDS[0] - 0.01], "memorised"),
])
def test_outcome_classes_follow_the_documented_rules(train, test, expected):
    found = classify(rows(train, test))
    assert found.outcome == expected and found.outcome in OUTCOMES
    assert found.describe().startswith(expected + ": ")


def test_a_dip_after_grokking_says_so():
    found = classify(rows(FIT, [0.02] * 5 + [1.0] * 14 + [0.95]))
    assert found.outcome == "grokked" and "a dip, not lost" in found.describe() and "95.0%" in found.describe()


def test_the_settled_window_is_the_last_quarter_of_the_steps():
    found = classify(rows(FIT, [0.05] * 15 + [0.6] * 5))  # steps 0 … 1900: the window starts at 1425
    assert found.window == (1500, 1900) and found.settled_test_acc == pytest.approx(0.6)
    assert found.settled_spread == 0
    wobbly = classify(rows(FIT, [0.05] * 15 + [0.5, 0.5 + SETTLED_SPREAD + 0.01, 0.5, 0.5, 0.5]))
    assert wobbly.outcome == "unsettled"
    assert classify(rows(FIT, [0.05] * 15 + [0.5, 0.5 + SETTLED_SPREAD, 0.5, 0.5, 0.5])).outcome == "semi-grokked"


def test_no_rows_no_outcome_and_null_accuracies_are_skipped():
    assert classify([]) is None
    assert classify([{"step": 0, "train_acc": None, "test_acc": None}]) is None
    found = classify([{"step": 0, "train_acc": 1.0, "test_acc": GROKKED_ACC},
                      {"step": 10, "train_acc": None, "test_acc": None}])
    assert found.outcome == "grokked"


def test_info_sweep_results_and_report_show_the_same_outcome(tmp_path, capsys):
    from grokkit.run import Run
    from grokkit.sweep.results import result_row
    from conftest import SMALL_MODEL, tiny_toml

    spec = tmp_path / "spec.toml"
    spec.write_text(tiny_toml(task={"p": 7, "frac_train": 0.6}, model=SMALL_MODEL,
                              train={"lr": 0.01, "steps": 30, "eval_every": 10, "checkpoint_every": 30}))
    assert cli(capsys, "train", spec, "--out", tmp_path / "run", "--no-progress").code == 0
    run = Run(tmp_path / "run")
    expected = classify(run.metrics())
    out = cli(capsys, "info", tmp_path / "run").out
    assert f"outcome  {expected.describe()}" in out
    shown = json.loads(cli(capsys, "info", tmp_path / "run", "--json").out)["outcome"]
    assert shown["outcome"] == expected.outcome
    assert result_row("run", {}, run)["outcome"] == expected.outcome
    assert cli(capsys, "report", tmp_path / "run").code == 0
    assert expected.outcome in (tmp_path / "run" / "report.html").read_text()
