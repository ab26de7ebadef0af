"""Key components on trained runs: the default rule finds the set that carries the logits, on every group.

The fixtures under tests/fixtures/keys are small runs trained by grokkit itself (README.md there
says how): for each, one checkpoint before grokking and the last one after it.
"""

from __future__ import annotations

import math
import shutil
import warnings
from pathlib import Path

import pytest
import torch

from grokkit.analysis.fourier import fourier_basis
from grokkit.analysis.keys import EXPLAIN, explained_share, keys_by_share, select_keys
from grokkit.data.dataset import TaskConfig
from grokkit.measures.keycheck import KeyWarning
from grokkit.measures.offline import measure_model, measure_run
from grokkit.run import Run

FIXTURES = Path(__file__).parent / "fixtures" / "keys"
TASKS = ("add", "mul", "div", "s5_compose")


def fixture_run(name: str, tmp_path: Path) -> Run:
    """A writable copy of a fixture run (measuring writes measures.jsonl into it)."""
    shutil.copytree(FIXTURES / name, tmp_path / name)
    return Run(tmp_path / name)


@pytest.mark.parametrize("name", TASKS)
def test_default_keys_carry_the_logits_before_and_after_grokking(name, tmp_path):
    run = fixture_run(name, tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("error", KeyWarning)  # the self-check must pass with the default keys
        pre, post = measure_run(run, ["loss", "restricted"])
    assert pre["key_rule"] == "logits" and pre["key_freqs_source"] == "final"
    assert pre["test_acc"] < 0.9 and post["test_acc"] >= 0.99  # one checkpoint before grokking, one after
    assert pre["restricted_loss"] < pre["test_loss"]  # the circuit predicts before the model does
    assert post["restricted_loss"] < min(post["test_loss"], 1e-2)  # ≈ 0: the keys carry the whole answer
    assert pre["keys_explained"] < post["keys_explained"]
    # The keys hold nearly all that the group's components hold together; that total is below 1 where
    # part of the table is no function of the answer (div 0.94, S5 0.63: its keys sign and standard).
    assert post["keys_explained"] > 0.95 * all_components_share(run)


def all_components_share(run: Run) -> float:
    """Σ_k share_k over every component of the task's group, at the last checkpoint."""
    from grokkit.analysis.groups import group_for
    from grokkit.analysis.groups.base import component_logit_shares, group_grid

    model, ds = run.load_model(), run.dataset
    group = group_for(ds.cfg)
    grid = group_grid(group, ds)
    with torch.no_grad():
        logits = model(ds.tokens)[grid.rows, -1, : ds.cfg.n_symbols]
    return float(component_logit_shares(group.basis, grid.labels, logits).sum())


def test_a_share_is_not_a_margin_so_the_logits_rule_checks_the_restricted_loss(tmp_path):
    """add, p = 31: the top frequency explains 0.91 of the logits, but one circle cannot separate neighbours."""
    from grokkit.analysis.groups import group_for
    from grokkit.analysis.groups.base import group_grid

    run = fixture_run("add", tmp_path)
    model, ds = run.load_model(), run.dataset
    group = group_for(ds.cfg)
    grid = group_grid(group, ds)
    with torch.no_grad():
        logits = model(ds.tokens)[grid.rows, -1]
    by_share = select_keys("logits", group.basis, grid.labels, logits, explain=0.9)  # no loss check
    assert by_share.keys == [13] and 0.9 <= by_share.explained < 0.91
    checked = select_keys("logits", group.basis, grid.labels, logits, explain=0.9, targets=ds.labels[grid.rows])
    assert checked.keys == [11, 13] and checked.explained > 0.98
    with warnings.catch_warnings():
        warnings.simplefilter("error", KeyWarning)
        row = measure_run(run, ["loss", "restricted"], explain=0.9)[-1]
    assert row["key_freqs"] == [11, 13] and row["restricted_loss"] < row["test_loss"]
    with pytest.warns(KeyWarning, match=r"restricted loss 0\.8.*the components \[11, 13\] explain 0\.99"):
        measure_run(run, ["loss", "restricted"], key_freqs=[13])


def test_measure_model_warns_on_keys_that_miss_the_circuit(tmp_path):
    run = fixture_run("add", tmp_path)
    model = run.load_model()
    with pytest.warns(KeyWarning, match=r"key components \[13\] do not carry.*\[11, 13\]"):
        row = measure_model(model, run.dataset, ["loss", "restricted"], key_freqs=[13])
    assert row["key_rule"] == "user" and row["restricted_loss"] > row["test_loss"]
    with warnings.catch_warnings():
        warnings.simplefilter("error", KeyWarning)
        assert measure_model(model, run.dataset, ["loss", "restricted"])["key_freqs"] == [11, 13]


def test_cli_and_report_show_the_keys_the_share_and_the_self_check(tmp_path, capsys):
    from grokkit.cli import main
    from grokkit.report.html import write_report

    run = fixture_run("add", tmp_path)
    assert main(["measure", str(run.path), "--measures", "loss,restricted", "--key-freqs", "13", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "keys     [13], explain 0.908 of the logit table at step 4225 (given by the user)" in out
    assert "warning: key components [13] do not carry the logits" in out and "--key-freqs 11,13" in out
    assert main(["info", str(run.path)]) == 0
    assert "warning: grokked, but restricted loss" in capsys.readouterr().out
    page = write_report(run).read_text()
    assert "Warning: the key components miss the circuit." in page and "[11, 13]" in page
    assert main(["measure", str(run.path), "--measures", "loss,restricted", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "keys     [11, 13], explain 0.987 of the logit table at step 4225 (logits rule, final)" in out
    assert "warning" not in out
    page = write_report(run).read_text()
    assert "miss the circuit" not in page and "11, 13 (explain 0.987 of the logit table at step 4225; logits rule)" in page


def test_mul_p59_default_keys_include_the_harmonic_carrying_frequency_14(tmp_path):
    """The issue's run (``mul_cpu.toml``, frac_train 0.45, lr 2e-3): neurons at k = 14 keep much of their mass
    in the harmonic 28, so the neuron rule drops 14; the default rule keeps it (README.md of the fixtures)."""
    run = fixture_run("mul59", tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("error", KeyWarning)
        (row,) = measure_run(run, ["loss", "restricted"])
    assert row["key_freqs"] == [1, 2, 14] and row["keys_explained"] == pytest.approx(0.946, abs=1e-3)
    assert row["restricted_loss"] < row["test_loss"]
    neurons = measure_run(run, ["loss", "restricted"], rule="neurons")[0]
    assert 14 not in neurons["key_freqs"] and neurons["restricted_loss"] > math.log(59)  # worse than uniform


def test_keys_by_share_keeps_the_largest_until_the_target():
    shares = torch.tensor([0.04, 0.73, 0.0, 0.01, 0.17, 0.05], dtype=torch.float64)
    assert keys_by_share(shares, 0.9) == [2, 5]  # 0.73 + 0.17
    assert keys_by_share(shares, 0.95) == [2, 5, 6]  # + 0.05
    assert keys_by_share(shares, 0.96) == [1, 2, 5, 6]  # + 0.04
    assert keys_by_share(shares, 1.0) == [1, 2, 4, 5, 6]  # 0.01: at the floor, kept; 0.0 never
    assert keys_by_share(shares, 1.0, min_share=0.02) == [1, 2, 5, 6]  # below the floor: noise
    assert explained_share(shares, [2, 5]) == pytest.approx(0.90)


def test_a_frequency_whose_neurons_carry_a_harmonic_is_missed_by_neurons_and_found_by_logits():
    """Neurons at k = 3 with a third of their mass at 2k = 6: never 'explained' (> 0.85), yet k = 3 writes the logits."""
    from grokkit.data.dataset import AlgorithmicDataset

    p, k = 13, 3
    ds = AlgorithmicDataset(TaskConfig(op="add", p=p, frac_train=0.5))
    basis = fourier_basis(p)
    phase = (ds.x + ds.y).double() * (2 * math.pi / p)
    acts = torch.stack([torch.cos(k * phase + s) + 0.7 * torch.cos(2 * k * phase + 2 * s) for s in (0.0, 1.0, 2.0)],
                       dim=1)  # [p², 3]
    c = torch.arange(p, dtype=torch.float64) * (2 * math.pi / p)
    logits = torch.cos(k * (phase[:, None] - c[None, :])) * 5  # the circuit's output: frequency k only
    neurons = select_keys("neurons", basis, ds.labels, logits, acts=lambda: acts)
    assert k not in neurons.keys and neurons.explained == 0.0
    found = select_keys("logits", basis, ds.labels, logits)
    assert found.keys == [k] and found.explained == pytest.approx(1.0)


def test_report_info_and_measure_tell_one_story(tmp_path, capsys):
    """The same milestones and phases in ``info``, ``measure`` and the report, from the stored metrics."""
    from grokkit.cli import main
    from grokkit.report.summary import summarise
    from grokkit.report.collect import collect

    run = fixture_run("add", tmp_path)
    assert main(["measure", str(run.path), "--measures", "loss,restricted,excluded", "--no-progress"]) == 0
    measured = capsys.readouterr().out.splitlines()
    assert main(["info", str(run.path)]) == 0
    shown = capsys.readouterr().out.splitlines()
    story = [line for line in shown if line.startswith(("99%", "phases", "  (paper)", "keys"))]
    assert len(story) == 4 and all(line in measured for line in story)
    summary, data = summarise(run), collect(run)
    ends = [summary["phases"][k] for k in ("memorisation_end", "circuit_formation_end", "cleanup_end")]
    assert [band.end for band in data.phases] == ends and None not in ends
    assert (summary["train_acc_99_step"], summary["test_acc_99_step"]) == tuple(data.milestones) == (100, 3925)
    assert data.paper_phases.describe() and summary["paper_phases"]["memorisation_end"] == data.paper_phases.memorisation_end
