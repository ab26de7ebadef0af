"""One rule for writers, in an import: the run lands in ``--out`` only if no other writer got there first."""

from __future__ import annotations

from pathlib import Path

import torch

from conftest import cli, held_elsewhere, one_line_error
from test_importer import paper_weights


def paper_file(tmp_path: Path) -> Path:
    path = tmp_path / "paper.pth"
    torch.save({"model": paper_weights(0), "epoch": 10}, path)
    return path


def test_an_import_into_a_folder_another_process_holds_is_refused_and_leaves_nothing(tmp_path, capsys):
    out = tmp_path / "run"
    out.mkdir()
    with held_elsewhere(out):  # e.g. `grokkit train --out run` that has just taken it
        res = cli(capsys, "import", paper_file(tmp_path), "--out", out)
    assert res.code != 0
    one_line_error(res.err, "another grokkit process")
    assert [p.name for p in out.iterdir()] == [".lock"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["paper.pth", "run"]  # no hidden folder left


def test_an_import_that_another_writer_beat_to_the_folder_is_refused_and_clobbers_nothing(tmp_path, capsys,
                                                                                        monkeypatch):
    import grokkit.importer.write as write

    out = tmp_path / "run"
    out.mkdir()
    real = write.fill

    def fill_while_another_writes(run, source, loaded):
        real(run, source, loaded)
        (out / "config.json").write_text("theirs")  # another writer took the empty folder meanwhile

    monkeypatch.setattr(write, "fill", fill_while_another_writes)
    res = cli(capsys, "import", paper_file(tmp_path), "--out", out)
    assert res.code != 0  # was: a traceback from rmdir of a folder no longer empty
    one_line_error(res.err, "another process wrote there meanwhile")
    assert (out / "config.json").read_text() == "theirs"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["paper.pth", "run"]
