"""The report in a real browser: headless Chromium draws every figure, offline.

Needs the Debian package ``chromium`` (``.ci/run`` installs it); skipped without it.
The screenshot is left at ``<tmp_path>/report.png`` for a human to look at.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from conftest import tiny_toml

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason="needs headless Chromium: apt-get install -y chromium (.ci/run does this)"
)

SPEC = tiny_toml(task={"p": 23}, train={"lr": 3e-3, "steps": 200, "checkpoint_every": 25})


class FigureDivs(HTMLParser):
    """For each ``<div id="fig-…">``, whether plotly drew an ``svg.main-svg`` inside it."""

    def __init__(self) -> None:
        super().__init__()
        self.drawn: dict[str, bool] = {}
        self.body: dict[str, str] = {}
        self._open: list[tuple[str, int]] = []  # (figure id, div depth at which it opened)
        self._depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attr = dict(attrs)
        if tag == "body":
            self.body = {k: v or "" for k, v in attrs}
        if tag == "div":
            self._depth += 1
            if (attr.get("id") or "").startswith("fig-"):
                self._open.append((attr["id"], self._depth))
                self.drawn[attr["id"]] = False
        if tag == "svg" and "main-svg" in (attr.get("class") or "").split() and self._open:
            self.drawn[self._open[-1][0]] = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "div":
            if self._open and self._open[-1][1] == self._depth:
                self._open.pop()
            self._depth -= 1


def render(page: Path, screenshot: Path, profile: Path, window: str = "1400,5000") -> str:
    """The DOM after the page's scripts ran, with a full-page screenshot written on the way."""
    cmd = [
        CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        # without these Chromium keeps trying to reach update and sync servers on the closed network
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        f"--user-data-dir={profile}", "--hide-scrollbars", "--virtual-time-budget=10000",
        f"--window-size={window}", f"--screenshot={screenshot}", "--dump-dom", page.resolve().as_uri(),
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_every_figure_of_the_report_draws_in_headless_chromium(tmp_path):
    from grokkit.measures.offline import measure_run
    from grokkit.report.html import write_report
    from grokkit.run import Run
    from grokkit.spec import load_spec
    from grokkit.workflow import train_run as train

    spec = tmp_path / "spec.toml"
    spec.write_text(SPEC)
    run = Run.create(tmp_path / "run", load_spec(spec))
    train(run, progress=False)
    measure_run(run)
    page = write_report(run)

    screenshot = tmp_path / "report.png"
    parsed = FigureDivs()
    parsed.feed(render(page, screenshot, tmp_path / "chromium-profile"))

    expected = int(parsed.body["data-figures-expected"])
    assert "data-figures-failed" not in parsed.body, parsed.body["data-figures-failed"]
    assert parsed.body.get("data-figures-drawn") == str(expected)  # every Plotly.newPlot resolved
    assert len(parsed.drawn) == expected >= 14
    assert all(parsed.drawn.values()), [fig for fig, ok in parsed.drawn.items() if not ok]
    png = screenshot.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 100_000  # a drawn page, not a blank one
    print(f"screenshot: {screenshot}")


def test_every_figure_of_the_toy_report_draws_in_headless_chromium(tmp_path):
    """The toy sweep's page is the run report's shell: every figure, subplots included, draws offline."""
    from conftest import TASKS
    from grokkit.toy import load_toy_spec, run_sweep, write_report

    spec = load_toy_spec(TASKS / "toy_cpu.toml", [
        "toy.n=20", "toy.S=0.8", "toy.test_points=20", "train.steps=20", "train.warmup_steps=2",
        "sweep.T=[3,10]", "sweep.seeds=2", "sweep.R=[1,2]", "sweep.m=[2,3]", "report.hidden_T=[3,10]"])
    run_sweep(spec, tmp_path / "toy", log=lambda *_: None)
    page = write_report(tmp_path / "toy")
    parsed = FigureDivs()
    parsed.feed(render(page, tmp_path / "toy.png", tmp_path / "chromium-profile"))
    expected = int(parsed.body["data-figures-expected"])
    assert "data-figures-failed" not in parsed.body, parsed.body["data-figures-failed"]
    assert parsed.body.get("data-figures-drawn") == str(expected) and len(parsed.drawn) == expected >= 6
    assert all(parsed.drawn.values()), [fig for fig, ok in parsed.drawn.items() if not ok]


def phase_rows(all_missing: bool) -> list[dict]:
    """Rows like the phase sweep's (some cells never grok) or the optimiser sweep's (none groks)."""
    grok = {0: [None] * 4, 0.5: [None, None, 1000, 550], 1: [None, 1825, 550, 500], 2: [None, 1075, 250, 350]}
    rows = []
    for wd, steps in grok.items():
        for frac, step in zip((0.4, 0.5, 0.6, 0.7), steps):
            for seed in (1, 2):
                step = None if all_missing else step
                rows.append({"name": f"{wd},{frac},{seed}", "train.weight_decay": wd, "task.frac_train": frac,
                             "model.seed": seed, "grok_step": step, "memorise_step": None if frac == 0.4 else 100,
                             "final_test_acc": 1.0 if step else 0.5})
    return rows


@pytest.mark.parametrize("all_missing", [False, True], ids=["some-cells-never-grok", "nothing-groks"])
def test_sweep_phase_diagrams_draw_never_grokked_cells_in_their_own_colour(tmp_path, all_missing):
    from PIL import Image

    from grokkit.sweep.report import FIGURE_WIDTH, MISSING_COLOUR, write_sweep_report

    page = write_sweep_report(tmp_path, phase_rows(all_missing), ("task.frac_train", "train.weight_decay"), "sweep")
    screenshot = tmp_path / "sweep.png"
    dom = render(page, screenshot, tmp_path / "chromium-profile", window="1200,1600")  # the width that cut it off
    parsed = FigureDivs()
    parsed.feed(dom)
    assert len(parsed.drawn) == 3 and all(parsed.drawn.values()), parsed.drawn
    # drawn at their own width (a figure drawn at the grid's first, full width was cut off by its column)
    widths = re.findall(r'<svg class="main-svg"[^>]* width="(\d+)"', dom)
    assert widths and set(widths) == {str(FIGURE_WIDTH)}, widths
    assert "no grok: no run of the cell got there" in dom and "never: no run of the cell got there" in dom
    assert (">grok_step</text>" in dom) != all_missing  # the colour bar's title, present when some cell grokked
    # the never-grokked cells are painted (a blank grey box before): count their colour in the screenshot
    sand = tuple(int(MISSING_COLOUR[i : i + 2], 16) for i in (1, 3, 5))
    pixels = Image.open(screenshot).convert("RGB").getdata()
    painted = sum(1 for px in pixels if all(abs(a - b) <= 2 for a, b in zip(px, sand)))
    cells = 16 if all_missing else 7  # never-grokked cells of the grok diagram (4 more "never" to memorise)
    assert painted > (cells + 4) * 2500, painted  # each cell is about 80 × 70 px
    print(f"screenshot: {screenshot}")
