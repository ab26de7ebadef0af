"""An interrupted import leaves nothing behind (issue 16, 5): its hidden folder is removed on SIGTERM
and, once its writer is dead, by the next import, which never follows a link planted under that name."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import cli
from grokkit.cli import main


def _state_dict_file(tmp_path: Path) -> Path:
    from test_importer import hooked_weights  # a HookedTransformer state dict
    import torch

    path = tmp_path / "model.pth"
    torch.save(hooked_weights(0), path)
    return path


def dead_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_sigterm_during_import_leaves_no_hidden_folder(tmp_path, capsys, monkeypatch):
    import grokkit.importer.write as write

    source = _state_dict_file(tmp_path)
    real = write.fill

    def fill_then_terminated(run, *args):
        real(run, *args)
        os.kill(os.getpid(), signal.SIGTERM)  # as `kill PID` would, mid-import

    monkeypatch.setattr(write, "fill", fill_then_terminated)
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(SystemExit) as exited:
        main(["import", str(source), "--out", str(tmp_path / "run"), "--threads", "1"])
    assert exited.value.code == 128 + signal.SIGTERM
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.pth"]
    assert signal.getsignal(signal.SIGTERM) == before  # the handler is put back


def test_the_next_import_removes_only_dead_writers_hidden_folders(tmp_path, capsys, precious):
    source = _state_dict_file(tmp_path)
    stale = tmp_path / f".run.import-{dead_pid()}"
    (stale / "checkpoints").mkdir(parents=True)
    alive = tmp_path / f".run.import-{os.getppid()}"  # a live process's: it may still be writing
    alive.mkdir()
    foreign = tmp_path / ".run.import-notes"
    foreign.mkdir()
    linked = tmp_path / f".run.import-{dead_pid()}"  # the pattern, but a link: not ours to follow
    linked.symlink_to(precious.parent, target_is_directory=True)
    code, _, err = cli(capsys, "import", source, "--out", tmp_path / "run")
    assert code == 0, err
    assert not stale.exists() and alive.is_dir() and foreign.is_dir() and linked.is_symlink()
    assert precious.read_text() == "my notes\n"


def test_import_never_builds_its_run_through_a_planted_link(tmp_path, capsys):
    source = _state_dict_file(tmp_path)
    users = tmp_path / "users-folder"
    users.mkdir()
    (tmp_path / f".run.import-{os.getpid()}").symlink_to(users, target_is_directory=True)
    code, _, err = cli(capsys, "import", source, "--out", tmp_path / "run")
    assert code == 0, err
    assert list(users.iterdir()) == []
    assert (tmp_path / "run" / "config.json").is_file()
