"""An imported run tells the story of its own curve: the paper's loss records, not the one checkpoint.

A paper-format file (one model saved after 600 epochs, with every epoch's train and test loss)
whose curve memorises by epoch 40 and groks by epoch ~250: every view (info, measure, the report,
sweep results, compare) places the milestones and phases on that curve, says they come from the
source's own records, and keeps the last losses and accuracies as grokkit's evaluation of the checkpoint.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch

from conftest import cli, one_line_error
from test_importer import P, paper_weights

from grokkit.files.layout import CURVES_FILE
from grokkit.importer import import_file
from grokkit.measures.milestones import LEARNT_LOSS, acc_bound
from grokkit.measures.phases import story_of_run
from grokkit.run import Run

EPOCHS = 600


def losses() -> tuple[list[float], list[float]]:
    """Train loss falls to 1e-5 by epoch 40 and stays; test loss rises to 20, then falls from epoch 150
    and passes the 99 % bound at the epoch ``grok_epoch()`` returns, long before the checkpoint's 600."""
    train = [max(4.0 * 0.75 ** e, 1e-5) for e in range(EPOCHS)]
    test = [20.0 if e < 150 else max(20.0 * 0.9 ** (e - 150), 1e-5) for e in range(EPOCHS)]
    test[:40] = [4.0 + 0.4 * e for e in range(40)]
    return train, test


def first_below(curve: list[float]) -> int:
    return next(i for i, v in enumerate(curve) if v <= LEARNT_LOSS)


@pytest.fixture
def imported(tmp_path: Path) -> Run:
    train, test = losses()
    path = tmp_path / "paper.pth"
    torch.save({"model": paper_weights(0), "epoch": EPOCHS, "train_losses": train, "test_losses": test,
                "config": {"p": P, "fn_name": "add", "frac_train": 0.3, "seed": 0, "num_epochs": EPOCHS}}, path)
    run, _ = import_file(path, tmp_path / "run")
    return run


def test_the_loss_bound_is_what_a_loss_guarantees() -> None:
    """A wrong answer costs ≥ ln 2, so a mean loss L leaves at most L / ln 2 answers wrong."""
    logits = torch.tensor([[0.0, 0.0], [5.0, 0.0]])  # row 0: a tie (counted wrong), row 1: right
    loss = torch.nn.functional.cross_entropy(logits, torch.tensor([1, 0])).item()
    assert acc_bound(loss) <= 0.5  # one of two wrong
    assert math.isclose(acc_bound(LEARNT_LOSS), 0.99) and acc_bound(100.0) == 0.0


def test_every_view_reads_the_milestones_and_phases_from_the_papers_own_curve(imported: Run, capsys) -> None:
    train, test = losses()
    story = story_of_run(imported)
    assert story.source == CURVES_FILE
    assert story.milestones == (first_below(train), first_below(test))
    assert story.milestones.grokked_step < 300 < EPOCHS
    phases = story.phases
    assert phases.memorisation_end == first_below(train)
    assert 150 <= phases.circuit_formation_end < phases.cleanup_end < EPOCHS

    res = cli(capsys, "info", imported.path)
    assert res.code == 0, res.err
    assert f"test acc: step {first_below(test)}" in res.out
    assert f"cleanup ends step {phases.cleanup_end}" in res.out
    assert CURVES_FILE in res.out and "grokkit's evaluation" in res.out  # which numbers are whose
    assert f"at step {EPOCHS}" in res.out  # the last line is the checkpoint's evaluation
    summary = json.loads(cli(capsys, "info", imported.path, "--json").out)
    assert summary["story_source"] == CURVES_FILE and summary["test_acc_99_step"] == first_below(test)
    assert summary["progress"]["step"] == EPOCHS

    res = cli(capsys, "measure", imported.path, "--no-progress", "--measures", "loss,excluded")
    assert res.code == 0, res.err
    assert f"test acc: step {first_below(test)}" in res.out and CURVES_FILE in res.out

    from grokkit.report.collect import collect
    from grokkit.report.sections import curve_sections

    data = collect(imported)
    assert data.milestones == story.milestones
    assert [b.end for b in data.phases] == [phases.memorisation_end, phases.circuit_formation_end, phases.cleanup_end]
    assert data.phases[0].start == 0  # the bands start where the records do, not at the checkpoint
    loss = next(s for s in curve_sections(data) if s.id == "loss")
    names = [trace.name for trace in loss.figure.data]
    assert "test (source's own record)" in names and "train (source's own record)" in names

    from grokkit.sweep.results import result_row

    row = result_row("paper", {}, imported)
    assert (row["memorise_step"], row["grok_step"]) == story.milestones
    assert row["milestones_from"] == CURVES_FILE and row["cleanup_end"] == phases.cleanup_end
    assert row["final_step"] == EPOCHS


def test_compare_reads_an_imported_runs_grok_step_from_its_records(imported: Run, tmp_path: Path) -> None:
    from grokkit.compare.collect import load_transformer
    from grokkit.files.sweep_folder import SweepFolder

    sweep = tmp_path / "sweep"
    (sweep / "runs").mkdir(parents=True)
    imported.path.rename(sweep / "runs" / "paper")
    SweepFolder(sweep).write_record({"paper": {}})
    [side] = load_transformer(sweep, measure=True, log=lambda *_: None)
    assert side.grok_step == first_below(losses()[1]) and side.final_step == EPOCHS


@pytest.mark.parametrize("value", ['"1e-3"', "-1.0", "[0.1]", "true", "1" + "0" * 5000])
def test_a_damaged_record_is_one_line_naming_the_file(imported: Run, capsys, value: str) -> None:
    path = imported.path / CURVES_FILE
    lines = path.read_text().splitlines()
    lines[3] = '{"step": 3, "test_loss": ' + value + "}"
    path.write_text("\n".join(lines) + "\n")
    for command in (("info", imported.path), ("report", imported.path)):
        res = cli(capsys, *command)
        assert res.code != 0
        one_line_error(res.err, CURVES_FILE)
