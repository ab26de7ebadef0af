"""Every view on a capacity study folder: `grokkit info`, `report`, `compare`, `resume`, Python
(`grokkit.load_study`, `grokkit.plots.capacity`); every damaged or foreign file refused in one line."""

from __future__ import annotations

import json
import shutil

import pytest
import torch

from conftest import cli, one_line_error, write_spec

SPEC = """
[capacity]
K = 4
d_T = 3
[train]
steps = 20
batch_size = 64
lr = 2e-2
warmup_steps = 5
[stack]
widths = [1, 2, 6]
seeds = 2
[measures]
eval_every = 10
interference_batch = 32
"""
INJECTED = ["injection.gaps=[3, 5]", "stack.widths=[2, 6]", "capacity.K=8", "train.batch_size=128"]
QUIET = dict(log=lambda *_: None)


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    """One finished 20-step study (6 models, β = 1); copy it before writing to it."""
    from grokkit.capacity import load_capacity_spec, run_study

    root = tmp_path_factory.mktemp("capacity-views")
    return run_study(load_capacity_spec(write_spec(root, SPEC)), root / "study", **QUIET).path


@pytest.fixture
def copy(study, tmp_path):
    shutil.copytree(study, tmp_path / "copy")
    return tmp_path / "copy"


def test_info_says_what_the_study_is_and_the_learned_widths_beside_the_prediction(study, capsys):
    result = cli(capsys, "info", study)
    assert result.code == 0, result.err
    out = result.out
    assert "capacity study" in out and "K = 4 tasks × d_T = 3 (D = 12)" in out and "rare task 4" in out
    assert "6 models: widths [1, 2, 6] × 2 seed(s)" in out and "20 trained" in out
    assert "F = tasks [1, 2, 3]" in out and "critical width (Prop. 6)" in out and "δ_F measured / predicted" in out
    assert f"report   {study / 'report.html'}" in out
    as_json = json.loads(cli(capsys, "info", study, "--json").out)
    from grokkit.capacity.theory import mixture_theory
    from grokkit import load_study

    loaded = load_study(study)
    theory = mixture_theory(loaded.spec.capacity, 1.0)
    tasks = as_json["theory"][0]["tasks"]
    assert [t["predicted_learned_width"] for t in tasks] == theory.learned_width(0.5)
    assert [t["critical_width"] for t in tasks] == [theory.critical_width(k) for k in range(4)]
    assert as_json["steps"] == 20 and as_json["models"] == 6
    measured = loaded.summary["agreement"]["1.0"]["measured_learned_width"]
    assert [t["measured_learned_width"] for t in tasks] == [measured[str(k)] for k in range(1, 5)]
    final = [r for r in loaded.curves if r["step"] == 20 and r["N"] == 6]
    delta = next(d for d in as_json["theory"][0]["delta_F"] if d["N"] == 6)
    assert delta["measured"] == pytest.approx(sum(r["delta_F"] for r in final) / 2)


def test_report_rerenders_the_page_from_the_folder(copy, tmp_path, capsys):
    (copy / "report.html").unlink()
    result = cli(capsys, "report", copy)
    assert result.code == 0, result.err
    assert "Learned subspace signal s_k over task × width" in (copy / "report.html").read_text()
    elsewhere = cli(capsys, "report", copy, "--out", tmp_path / "pages" / "study.html")
    assert elsewhere.code == 0 and (tmp_path / "pages" / "study.html").is_file()
    refused = cli(capsys, "report", copy, "--step", "10")
    assert refused.code == 2
    one_line_error(refused.err, "--step", "no checkpoints")


def test_compare_puts_two_studies_side_by_side_and_refuses_a_run(study, tmp_path, capsys):
    from grokkit.capacity import load_capacity_spec, run_study

    other = run_study(load_capacity_spec(write_spec(tmp_path, SPEC), ["stack.betas=[2.0]"]), tmp_path / "b",
                      **QUIET).path
    result = cli(capsys, "compare", study, other, "--out", f"{tmp_path}/pages/")
    assert result.code == 0, result.err
    assert "differs  stack.betas: None (A) | [2.0] (B)" in result.out
    assert "β = 1.0 (A) | 2.0 (B)" in result.out
    page = (tmp_path / "pages" / "compare.html").read_text()
    assert "Settings that differ" in page and "learned width predicted (B)" in page and "plotly-graph-div" in page
    from conftest import tiny_run

    refused = cli(capsys, "compare", study, tiny_run().path)
    assert refused.code == 2
    one_line_error(refused.err, "a grokkit run, not a capacity study", "no widths × tasks")
    lone = cli(capsys, "compare", study)
    assert lone.code == 2
    one_line_error(lone.err, "two capacity studies")


def test_python_views_read_the_study(study):
    import grokkit
    import grokkit.plots as gp

    loaded = grokkit.load_study(study)
    assert loaded.steps == 20 and len(loaded.members) == 6 and loaded.extended == []
    curve = loaded.curve("s", task=1, N=6, seed=0)
    assert [step for step, _ in curve] == [0, 10, 20] and all(0 <= s <= 1 for _, s in curve)
    models = loaded.models()
    assert models.W.shape == (6, 6, 12)
    # the weights are the trained ones: the measured signal is the signal of these weights
    from grokkit.capacity.measures import normalised_losses

    final = [r for r in loaded.curves if r["step"] == 20]
    assert normalised_losses(models)[0].tolist() == pytest.approx(final[0]["loss_norm"], rel=1e-5)
    assert {"phase_beta1.0", "loss_beta1.0", "interference"} <= set(gp.capacity(loaded))
    with pytest.raises(grokkit.GrokkitError, match="a capacity study, not a transformer run.*load_study"):
        grokkit.load_run(study)


def test_resume_is_bit_identical_to_training_on_in_one_go(tmp_path, capsys):
    """2n steps in one go == n steps, then `grokkit resume --steps 2n`: weights, optimiser and generator states,
    every curve and injection row, bit for bit (with injection gaps, two seeds, two widths)."""
    from grokkit.capacity import load_capacity_spec, load_study, run_study
    from grokkit.capacity.folder import CapacityFolder

    spec_file = write_spec(tmp_path, SPEC)
    run_study(load_capacity_spec(spec_file, INJECTED), tmp_path / "halves", **QUIET)
    run_study(load_capacity_spec(spec_file, INJECTED + ["train.steps=40"]), tmp_path / "whole", **QUIET)
    result = cli(capsys, "resume", tmp_path / "halves", "--steps", "40", "--no-progress")
    assert result.code == 0, result.err
    assert "40 trained (resumed at 20)" in result.out
    halves, whole = CapacityFolder(tmp_path / "halves"), CapacityFolder(tmp_path / "whole")
    for mine, theirs in ((halves.weights(), whole.weights()), (halves.state(), whole.state())):
        assert mine.keys() == theirs.keys()
        assert all(torch.equal(mine[k], theirs[k]) for k in mine)
    a, b = load_study(halves.path), load_study(whole.path)
    assert a.curves == b.curves and a.injections == b.injections and a.results == b.results
    assert a.steps == 40 and a.extended == [{"from_step": 20, "to_step": 40}]
    assert len(a.injections) > 0
    again = cli(capsys, "resume", halves.path, "--steps", "40")
    assert again.code == 2
    one_line_error(again.err, "--steps", "40 steps already")
    plain = cli(capsys, "resume", halves.path)
    assert plain.code == 0 and "finished at step 40" in plain.out
    sets = cli(capsys, "resume", halves.path, "--steps", "60", "--set", "train.lr=1")
    assert sets.code == 2
    one_line_error(sets.err, "--set train.lr=1", "--steps N only")


def _edit_json(path, change):
    record = json.loads(path.read_text())
    change(record)
    path.write_text(json.dumps(record))


def _edit_line(path, index, change):
    lines = path.read_text().splitlines()
    row = json.loads(lines[index])
    change(row)
    lines[index] = json.dumps(row)
    path.write_text("\n".join(lines) + "\n")


def _flip_byte(path):
    data = bytearray(path.read_bytes())
    data[-3] ^= 0xFF
    path.write_bytes(bytes(data))


DAMAGE = {
    "foreign spec": ("capacity.json", lambda p: _edit_json(p, lambda r: r.update(format="grokkit-toy")), "format tag"),
    "spec field": ("capacity.json", lambda p: _edit_json(p, lambda r: r["spec"]["capacity"].update(K=0)),
                   "capacity.K"),
    "unfinished": ("summary.json", lambda p: p.unlink(), "not a finished grokkit capacity study"),
    "summary steps": ("summary.json", lambda p: _edit_json(p, lambda r: r["summary"].update(steps=7)), "7 steps"),
    "theory": ("theory.json", lambda p: _edit_json(p, lambda r: r["theory"][0].update(F=[1])), "not the theory"),
    "truncated curves": ("curves.jsonl", lambda p: p.write_text(p.read_text()[:-40]), "not JSON lines"),
    "foreign curves": ("curves.jsonl", lambda p: p.write_text('{"step": 0, "train_loss": 1.0}\n'), "lacks member"),
    "other member": ("curves.jsonl", lambda p: _edit_line(p, 0, lambda r: r.update(N=5)), "member 0 is"),
    "short list": ("curves.jsonl", lambda p: _edit_line(p, 1, lambda r: r.update(s=[0.5])), "K = 4 numbers"),
    "not a number": ("curves.jsonl", lambda p: _edit_line(p, 2, lambda r: r.update(delta_F="x")), "'delta_F'"),
    "late step": ("curves.jsonl", lambda p: _edit_line(p, 2, lambda r: r.update(step=10**6)), "not a step"),
    "results": ("results.jsonl", lambda p: _edit_line(p, 0, lambda r: r.update(s=0.123)), "not the final"),
    "weights": ("weights.safetensors", _flip_byte, "SHA-256"),
    "state": ("state.safetensors", lambda p: p.write_bytes(p.read_bytes()[:100]), "SHA-256"),
    "no weights": ("weights.safetensors", lambda p: p.unlink(), "missing"),
}


@pytest.mark.parametrize("case", list(DAMAGE))
def test_a_damaged_or_foreign_file_is_refused_in_one_line_by_every_view(copy, tmp_path, capsys, case):
    name, damage, needle = DAMAGE[case]
    damage(copy / name)
    views = [("info", copy), ("report", copy), ("compare", copy, copy)]
    if name in ("weights.safetensors", "state.safetensors"):  # what info, report and compare do not read
        views = [("resume", copy, "--steps", "30")]
    for argv in views:
        result = cli(capsys, *argv)
        assert result.code == 2, (argv, result.out)
        one_line_error(result.err, needle)
