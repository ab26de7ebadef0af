"""measures.jsonl is a table keyed by step: a narrower ``measure`` updates its columns and keeps the rest,
``--replace`` overwrites, and a ``measure`` beside a training run with live measures is refused, never racing it."""

from __future__ import annotations

import shutil

import pytest

from grokkit.run import Run

from conftest import cli, one_line_error, tiny_run


@pytest.fixture
def measured(tmp_path):
    """A copy of the tiny run (live measures: all, key freqs 1, 3) whose table holds every default measure."""
    copy = tmp_path / "run"
    shutil.copytree(tiny_run().path, copy)
    return Run(copy)


def test_a_narrower_measure_updates_its_columns_and_keeps_every_other_column_and_row(measured, capsys):
    from grokkit.measures.offline import measure_run

    before = measured.measures()
    assert [row["step"] for row in before] == [0, 20, 40] and len(before[-1]) > 20
    rows = measure_run(measured, ["weight_norm"])
    assert [set(row) for row in rows] == [{"step", "weight_norm", "weight_norm_per_param"}] * 3  # what it computed
    after = measured.measures()
    assert [set(row) for row in after] == [set(row) for row in before]  # every column of every row is still there
    for old, new, computed in zip(before, after, rows):
        assert new == {**old, **computed}
    code, out, _ = cli(capsys, "measure", measured.path, "--measures", "weight_norm", "--no-progress")
    assert code == 0 and "merged" in out
    assert "keys     " in out and "restricted loss" in out  # its summary reads the merged table, as info does
    assert [set(row) for row in measured.measures()] == [set(row) for row in before]
    code, out, _ = cli(capsys, "measure", measured.path, "--measures", "weight_norm", "--replace", "--no-progress")
    assert code == 0 and "replaced" in out
    assert [set(row) for row in measured.measures()] == [{"step", "weight_norm", "weight_norm_per_param"}] * 3


def test_new_key_frequencies_drop_the_circuit_columns_they_would_mislabel(measured, capsys):
    from grokkit.measures.offline import measure_run

    before = measured.measures()
    rows = measure_run(measured, ["restricted"], key_freqs=[2])
    after = measured.measures()
    assert "excluded" in capsys.readouterr().err  # the note names what went
    for old, new, computed in zip(before, after, rows):
        assert new["key_freqs"] == [2] and new["restricted_loss"] == computed["restricted_loss"]
        assert "excluded_loss" not in new and "cos_cube_alpha" not in new  # computed with keys [1, 3]
        assert new["weight_norm"] == old["weight_norm"] and new["test_loss"] == old["test_loss"]  # key-free: kept


def test_measure_beside_training_with_live_measures_is_refused_and_no_row_is_lost(tmp_path, tiny_config, capsys):
    from grokkit.train.callbacks import Callback
    from grokkit.workflow import train_run

    config = tiny_config(measures={"live": ["loss", "weight_norm"]}, train={"device": "cpu"})
    run = Run.create(tmp_path / "run", config)
    tried = []

    class MeasureMeanwhile(Callback):
        """A user runs `grokkit measure` on the run while it trains (after its step-20 checkpoint)."""

        def on_checkpoint(self, run_, step, model):
            if step == 20:
                tried.append(cli(capsys, "measure", run.path, "--measures", "weight_norm", "--no-progress"))

    train_run(run, progress=False, callbacks=[MeasureMeanwhile()])
    (code, _, err), = tried
    assert code == 2
    one_line_error(err, "another grokkit process", str(run.path))
    rows = run.measures()
    assert [row["step"] for row in rows] == run.checkpoint_steps() == [0, 10, 20, 30, 40]
    assert all({"test_loss", "weight_norm"} <= set(row) for row in rows)
    code, _, _ = cli(capsys, "measure", run.path, "--measures", "loss", "--no-progress")  # once training is done
    assert code == 0 and [set(row) for row in run.measures()] == [set(row) for row in rows]
