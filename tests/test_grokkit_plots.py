"""``grokkit.plots``: every figure is a function returning a plotly Figure with data, and the reports are
built from those same functions (the page's figure JSON is the function's)."""

from __future__ import annotations

import json
import re

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
import pytest

from conftest import tiny_run

# report section id → the grokkit.plots function that draws it
SECTION_OF = {"loss": "losses", "accuracy": "accuracies", "excluded_restricted": "excluded_restricted",
              "excluded_restricted_acc": "excluded_restricted_accuracy", "ratio": "restricted_ratio", "gini": "gini",
              "weight_norm": "weight_norm", "neurons_explained": "neurons_explained",
              "excluded_per_freq": "excluded_per_frequency", "cos_cube": "cos_cube", "lookup": "lookup",
              "clock_pizza": "clock_pizza", "attn_training": "attention_over_training", "embed": "embedding",
              "neurons": "neuron_clusters", "attention": "attention", "logit_fourier": "logit_map",
              "key_components": "key_components", "llc": "llc", "efficiency": "efficiency"}
MLP_ONLY = {"gromov_form", "gromov_phase"}  # figures of the MLP model kind (model.kind = mlp)


@pytest.fixture(scope="module")
def data():
    """The tiny run's report data, with an llc column added to its measures (the llc measure is opt-in)."""
    import grokkit.plots as gp

    data = gp.report_data(tiny_run())
    data.measures = [{**row, "llc": 1.0 + i} for i, row in enumerate(data.measures)]
    return data


def page_figures(page: str) -> dict[str, dict]:
    """The figures the page draws: element id → plotly JSON."""
    text = re.search(r"const FIGURES = (\{.*?\});\nconst CONFIG", page, flags=re.S).group(1)
    return json.loads(text)  # script_json's \u escapes are JSON escapes


def has_points(trace) -> bool:
    """A trace with at least one finite number to draw."""
    values = trace.z if getattr(trace, "z", None) is not None else trace.y
    return values is not None and any(v is not None and v == v for v in np.asarray(values, dtype=object).ravel())


def test_every_run_figure_returns_a_figure_with_data_that_sizes_to_its_cell(data):
    import grokkit
    import grokkit.plots as gp

    assert set(gp.RUN_FIGURES) == set(SECTION_OF.values()) | MLP_ONLY
    for name, function in gp.RUN_FIGURES.items():
        if name in MLP_ONLY:
            with pytest.raises(grokkit.GrokkitError, match="only for model.kind mlp"):
                function(data)
            continue
        fig = function(data)
        assert isinstance(fig, go.Figure), name
        assert any(has_points(trace) for trace in fig.data), name
        assert fig.layout.width is None and fig.layout.autosize is not False, name  # no fixed width
        assert fig.layout.height, name


def test_the_report_page_is_assembled_from_the_plots_functions(data):
    import grokkit.plots as gp
    from grokkit.report.html import render_page

    from grokkit.report.run_figures import CURVES

    drawn = page_figures(render_page(data))
    others = {fid for fid in drawn if fid.startswith("fig-other-")}  # measures without a figure of their own
    assert "fig-other-2d-keys_explained" in others
    assert {f"fig-{sid}" for sid in SECTION_OF} <= set(drawn)  # every named function's figure is on the page
    calls = {f"fig-{spec.id}": lambda sid=spec.id: gp.section(data, sid) for spec in CURVES}  # curves added later
    calls.update({f"fig-{sid}": lambda name=name: getattr(gp, name)(data) for sid, name in SECTION_OF.items()})
    calls.update({fid: lambda key=fid.removeprefix("fig-other-2d-"): gp.curve(data, key) for fid in others
                  if fid.startswith("fig-other-2d-")})
    assert set(drawn) <= set(calls), set(drawn) - set(calls)  # and every figure of the page comes from one
    for fid in drawn:
        assert drawn[fid]["data"] == json.loads(pio.to_json(calls[fid](), validate=False))["data"], fid


def test_figures_take_a_run_or_its_folder_and_say_why_when_there_is_nothing_to_draw(tmp_path):
    import grokkit
    import grokkit.plots as gp
    from conftest import made_run

    run = tiny_run()
    assert gp.losses(run).to_json() == gp.losses(str(run.path)).to_json()
    assert [t.name for t in gp.curve(run, "weight_norm").data][0] == "total"
    with pytest.raises(grokkit.GrokkitError, match="llc measure is off by default"):
        gp.llc(run)
    empty = made_run(tmp_path)  # created, never trained
    with pytest.raises(grokkit.GrokkitError, match="no checkpoint"):
        gp.embedding(empty)
    assert grokkit.plots is gp and "plots" in grokkit.__all__


def test_phase_diagram_from_rows_sizes_to_its_cell_and_the_sweep_report_fixes_its_width(tmp_path):
    import grokkit
    import grokkit.plots as gp
    from grokkit.sweep.report import FIGURE_WIDTH, write_sweep_report

    rows = [{"name": f"{wd},{frac}", "task.frac_train": frac, "train.weight_decay": wd, "model.seed": 1,
             "grok_step": None if frac == 0.3 else 100 * wd, "memorise_step": 50, "final_test_acc": 0.9}
            for wd in (1, 2) for frac in (0.3, 0.5, 0.7)]
    fig = gp.phase_diagram(rows, "grok_step")
    assert fig.layout.width is None and fig.layout.xaxis.title.text == "task.frac_train"
    assert [list(r) for r in fig.data[0].z][0][1:] == [100, 100]  # wd 1: frac 0.5 and 0.7 grokked at 100
    with pytest.raises(grokkit.GrokkitError, match="allowed: grok_step"):
        gp.phase_diagram(rows, "nope")
    page = write_sweep_report(tmp_path, rows, ("task.frac_train", "train.weight_decay"), "sweep").read_text()
    assert page.count(f'"width":{FIGURE_WIDTH}') == 3
