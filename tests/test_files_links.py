"""Links and leftovers in a run folder (issue 16): grokkit never writes or deletes through a symbolic
link and says so in one line.

1: the run lock (``RUN/.lock``) is opened without following links and must be a regular file
we own. 8: a checkpoint folder that is a link is refused, not "removed". General: appended logs,
atomic temporaries, checkpoint temporaries and tracker folders never write through links.
(An interrupted import's hidden folders: test_importer_links.py; a toy sweep's chunks: test_toy_chunks.py.)
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from conftest import cli, one_line_error


CONFIG = {"task": {"p": 13, "frac_train": 0.5}, "model": {"d_model": 16, "n_heads": 2, "d_head": 8, "d_mlp": 32},
          "train": {"steps": 20, "eval_every": 10, "checkpoint_every": 10, "device": "cpu"}}


def new_run(path: Path):
    from grokkit.run import Run
    from grokkit.spec import config_from_dict

    return Run.create(path, config_from_dict(CONFIG))


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    """A finished 20-step run: checkpoints 0, 10, 20."""
    from grokkit.workflow import train_run

    run = new_run(tmp_path_factory.mktemp("trained") / "run")
    train_run(run, progress=False)
    return run.path


def unfinished(trained: Path, dst: Path) -> Path:
    """A copy of ``trained`` as a kill right after its checkpoint at step 10 leaves it."""
    shutil.copytree(trained, dst, ignore=shutil.ignore_patterns(".lock"))
    (dst / "status.json").unlink()
    shutil.rmtree(dst / "checkpoints" / "step_0000020")
    return dst


# --- 1: the run lock ------------------------------------------------------------------------------

def test_a_lock_linking_to_a_user_file_is_refused_and_the_file_untouched(tmp_path, trained, capsys, precious):
    run = unfinished(trained, tmp_path / "run")
    (run / ".lock").symlink_to(precious)
    code, _, err = cli(capsys, "resume", run, "--no-progress")
    assert code == 2
    one_line_error(err, ".lock", "symbolic link")
    assert precious.read_text() == "my notes\n"


def test_a_dangling_lock_link_does_not_create_its_target(tmp_path, capsys):
    run = new_run(tmp_path / "run").path
    target = tmp_path / "elsewhere" / "created-by-grokkit"
    target.parent.mkdir()
    (run / ".lock").unlink()  # the one creating the run left its lock file: plant a link in its place
    (run / ".lock").symlink_to(target)
    code, _, err = cli(capsys, "resume", run, "--no-progress")
    assert code == 2
    one_line_error(err, ".lock", "symbolic link")
    assert not target.exists()


def test_a_lock_that_is_not_a_regular_file_we_own_is_refused(tmp_path, capsys):
    from grokkit.errors import RunError
    from grokkit.files.lock import RunLock

    run = new_run(tmp_path / "run").path
    (run / ".lock").unlink()
    (run / ".lock").mkdir()
    code, _, err = cli(capsys, "resume", run, "--no-progress")
    assert code == 2
    one_line_error(err, ".lock", "not a regular file")
    (run / ".lock").rmdir()
    if os.geteuid() == 0:  # only root can hand a file to another user
        (run / ".lock").write_text("")
        os.chown(run / ".lock", 4321, -1)
        with pytest.raises(RunError, match="owned by another user"):
            RunLock(run).acquire()


# --- general: logs and temporaries ----------------------------------------------------------------

def test_a_dangling_log_link_is_refused_not_created(tmp_path, capsys):
    run = new_run(tmp_path / "run").path
    target = tmp_path / "elsewhere.jsonl"
    (run / "metrics.jsonl").symlink_to(target)
    code, _, err = cli(capsys, "resume", run, "--no-progress")
    assert code == 2
    one_line_error(err, "metrics.jsonl", "symbolic link")
    assert not target.exists()


def test_append_row_never_writes_through_a_link(tmp_path, precious):
    from grokkit.errors import RunError
    from grokkit.files.jsonl import append_row

    log = tmp_path / "measures.jsonl"
    log.symlink_to(precious)
    with pytest.raises(RunError, match="symbolic link"):
        append_row(log, {"step": 0})
    assert precious.read_text() == "my notes\n"


def test_an_atomic_write_never_writes_through_a_planted_temporary(tmp_path, precious):
    from grokkit.files.atomic import temporary_name, write_text_atomic

    target = tmp_path / "status.json"
    temporary_name(target).symlink_to(precious)  # a link planted under the name our temporary will take
    write_text_atomic(target, "{}\n")
    assert target.read_text() == "{}\n" and not target.is_symlink()
    assert precious.read_text() == "my notes\n"
    assert not os.path.lexists(temporary_name(target))


def test_a_checkpoint_temporary_that_is_a_link_is_not_followed(tmp_path):
    import torch

    from grokkit.files.checkpoint import save_checkpoint

    root = tmp_path / "checkpoints"
    root.mkdir()
    users = tmp_path / "users-folder"
    users.mkdir()
    (users / "keep.txt").write_text("keep")
    (root / f".tmp-step_0000005-{os.getpid()}").symlink_to(users, target_is_directory=True)
    save_checkpoint(root, 5, {"w": torch.ones(2)}, {}, {})
    assert sorted(p.name for p in users.iterdir()) == ["keep.txt"]
    assert (root / "step_0000005" / "meta.json").is_file()


def test_a_checkpoint_folder_that_is_a_link_is_refused_with_the_truth(tmp_path, trained, capsys):
    run = unfinished(trained, tmp_path / "run")
    users = tmp_path / "users-folder"
    users.mkdir()
    (users / "plot.txt").write_text("mine")
    (run / "checkpoints" / "step_0000020").symlink_to(users, target_is_directory=True)
    code, _, err = cli(capsys, "resume", run, "--no-progress")
    assert code == 2
    one_line_error(err, "step_0000020", "symbolic link")
    assert "removed" not in err
    assert (users / "plot.txt").read_text() == "mine"


@pytest.mark.parametrize("folder", ["checkpoints", "tensorboard"])  # the run's own folder, a tracker's
def test_a_run_folder_that_is_a_link_is_refused(tmp_path, capsys, folder):
    run = new_run(tmp_path / "run").path
    users = tmp_path / "users-folder"
    users.mkdir()
    (run / folder).symlink_to(users, target_is_directory=True)
    code, _, err = cli(capsys, "resume", run, "--no-progress")
    assert code == 2
    one_line_error(err, folder, "symbolic link")
    assert list(users.iterdir()) == []


def test_measure_never_replaces_a_linked_log(tmp_path, trained, capsys, precious):
    run = tmp_path / "run"
    shutil.copytree(trained, run, ignore=shutil.ignore_patterns(".lock"))
    (run / "measures.jsonl").unlink(missing_ok=True)
    (run / "measures.jsonl").symlink_to(precious)
    code, _, err = cli(capsys, "measure", run, "--measures", "loss", "--no-progress")
    assert code == 2
    one_line_error(err, "measures.jsonl", "symbolic link")
    assert (run / "measures.jsonl").is_symlink() and precious.read_text() == "my notes\n"


def test_a_folder_planted_under_a_temporary_name_is_one_line_and_left_alone(tmp_path):
    from grokkit.errors import RunError
    from grokkit.files.atomic import temporary_name, write_text_atomic

    target = tmp_path / "status.json"
    temporary_name(target).mkdir()
    (temporary_name(target) / "mine.txt").write_text("mine")
    with pytest.raises(RunError, match="status.json"):
        write_text_atomic(target, "{}\n")
    assert (temporary_name(target) / "mine.txt").read_text() == "mine" and not target.exists()
