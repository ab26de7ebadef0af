"""``--out .`` and other odd but valid output paths work for every command that takes ``--out``.

Each command runs in a fresh working folder with ``--out .`` (the folder it is in) and with a path through
``..`` and a trailing separator; each writes where the path says (for a page: ``report.html`` in a folder).
``compare``'s own cases are in tests/test_compare.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from conftest import TOY, TASKS, cli, tiny_toml, write_spec
from test_importer import paper_weights

TINY = tiny_toml(train={"steps": 10, "eval_every": 5, "checkpoint_every": 5, "device": "cpu"})
SWEEP = TINY + '[sweep.grid]\n"train.lr" = [0.01]\n'
CAPACITY = """
[capacity]
K = 4
d_T = 3
[train]
steps = 10
batch_size = 64
warmup_steps = 2
[stack]
widths = [1, 2]
seeds = 1
[injection]
gaps = []
[measures]
eval_every = 5
interference_batch = 32
"""


def inputs(root: Path) -> dict[str, list]:
    """Each command's arguments before ``--out``."""
    paper = root / "paper.pth"
    torch.save({"model": paper_weights(0), "epoch": 10}, paper)
    return {
        "train": ["train", write_spec(root, TINY), "--no-progress"],
        "run": ["run", write_spec(root, TINY), "--no-progress"],
        "import": ["import", paper],
        "sweep": ["sweep", write_spec(root, SWEEP, "sweep.toml"), "--no-progress"],
        "toy": ["toy", TASKS / "toy_cpu.toml", "--no-progress", *[a for s in TOY for a in ("--set", s)]],
        "capacity": ["capacity", write_spec(root, CAPACITY, "capacity.toml"), "--no-progress"],
    }


WRITES = {"train": "config.json", "run": "report.html", "import": "config.json", "sweep": "results.jsonl",
          "toy": "sweep.json", "capacity": "report.html"}


@pytest.mark.parametrize("out", [".", "a/../b/"])
@pytest.mark.parametrize("command", sorted(WRITES))
def test_every_out_takes_the_current_folder_and_odd_paths(tmp_path, capsys, monkeypatch, command, out):
    argv = inputs(tmp_path)[command]
    here = tmp_path / "here"
    here.mkdir()
    monkeypatch.chdir(here)
    res = cli(capsys, *argv, "--out", out, "--threads", "1")
    assert res.code == 0, res.err
    folder = here if out == "." else tmp_path / "here" / "b"
    assert (folder / WRITES[command]).is_file(), sorted(p.name for p in folder.iterdir())
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no hidden folder left beside


@pytest.mark.parametrize("out", [".", "pages/", "a/../page.html"])
def test_report_out_may_be_a_folder(tmp_path, capsys, monkeypatch, out):
    spec = write_spec(tmp_path, TINY)
    assert cli(capsys, "train", spec, "--out", tmp_path / "run", "--no-progress").code == 0
    here = tmp_path / "here"
    here.mkdir()
    monkeypatch.chdir(here)
    res = cli(capsys, "report", tmp_path / "run", "--out", out)
    assert res.code == 0, res.err
    expected = {".": "report.html", "pages/": "pages/report.html", "a/../page.html": "page.html"}[out]
    assert (here / expected).is_file()
