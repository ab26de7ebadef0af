"""Sweeps that find the critical dataset size (grokkit.sweep.critical): the rule, the spec, the outputs."""

from __future__ import annotations

import json

import pytest

from conftest import cli, tiny_toml, write_spec
from grokkit.errors import SpecError
from grokkit.sweep.spec import expand
from grokkit.sweep.critical import KEY, find_critical

N = 1000  # rows of a made-up grid


def made(points):
    """Result rows: ``{frac: [final test acc of each seed]}``."""
    return [{KEY: f, "final_test_acc": a, "outcome": "grokked" if a >= 0.99 else "memorised"}
            for f, accs in points.items() for a in accs]


def test_the_bracket_is_where_the_mean_crosses_for_good_and_the_estimate_interpolates_in_d():
    c = find_critical(made({0.2: [0.02, 0.04], 0.3: [0.1, 0.3], 0.4: [0.8, 1.0], 0.5: [1.0, 1.0]}), 0.5, N, 100)
    assert [p.mean_test_acc for p in c.curve] == pytest.approx([0.03, 0.2, 0.9, 1.0])
    assert [p.n_train for p in c.curve] == [200, 300, 400, 500]
    assert c.bracket == (0.3, 0.4)
    assert c.estimate == pytest.approx((300 + (0.5 - 0.2) / (0.9 - 0.2) * 100) / N)
    assert c.note == ""
    assert "between 0.3 (300 pairs) and 0.4 (400 pairs)" in c.describe() and "after 100 steps" in c.describe()


def test_one_sided_and_non_monotone_curves_say_so():
    above = find_critical(made({0.2: [0.9], 0.3: [1.0]}), 0.5, N, 10)
    assert above.bracket == (None, 0.2) and above.estimate is None and "at or below" in above.describe()
    below = find_critical(made({0.2: [0.0], 0.3: [0.1]}), 0.5, N, 10)
    assert below.bracket == (0.3, None) and "above the grid's largest" in below.describe()
    wobbly = find_critical(made({0.2: [0.6], 0.3: [0.1], 0.4: [0.9]}), 0.5, N, 10)
    assert wobbly.bracket == (0.3, 0.4) and "crosses the criterion 2 times" in wobbly.note
    assert find_critical([], 0.5, N, 10).bracket == (None, None)


@pytest.mark.parametrize("sweep, match", [
    ({"grid": {"train.lr": [1e-3, 1e-2]}, "critical": {"criterion": 0.5}}, "task.frac_train"),
    ({"grid": {KEY: [0.4, 0.6]}, "critical": {"criterion": 1.5}}, "sweep.critical.criterion"),
    ({"grid": {KEY: [0.4, 0.6]}, "critical": {"criterion": 0.5, "bisect": True}}, "sweep.critical.bisect"),
    ({"grid": {KEY: [0.4, 0.6]}, "critical": 0.5}, r"\[sweep.critical\] must be a table"),
])
def test_bad_critical_specs_are_one_line(sweep, match):
    data = {"task": {"p": 7, "frac_train": 0.5}, "sweep": sweep}
    with pytest.raises(SpecError, match=match):
        expand(data)


def test_a_critical_sweep_writes_the_curve_the_bracket_and_efficiencies(tmp_path, capsys):
    text = tiny_toml(task={"p": 7}, model={"d_model": 16, "n_heads": 2, "d_head": 8, "d_mlp": 32},
                     train={"steps": 20, "lr": 1e-2, "eval_every": 10, "checkpoint_every": 20})
    text += '\n[sweep]\n[sweep.grid]\n"task.frac_train" = [0.4, 0.8]\n"model.seed" = [1, 2]\n' \
            '[sweep.critical]\ncriterion = 0.3\n'
    spec = write_spec(tmp_path, text)
    code, out, err = cli(capsys, "sweep", spec, "--out", tmp_path / "sw", "--no-progress")
    assert code == 0, err
    found = json.loads((tmp_path / "sw" / "critical.json").read_text())
    assert found["criterion"] == 0.3 and found["steps"] == 20 and found["n_rows"] == 49
    assert [p["frac_train"] for p in found["curve"]] == [0.4, 0.8]
    assert [p["n_train"] for p in found["curve"]] == [19, 39]
    assert found["describe"] in out
    rows = [json.loads(line) for line in (tmp_path / "sw" / "results.jsonl").read_text().splitlines()]
    assert all(r["outcome"] is not None and r["final_efficiency"] is not None for r in rows)
    for point in found["curve"]:  # the curve's means are the runs' final test accuracies
        accs = [r["final_test_acc"] for r in rows if r[KEY] == point["frac_train"]]
        assert point["mean_test_acc"] == pytest.approx(sum(accs) / len(accs))
    page = (tmp_path / "sw" / "report.html").read_text()
    assert "D_crit" in page and "fig-critical-0" in page and "fig-critical-1" in page
    import grokkit.plots as gp  # the page's two figures, from the folder alone

    accuracy = gp.critical_accuracy(tmp_path / "sw")
    mean = [t for t in accuracy.data if t.name == "mean"][0]
    assert list(mean.x) == [19, 39] and list(mean.y) == pytest.approx([p["mean_test_acc"] for p in found["curve"]])
    dots = [t for t in accuracy.data if t.name != "mean"]
    assert sorted(x for t in dots for x in t.x) == sorted(int(r[KEY] * 49) for r in rows)
    efficiency = gp.critical_efficiency(tmp_path / "sw")
    assert sorted(y for t in efficiency.data for y in t.y) == sorted(r["final_efficiency"] for r in rows)
