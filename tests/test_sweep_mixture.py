"""A width sweep of a task mixture: trained in one process, measured, and its width report written."""

from __future__ import annotations

import re

from grokkit.sweep.driver import run_sweep
from grokkit.sweep.mixture import task_labels, allocation_figure, grok_step_figure, interference_figure, width_rows
from grokkit.sweep.spec import expand

BASE = {
    "task": {"op": "mixture", "p": 7, "frac_train": 0.6, "zipf_beta": 1.0,
             "mixture": [{"op": "add"}, {"op": "sub"}, {"op": "add", "offset": 2}]},
    "model": {"d_model": 16, "n_heads": 2, "d_head": 8, "d_mlp": 16},
    "train": {"steps": 30, "lr": 1e-2, "eval_every": 10, "checkpoint_every": 15, "device": "cpu"},
}


def test_a_width_sweep_of_a_mixture_writes_its_width_report(tmp_path):
    data = {k: dict(v) for k, v in BASE.items()}
    data["sweep"] = {"grid": {"model.d_mlp": [8, 16], "model.d_model": [8, 16]}}
    spec = expand(data)
    lines = []
    outcome = run_sweep(spec, tmp_path / "sw", report=lines.append)
    assert len(outcome.rows) == 4 and all("task2_grok_step" in row and row["key_freqs"] is None
                                          for row in outcome.rows)
    page = (tmp_path / "sw" / "mixture.html").read_text()
    for title in ("Grok step per task", "Neurons per task", "Gradient interference"):
        assert title in page
    assert any(line.startswith("mixture: ") for line in lines)
    from grokkit.run import Run

    runs = {r.name: Run(tmp_path / "sw" / "runs" / r.name) for r in spec.runs}
    rows = width_rows(runs, {r.name: r.settings for r in spec.runs})
    for row, run in zip(rows, runs.values()):
        last = run.measures()[-1]
        assert row["task1_neurons"] == last["task1_neurons"] and row["d_mlp"] == run.config.model.d_mlp
        assert sum(row[f"task{k}_neurons"] for k in range(3)) + row["neurons_shared"] <= row["d_mlp"]
        assert -1 <= row["cos_mean"] <= 1
    labels = ["a", "b", "c"]
    for fig in (grok_step_figure(rows, labels), allocation_figure(rows, labels), interference_figure(rows)):
        assert fig.data and all(list(trace.x) == [8, 16] for trace in fig.data if trace.x is not None)
    import grokkit.plots as gp  # the width report's figures, from the sweep folder alone

    for ours, exported in ((grok_step_figure(rows, task_labels(spec.runs[0].config)), gp.mixture_grok_steps),
                           (interference_figure(rows), gp.mixture_interference)):
        assert exported(tmp_path / "sw").to_json() == ours.to_json()
    assert len(gp.mixture_allocation(tmp_path / "sw").data) == len(allocation_figure(rows, labels).data)
    # a second call finds every run finished and measured: it trains and measures nothing
    lines.clear()
    again = run_sweep(spec, tmp_path / "sw", report=lines.append)
    assert again.trained == [] and not any(re.match("measured", line) for line in lines)


def test_pad_widths_trains_every_width_in_one_stack_with_each_run_as_alone(tmp_path):
    """sweep.pad_widths: one batch of every width (padded, masked), each run's rows as the unpadded sweep's."""
    import pytest

    from grokkit.sweep.batches import plan_batches

    data = {k: dict(v) for k, v in BASE.items()}
    data["train"] = {**data["train"], "lr": 3e-3}
    data["sweep"] = {"grid": {"model.d_mlp": [8, 16], "model.d_model": [8, 16]}}
    separate = expand(data)
    padded = expand({**data, "sweep": {**data["sweep"], "pad_widths": True}})
    assert padded.pad_widths and not separate.pad_widths
    pairs = [(r.name, r.config) for r in padded.runs]
    assert len(plan_batches(pairs, 8)) == 4 and len(plan_batches(pairs, 8, pad_widths=True)) == 1
    lines = []
    run_sweep(padded, tmp_path / "padded", report=lines.append)
    assert sum(line.startswith("batch ") for line in lines) == 1  # one stack of 4 widths
    run_sweep(separate, tmp_path / "separate", report=lambda *_: None)
    from grokkit.run import Run

    for r in separate.runs:
        a, b = (Run(tmp_path / side / "runs" / r.name).metrics() for side in ("padded", "separate"))
        assert [x["step"] for x in a] == [x["step"] for x in b]
        for x, y in zip(a, b):
            for key in x:
                if key != "wall_s":
                    assert x[key] == pytest.approx(y[key], rel=1e-4, abs=1e-6), (r.name, x["step"], key)


def test_a_bad_pad_widths_is_one_line():
    import pytest

    from grokkit.errors import SpecError

    data = {k: dict(v) for k, v in BASE.items()}
    data["sweep"] = {"grid": {"model.d_mlp": [8, 16]}, "pad_widths": "yes"}
    with pytest.raises(SpecError, match="sweep.pad_widths must be true or false") as info:
        expand(data)
    assert "\n" not in str(info.value)
