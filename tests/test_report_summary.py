"""A run in words and in a notebook: the text info prints, the card Jupyter shows (``Run._repr_html_``), the
tables (``Rows``), a sweep's outcome, and the pipeline ``grokkit run`` calls."""

from __future__ import annotations

import json
import re
from pathlib import Path

from conftest import cli, tiny_run, tiny_toml

KEY_STYLE = "style='text-align:left;padding:1px 8px 1px 0;vertical-align:top'"  # a row name of the card


def test_a_run_prints_what_info_prints_and_shows_a_card_with_a_loss_plot(capsys):
    run = tiny_run()
    _, out, _ = cli(capsys, "info", run.path)
    text = repr(run)
    assert text.splitlines()[0] == f"run      {run.path}"
    for line in text.splitlines()[1:]:  # every line of the repr is a line info prints
        assert line in out.splitlines(), line
    card = run._repr_html_()
    from grokkit.report.summary import keys_of

    keys = keys_of(run.measures())  # the tiny run's, from its measures table (other tests may measure it again)
    for needle in ("status", "finished: step 40 of 40", "99 % accuracy", "phases", f"<th {KEY_STYLE}>keys</th>",
                   str(keys["key_freqs"])):
        assert needle in card, needle
    points = re.findall(r"<polyline [^>]*points='([^']+)'", card)  # the loss plot: train and test
    assert len(points) == 2 and all(len(p.split()) == len(run.metrics()) for p in points)
    assert "<script" not in card  # draws without running anything


def test_tables_are_lists_with_a_one_line_repr_and_an_html_table():
    from grokkit.files.rows import Rows

    run = tiny_run()
    rows = run.measures()
    assert isinstance(rows, list) and rows == run.folder.measures() and json.loads(json.dumps(rows)) == rows
    assert repr(rows).startswith("measures: 3 rows, steps 0…40; columns step, ")
    assert rows.column("step") == [0, 20, 40]
    table = Rows([{"step": s, "loss": 1.0 / (s + 1), "k": {"3": 0.5}} for s in range(30)])._repr_html_()
    assert table.count("<tr>") == 1 + 12 + 1 and "18 more rows" in table and "3: 0.5" in table


def test_a_hostile_run_folder_cannot_put_markup_into_the_card(tmp_path):
    from test_report_escaping import FOLDER, assert_inert, hostile_run

    run = hostile_run(tmp_path)
    card = run._repr_html_()
    assert FOLDER not in card and "&lt;img" in card
    [plot] = re.findall(r"<svg xmlns='http://www.w3.org/2000/svg'.*?</svg>", card, flags=re.S)  # our loss plot
    assert re.fullmatch(r"<svg [^<]*>(<polyline [^<]*><title>\w+</title></polyline>)+</svg>", plot), plot
    assert_inert(card.replace(plot, ""))  # and nothing else became an element
    assert_inert(run.measures()._repr_html_())


def test_a_sweep_outcome_shows_its_counts_and_results_table():
    from grokkit.sweep.driver import SweepOutcome

    rows = [{"name": f"r{i}", "task.frac_train": f, "model.seed": 1, "grok_step": 100 if f > 0.4 else None,
             "memorise_step": 50, "final_test_acc": 0.5, "key_freqs": [1]} for i, f in enumerate((0.3, 0.5))]
    outcome = SweepOutcome(["r0"], ["r1"], rows, Path("out/report.html"), Path("out/results.jsonl"), 2.0)
    assert repr(outcome).splitlines()[0] == "sweep: 2 runs (1 trained now, 1 already finished), 1 grokked; 2.0 s"
    html = outcome._repr_html_()
    assert "<th style='padding:1px 6px'>task.frac_train</th>" in html and "key_freqs" not in html


def test_run_pipeline_is_grokkit_run_as_a_function(tmp_path, capsys):
    import grokkit

    spec = tmp_path / "spec.toml"
    spec.write_text(tiny_toml(train={"device": "cpu"}))
    result = grokkit.run_pipeline(spec, tmp_path / "run", progress=False, say=None)
    assert capsys.readouterr().out == ""  # say=None: silent
    assert result.report == tmp_path / "run" / "report.html" and result.report.is_file()
    assert [r["step"] for r in result.run.measures()] == result.run.checkpoint_steps()
    assert sorted(result.seconds) == ["measures", "report", "total", "train"]
    said: list[str] = []
    again = grokkit.run_pipeline(spec, tmp_path / "run", progress=False, say=said.append)  # the same spec: reused
    assert any("already covers every checkpoint" in line for line in said) and again.run.path == result.run.path
    assert "report   " in repr(again) and "grokkit run" in again._repr_html_()


def test_a_grokkit_error_shows_as_its_one_line_in_a_notebook():
    """IPython shows ``_render_traceback_`` instead of the traceback; the line is the CLI's."""
    import grokkit
    from grokkit.errors import ConfigError

    try:
        grokkit.load_spec("quickstart", ["train.lr=-1"])
    except ConfigError as exc:
        lines = exc._render_traceback_()
    assert len(lines) == 1 and lines[0].startswith("ConfigError: ") and "train.lr" in lines[0]
