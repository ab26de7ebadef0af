"""The HTML report: figure builders, page assembly, and the report/run commands on a tiny run."""

from __future__ import annotations

import contextlib
import io
import re

import numpy as np
import pytest
from plotly.offline import get_plotlyjs

from grokkit.analysis.fourier import fourier_basis
from grokkit.report import figures
from grokkit.report.collect import FinalArrays, PhaseBand, ReportData
from grokkit.report.html import render_page
from grokkit.report.run_figures import series_for

from conftest import TINY_SPEC

CONFIG = {
    "task": {"op": "add", "p": 7, "frac_train": 0.5},
    "model": {"d_model": 8, "n_heads": 2, "d_head": 4, "d_mlp": 6, "act_fn": "relu"},
    "train": {"optimizer": "adamw", "lr": 1e-3, "weight_decay": 1.0, "steps": 20},
}
METRICS = [{"step": s, "train_loss": 2.0 / (s + 1), "test_loss": 2.0, "train_acc": 0.5, "test_acc": 0.1}
           for s in range(0, 21, 5)]


def fake_data(measures=(), final=None, missing=None) -> ReportData:
    return ReportData("/runs/fake", CONFIG, METRICS, list(measures), None,
                      phases=[PhaseBand("memorisation", 0, 10)], phase_rule="made up", final=final,
                      missing=missing or {})


def figure_ids(page: str) -> list[str]:
    return re.findall(r"<div class='plotly-graph-div' id='(fig-[^']+)'>", page)


def test_plotly_js_is_embedded_exactly_once_and_nothing_is_fetched():
    page = render_page(fake_data())
    assert page.count("* plotly.js v") == 1
    assert len(re.findall(r"<script>", page)) == 2  # the library, then the figures
    ours = page.replace(get_plotlyjs(), "")
    assert not re.search(r"""(src|href|url)\s*[=(]\s*["']?(https?:)?//""", ours)  # no CDN, no web fonts


def test_a_run_without_measures_gets_its_curves_and_says_why_the_rest_is_missing():
    page = render_page(fake_data(missing={"measures": "this run has no measures.jsonl: compute it"}))
    assert figure_ids(page) == ["fig-loss", "fig-accuracy"]
    assert "Not shown: this run has no measures.jsonl" in page
    assert page.count("Not shown:") == 2  # one note for all measures, one for the missing final checkpoint…
    assert "data-figures-expected=\"2\"" in page


def test_every_section_draws_when_its_keys_are_present():
    p, d_mlp = 7, 6
    basis = fourier_basis(p)
    measures = [{"step": s, "excluded_loss": 1.0, "restricted_loss": 0.5, "gini_W_E": 0.2, "gini_W_L": 0.3,
                 "weight_norm": 10.0, "weight_norm_per_param": {"W_E": 1.0}, "frac_neurons_explained": 0.1,
                 "cos_cube_alpha": {"2": 0.4}, "excluded_loss_per_freq": {"2": 1.5},
                 "attn_eq_to_a": [0.3, 0.4], "attn_eq_to_b": [0.3, 0.2], "key_freqs": [2]} for s in (0, 10, 20)]
    final = FinalArrays(
        step=20, basis_names=basis.names, embed_norms=np.arange(p, dtype=float),
        neuron_freq=np.array([1, 2, 2, 3, 2, 1]), neuron_frac=np.linspace(0.2, 0.95, d_mlp),
        neuron_explained=np.array([False, False, False, False, True, True]),
        attn_eq=np.full((2, 2, p, p), 0.5), attn_b_values=list(range(p)),
        logit_fourier=np.eye(p), key_freqs=[2], key_freqs_source="final",
        component_names=["k=1", "k=2", "k=3"], component_shares=np.array([0.05, 0.9, 0.02]),
    )
    page = render_page(fake_data(measures, final))
    ids = figure_ids(page)
    for name in ("loss", "accuracy", "excluded_restricted", "ratio", "gini", "weight_norm", "neurons_explained",
                 "excluded_per_freq", "cos_cube", "attn_training", "embed", "logit_fourier", "neurons",
                 "attention", "key_components"):
        assert f"fig-{name}" in ids
    assert len(ids) == len(set(ids))
    assert "Not shown" not in page.split("Final checkpoint")[1]
    key_table = page.split("<h2>Key frequencies</h2>")[1]
    assert "<td>2</td>" in key_table and "<td>1</td>" in key_table  # k = 2 owns one explained neuron


def test_series_expand_per_frequency_and_per_head():
    rows = [{"step": 0, "excluded_loss_per_freq": {"14": 1.0, "3": 2.0}, "attn_eq_to_a": [0.1, 0.2]},
            {"step": 5, "excluded_loss_per_freq": {"14": 1.5, "3": 2.5}, "attn_eq_to_a": [0.3, 0.4]}]
    per_freq = series_for("excluded_loss_per_freq", [], rows)
    assert [s.name for s in per_freq] == ["without k = 3", "without k = 14"]  # numeric order
    assert list(per_freq[1].y) == [1.0, 1.5]
    heads = series_for("attn_eq_to_a", [], rows)
    assert [list(s.y) for s in heads] == [[0.1, 0.3], [0.2, 0.4]]


def test_embedding_bars_pair_cos_and_sin_of_each_frequency_even_for_nyquist():
    basis = fourier_basis(8)  # even p: the last row is cos 4 with no sine partner
    norms = np.arange(8, dtype=float)
    fig = figures.embedding_norm_figure(basis.names, norms)
    cos, sin = fig.data
    assert list(cos.x) == [0, 1, 2, 3, 4]
    assert list(cos.y) == [norms[basis.row(n)] for n in ("const", "cos 1", "cos 2", "cos 3", "cos 4")]
    assert list(sin.y) == [0.0] + [norms[basis.row(f"sin {k}")] for k in (1, 2, 3)] + [0.0]


def test_log_loss_axis_leaves_a_gap_at_zero_instead_of_breaking():
    fig = figures.line_figure("t", [figures.Series("loss", [0, 1, 2], [1.0, 0.0, 0.5])], "loss", log_y=True)
    assert np.isnan(fig.data[0].y[1]) and fig.layout.yaxis.type == "log"


@pytest.fixture(scope="module")
def measured_run(tmp_path_factory):
    """A tiny run made by `grokkit run`, and what the command printed."""
    from grokkit.cli import main

    root = tmp_path_factory.mktemp("report")
    spec = root / "tiny.toml"
    spec.write_text(TINY_SPEC)
    out, printed = root / "run", io.StringIO()
    with contextlib.redirect_stdout(printed):
        assert main(["run", str(spec), "--out", str(out), "--no-progress"]) == 0
    return spec, out, printed.getvalue()


def test_run_command_trains_measures_and_reports(measured_run):
    from grokkit.measures.offline import read_measures
    from grokkit.run import Run

    _, out, printed = measured_run
    lines = printed.strip().splitlines()
    assert lines[-2] == f"report: {out / 'report.html'}"
    assert lines[-1].startswith("time     train ") and "| measures " in lines[-1] and "| total " in lines[-1]
    assert [row["step"] for row in read_measures(out)] == Run(out).checkpoint_steps()
    page = (out / "report.html").read_text()
    for name in ("loss", "excluded_restricted", "gini", "embed", "neurons", "attention", "logit_fourier"):
        assert f"id='fig-{name}'" in page


def test_report_command_writes_where_asked_and_run_reuses_complete_measures(measured_run, tmp_path, capsys):
    from grokkit.cli import main

    spec, out, _ = measured_run
    assert main(["report", str(out), "--out", str(tmp_path / "elsewhere.html")]) == 0
    assert capsys.readouterr().out.strip() == f"report: {tmp_path / 'elsewhere.html'}"
    assert (tmp_path / "elsewhere.html").stat().st_size > 1_000_000  # plotly.js is inside
    before = (out / "measures.jsonl").stat().st_mtime_ns
    assert main(["run", str(spec), "--out", str(out), "--no-progress"]) == 0
    assert "already covers every checkpoint" in capsys.readouterr().out
    assert (out / "measures.jsonl").stat().st_mtime_ns == before
