"""One rule for writers: measure and report take the run's lock and re-read what they decide on.

(The engine, resume and extension: tests/test_extend_races.py; sweep restart and Ray landing:
tests/test_sweep_races.py; import: tests/test_importer_races.py.)
"""

from __future__ import annotations

import pytest

from conftest import cli, held_elsewhere, one_line_error
from test_extend import train

from grokkit.errors import RunError
from grokkit.extend import extend_run
from grokkit.run import Run


def test_a_report_beside_another_writer_is_refused_and_writes_nothing(tmp_path, capsys):
    run_dir = train(tmp_path, capsys, "run", "train.steps=20")
    with held_elsewhere(run_dir):  # e.g. a resume training, or a measure rewriting the table
        res = cli(capsys, "report", run_dir)
    assert res.code != 0
    one_line_error(res.err, "another grokkit process")
    assert not (run_dir / "report.html").exists()
    outside = tmp_path / "elsewhere.html"
    with held_elsewhere(run_dir):  # a report written outside the run folder reads only: it goes on
        assert cli(capsys, "report", run_dir, "--out", outside).code == 0
    assert outside.is_file() and not (run_dir / "report.html").exists()


def test_measure_from_a_handle_the_folder_has_moved_on_from_is_refused(tmp_path, capsys):
    from grokkit.measures.offline import measure_run

    run_dir = train(tmp_path, capsys, "run", "train.steps=20")
    stale = Run(run_dir)
    extend_run(Run(run_dir), {"steps": 30})  # another process extends (and would train) it meanwhile
    with pytest.raises(RunError, match="config.json changed since this command opened it"):
        measure_run(stale, ["weight_norm"], progress=False)
    assert not (run_dir / "measures.jsonl").exists()
    with held_elsewhere(run_dir):
        res = cli(capsys, "measure", run_dir, "--measures", "weight_norm", "--no-progress")
    assert res.code != 0
    one_line_error(res.err, "another grokkit process")
    assert not (run_dir / "measures.jsonl").exists()
