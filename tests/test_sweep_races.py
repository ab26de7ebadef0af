"""One rule for writers, in a sweep: ``--restart`` and a Ray landing take each run's lock and re-read first.

A restart while another process holds one of the runs (a ``resume`` training in it) is refused before
anything is deleted; a landing into a folder another process holds, or one that changed since it was
shipped, is refused with nothing written (``land`` is called directly: no Ray needed).
"""

from __future__ import annotations

import pytest

from conftest import held_elsewhere
from test_sweep import grid_2x2, sweep_data

from grokkit.errors import RunError
from grokkit.sweep.driver import run_sweep
from grokkit.sweep.spec import expand
from grokkit.sweep.ship import land, pack, unpack


def snapshot(folder):
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_restart_while_another_process_writes_a_run_is_refused_and_deletes_nothing(tmp_path):
    out = tmp_path / "sw"
    first = expand(grid_2x2())
    run_sweep(first, out, report=lambda _: None)
    before = snapshot(out)
    busy = out / "runs" / first.runs[1].name
    second = expand(sweep_data(grid={"train.weight_decay": [0.3]}))
    with held_elsewhere(busy):  # e.g. `grokkit resume` of that run, training in it
        with pytest.raises(RunError, match="another grokkit process"):
            run_sweep(second, out, report=lambda _: None, restart=True)
    after = snapshot(out)
    assert after == before  # was: the run folder (its .lock included) deleted under the writer
    run_sweep(second, out, report=lambda _: None, restart=True)  # once it is free, the restart goes through
    assert not busy.exists() and (out / "runs" / second.runs[0].name / "status.json").is_file()


def shipped(tmp_path):
    """A run folder, what the driver sent of it, and what a worker sends back."""
    run = tmp_path / "driver" / "r"
    (run / "checkpoints" / "step_0000000").mkdir(parents=True)
    (run / "config.json").write_text("{}")
    (run / "checkpoints" / "step_0000000" / "model.safetensors").write_bytes(b"w0")
    sent = pack(run)
    worker = tmp_path / "worker" / "r"
    unpack(worker, sent)
    (worker / "checkpoints" / "step_0000010").mkdir()
    (worker / "checkpoints" / "step_0000010" / "model.safetensors").write_bytes(b"w10")
    (worker / "status.json").write_text('{"finished": true}')
    return run, sent, pack(worker)


def test_a_landing_into_a_folder_another_process_holds_is_refused_and_writes_nothing(tmp_path):
    run, sent, back = shipped(tmp_path)
    before = snapshot(run)
    with held_elsewhere(run):
        with pytest.raises(RunError, match="another grokkit process"):
            land(run, back, sent)
    assert snapshot(run) == {**before, ".lock": snapshot(run)[".lock"]}
    land(run, back, sent)
    assert pack(run).files == back.files


def test_a_landing_into_a_folder_changed_since_it_was_shipped_is_refused(tmp_path):
    run, sent, back = shipped(tmp_path)
    (run / "metrics.jsonl").write_text('{"step": 0}\n')  # another process wrote here meanwhile
    before = snapshot(run)
    with pytest.raises(RunError, match="changed since the sweep shipped it"):
        land(run, back, sent)
    assert {k: v for k, v in snapshot(run).items() if k != ".lock"} == before
