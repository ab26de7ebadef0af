"""The report in a real browser: headless Chromium draws every figure, offline.

Needs the Debian package ``chromium`` (``.ci/run`` installs it); skipped without it.
The screenshot is left at ``<tmp_path>/report.png`` for a human to look at.
"""

from __future__ import annotations

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


def render(page: Path, screenshot: Path, profile: Path) -> str:
    """The DOM after the page's scripts ran, with a full-page screenshot written on the way."""
    cmd = [
        CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        # without these Chromium keeps trying to reach update and sync servers on the closed network
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        f"--user-data-dir={profile}", "--hide-scrollbars", "--virtual-time-budget=10000",
        "--window-size=1400,5000", f"--screenshot={screenshot}", "--dump-dom", page.resolve().as_uri(),
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_every_figure_of_the_report_draws_in_headless_chromium(tmp_path):
    from grokkit.measures import measure_run
    from grokkit.report import write_report
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
