"""The example notebooks run headless in their short mode, from a copy outside the checkout, and fail on any
error cell (nbclient: ``pip install 'grokkit[notebook]'``; skipped without it). One executed notebook,
exported to HTML by nbconvert, draws every plot in headless Chromium.

The kernel runs with ``PLOTLY_RENDERER=plotly_mimetype+notebook``: a plain kernel's default stores only
plotly's JSON, which JupyterLab draws but an HTML export cannot; the notebook renderer stores plotly.js
once in the notebook, so the export draws offline.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
PLOTLY = "application/vnd.plotly.v1+json"
# notebook → the least number of plotly figures its short mode draws
FIGURES = {"quickstart.ipynb": 9, "paper_analysis.ipynb": 10, "custom_analysis.ipynb": 2}


def test_every_notebook_is_listed_here_and_ships_without_outputs():
    assert sorted(p.name for p in EXAMPLES.glob("*.ipynb")) == sorted(FIGURES)
    for name in FIGURES:
        nb = nbformat.read(EXAMPLES / name, as_version=4)
        nbformat.validate(nb)
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert all(not c.outputs and c.execution_count is None for c in code), name
        assert "parameters" in code[0].metadata.get("tags", []), name  # the short mode's switch comes first


@pytest.fixture(scope="module")
def executed(tmp_path_factory) -> dict[str, Path]:
    """Each notebook run in its short mode in a folder of its own (its temporary runs under that folder too)."""
    out = {}
    with pytest.MonkeyPatch.context() as env:
        for key, value in {"GROKKIT_NOTEBOOK_SHORT": "1", "OMP_NUM_THREADS": "1",
                           "PLOTLY_RENDERER": "plotly_mimetype+notebook"}.items():
            env.setenv(key, value)
        for name in FIGURES:
            folder = tmp_path_factory.mktemp(name.split(".")[0])
            (folder / "tmp").mkdir()
            env.setenv("TMPDIR", str(folder / "tmp"))  # the short mode's runs go under pytest's folder
            path = Path(shutil.copy(EXAMPLES / name, folder / name))  # no repository beside it
            nb = nbformat.read(path, as_version=4)
            client = nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                                              resources={"metadata": {"path": str(folder)}})
            try:
                client.execute()  # raises CellExecutionError on the first error cell
            finally:
                nbformat.write(nb, folder / f"executed-{name}")
            out[name] = folder
    return out


@pytest.mark.parametrize("name", sorted(FIGURES))
def test_notebook_runs_in_its_short_mode_without_error_and_draws_its_figures(executed, name):
    folder = executed[name]
    nb = nbformat.read(folder / f"executed-{name}", as_version=4)
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    figures = [o for o in outputs if PLOTLY in o.get("data", {})]
    assert len(figures) >= FIGURES[name]
    for o in figures:  # every figure has data and fills its cell (no fixed width)
        fig = o["data"][PLOTLY]
        assert fig["data"] and "width" not in fig["layout"], name
    for cell in nb.cells:  # progress bars never flood a cell
        streams = [o for o in cell.get("outputs", []) if o.output_type == "stream"]
        assert len(streams) <= 8, (name, [o.text[:80] for o in streams])
    assert sorted(p.name for p in folder.iterdir()) == sorted([name, f"executed-{name}", "tmp"])


def test_an_executed_notebook_exported_to_html_draws_its_plots_in_headless_chromium(executed, tmp_path):
    from PIL import Image

    from test_report_browser import CHROMIUM, render

    if not Path(CHROMIUM).exists():
        pytest.skip("needs headless Chromium: apt-get install -y chromium (.ci/run does this)")
    nbconvert = pytest.importorskip("nbconvert")
    nb = nbformat.read(executed["quickstart.ipynb"] / "executed-quickstart.ipynb", as_version=4)
    n_figures = sum(PLOTLY in o.get("data", {}) for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    body, _ = nbconvert.HTMLExporter(template_name="basic").from_notebook_node(nb)  # the cells, no page chrome
    page = tmp_path / "quickstart.html"
    page.write_text(body, encoding="utf-8")
    screenshot = tmp_path / "quickstart.png"
    dom = render(page, screenshot, tmp_path / "chromium-profile", window="1200,9000")
    divs = dom.split('class="plotly-graph-div')[1:]  # each figure's element, up to the next one
    assert len(divs) == n_figures >= FIGURES["quickstart.ipynb"]
    assert all('<svg class="main-svg"' in div for div in divs)  # plotly drew into every one
    widths = [int(w) for w in re.findall(r'<svg class="main-svg"[^>]* width="(\d+)"', dom)]
    assert widths and min(widths) > 800  # no fixed width: each figure fills the cell of a 1200-px page
    # the lines are painted: train (#1f77b4) and test (#d62728) are in the loss, accuracy and measure figures
    pixels = Image.open(screenshot).convert("RGB").getdata()
    for colour in ((0x1F, 0x77, 0xB4), (0xD6, 0x27, 0x28)):
        painted = sum(1 for px in pixels if all(abs(a - b) <= 12 for a, b in zip(px, colour)))
        assert painted > 1500, (colour, painted)
    print(f"screenshot: {screenshot}")
