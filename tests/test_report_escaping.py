"""Hostile run folders: nothing a file holds can put script into a page grokkit renders.

Every payload below would set ``data-pwned`` on <body> if it ran. The pure-Python tests
parse each page and check that no payload became an element or an attribute (they run
everywhere); the Chromium test opens the run report and checks that no script ran and
every figure, hostile names included, still drew.
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from conftest import SMALL_MODEL, TASKS, tiny_dict
from test_report_browser import CHROMIUM, FigureDivs, render

PWN = "document.body.setAttribute('data-pwned','{}')"
KEYS = {  # measure names that break out of an attribute, a script, an element
    "attr": f"x'><img src=x onerror={PWN.format('attr')}>",
    "dq": f'x"><svg onload={PWN.format("dq")}>',
    "script": f"</script><script>{PWN.format('script')}</script>",
    "comment": f"<!--<script>{PWN.format('comment')}</script>",
}
VALUE = f"<img src=x onerror={PWN.format('value')}>"
FOLDER = f"run<img src=x onerror={PWN.format('folder')}>"  # '/' cannot be in a folder name, so no </script>
TINY = tiny_dict(model=SMALL_MODEL, train={"device": "cpu"})


def hostile_run(root: Path):
    """A run (config, metrics, measures; no checkpoint) whose measures.jsonl carries the payloads."""
    from grokkit.run import Run
    from grokkit.spec import config_from_dict

    run = Run.create(root / FOLDER, config_from_dict(TINY))
    metrics, measures = [], []
    for i, step in enumerate(range(0, 41, 10)):
        row = {"step": step, "train_loss": 2.5 - 0.5 * i, "test_loss": 2.6 - 0.1 * i,
               "train_acc": 0.2 * i + 0.1, "test_acc": 0.05 * i}
        metrics.append(row)
        measures.append({**row, "excluded_loss": 2.0 + 0.1 * i, "restricted_loss": 2.0 - 0.2 * i,
                         KEYS["attr"]: 0.1 * i, KEYS["dq"]: [0.1 * i, 0.2], KEYS["script"]: {VALUE: 0.3 * i},
                         KEYS["comment"]: 1.0 + i, "key_freqs": [1, 3], "key_freqs_source": VALUE})
    for name, rows in (("metrics.jsonl", metrics), ("measures.jsonl", measures)):
        (run.path / name).write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return run


class Elements(HTMLParser):
    """Every start tag with its attributes, and the text of each <script>."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, {k: v or "" for k, v in attrs}))
        self._in_script = tag == "script"
        if tag == "script":
            self.scripts.append("")

    def handle_endtag(self, tag):
        self._in_script = self._in_script and tag != "script"

    def handle_data(self, data):
        if self._in_script:
            self.scripts[-1] += data


SCRIPTS = ("window.PlotlyConfig", "/**\n* plotly.js", "window.PLOTLYENV", "const FIGURES")  # how ours begin


def assert_inert(page: str) -> None:
    """No payload became an element, an event handler, a script or an unsafe id."""
    parsed = Elements()
    parsed.feed(page)
    tags = {tag for tag, _ in parsed.tags}
    assert not tags & {"img", "svg", "iframe", "object", "embed"}, tags
    handlers = [(tag, k) for tag, attrs in parsed.tags for k in attrs if k.startswith("on") or k == "data-pwned"]
    assert not handlers, handlers
    ids = [attrs["id"] for _, attrs in parsed.tags if "id" in attrs]
    assert all(re.fullmatch(r"[A-Za-z0-9_-]+", i) for i in ids), [i for i in ids if not re.fullmatch(r"[\w-]+", i)]
    assert len(ids) == len(set(ids))  # one element per id: hostile names never collide with each other
    assert all(script.strip().startswith(SCRIPTS) for script in parsed.scripts), [
        script.strip()[:80] for script in parsed.scripts if not script.strip().startswith(SCRIPTS)]
    assert page.count("<script") == len(parsed.scripts)  # every script element is one the parser saw whole


def test_run_report_escapes_everything_a_run_folder_holds(tmp_path):
    from grokkit.report.collect import collect
    from grokkit.report.html import render_page

    page = render_page(collect(hostile_run(tmp_path)))
    assert_inert(page)
    assert page.count("id='fig-other-") == len(KEYS)  # each hostile measure still gets its figure


def test_dom_ids_are_safe_and_one_to_one():
    from grokkit.files.page import dom_id

    names = ["loss", "other-a b", "other-a_20_b", "other-a-20-b", "a'\"<>&", "é", "other-é"]
    ids = [dom_id(n) for n in names]
    assert ids[0] == "loss" and len(set(ids)) == len(ids)
    assert all(re.fullmatch(r"[A-Za-z0-9_-]+", i) for i in ids)


def test_script_json_cannot_close_its_script():
    from grokkit.files.page import script_json

    text = json.dumps({"</script><!--": "</SCRIPT>\u2028&"})
    safe = script_json(text)
    assert "<" not in safe and ">" not in safe and "&" not in safe and "\u2028" not in safe
    assert json.loads(safe) == json.loads(text)


def test_report_refuses_values_no_figure_can_show(tmp_path):
    from grokkit.errors import RunError
    from grokkit.report.collect import collect

    run = hostile_run(tmp_path)
    path = run.path / "measures.jsonl"
    path.write_text(json.dumps({"step": 0, "test_loss": VALUE}) + "\n", encoding="utf-8")
    with pytest.raises(RunError, match=r"measures.jsonl: step 0: 'test_loss' = .* is not a number"):
        collect(run)


def test_sweep_report_escapes_settings_and_values(tmp_path):
    from grokkit.sweep.report import write_sweep_report

    rows = [{"name": KEYS["attr"], KEYS["script"]: VALUE, KEYS["dq"]: i, "grok_step": 10 * i, "memorise_step": i,
             "final_test_acc": 0.5} for i in range(4)]
    page = write_sweep_report(tmp_path, rows, (KEYS["script"], KEYS["dq"]), KEYS["comment"]).read_text()
    assert_inert(page)


def toy_sweep(root: Path, title: str):
    from grokkit.toy import load_toy_spec, run_sweep

    spec = load_toy_spec(TASKS / "toy_cpu.toml", [
        "toy.n=20", "toy.S=0.8", "toy.test_points=20", "train.steps=20", "train.warmup_steps=2",
        "sweep.T=[3,10]", "sweep.seeds=1", "sweep.chunk_instances=4", f"report.title={json.dumps(title)}"])
    return run_sweep(spec, root / "toy", log=lambda *_: None)


def test_toy_report_and_compare_page_escape_titles_and_run_names(tmp_path):
    from grokkit.compare.collect import TransformerRun, load_toy
    from grokkit.compare.page import render_page
    from grokkit.toy.report import write_report

    result = toy_sweep(tmp_path, KEYS["script"] + VALUE)
    page = write_report(result.path).read_text(encoding="utf-8")
    assert_inert(page)
    run = TransformerRun(name=KEYS["attr"], settings={KEYS["dq"]: VALUE}, p=13, frac_train=0.5, n_train=84,
                         steps=[0, 10], memorised=[80, 40], excluded_acc=[0.9, 0.5], key_freqs=[1],
                         key_freqs_source=VALUE, eval_steps=[0, 10], test_acc=[0.1, 1.0], final_test_loss=0.1,
                         final_step=10, grok_step=10)
    page = render_page(load_toy(result.path), [run], tmp_path / FOLDER)
    assert_inert(page)


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs headless Chromium: apt-get install -y chromium")
def test_no_script_runs_when_a_hostile_run_report_is_opened(tmp_path):
    from grokkit.report.html import write_report

    page = write_report(hostile_run(tmp_path), out=tmp_path / "report.html")
    parsed = FigureDivs()
    dom = render(page, tmp_path / "shot.png", tmp_path / "profile")
    parsed.feed(dom)
    assert "data-pwned" not in parsed.body, parsed.body["data-pwned"]  # no payload ran
    expected = int(parsed.body["data-figures-expected"])
    assert parsed.body.get("data-figures-drawn") == str(expected), parsed.body  # the page's own script did run
    assert sum(1 for fig in parsed.drawn if fig.startswith("fig-other-")) == len(KEYS)
    assert all(parsed.drawn.values()), [fig for fig, ok in parsed.drawn.items() if not ok]
