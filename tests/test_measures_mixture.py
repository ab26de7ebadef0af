"""Measures of a task mixture: neurons per task on a constructed case, and every view on trained mixtures."""

from __future__ import annotations

import atexit
import functools
import json
import math
import shutil
import tempfile

import pytest
import torch

from conftest import cli, tiny_dict

from grokkit.measures.loss_spectrum import spectrum
from grokkit.measures.mixture import interference, neuron_tasks

TASKS = [{"op": "add"}, {"op": "sub"}, {"op": "add", "offset": 4}]


def test_neuron_tasks_on_a_constructed_case():
    torch.manual_seed(0)
    task_of = torch.tensor([0] * 40 + [1] * 40 + [2] * 20)
    wave = torch.randn(100)
    post = torch.zeros(100, 5)
    post[task_of == 0, 0] = wave[task_of == 0]  # varies only on task 0
    post[:, 1] = wave  # varies alike on every task: shared
    post[:, 2] = 3.0  # constant: dead
    post[task_of == 1, 3] = 5 * wave[task_of == 1]  # mostly task 1 …
    post[task_of != 1, 3] = 0.1 * wave[task_of != 1]  # … a little elsewhere
    post[task_of == 2, 4] = 2.0  # on for task 2 only, constant there: its variance lies on task 2's inputs
    owners = neuron_tasks(post, task_of, 3)
    assert owners.task.tolist() == [0, -1, -2, 1, 2]
    assert torch.allclose(owners.shares[:, [0, 1, 3, 4]].sum(0), torch.ones(4, dtype=torch.float64))
    # the shares are each task's mean square about the mean of the task means: for neuron 4, means (0, 0, 2)
    m = 2 / 3
    s = torch.tensor([m * m, m * m, (2 - m) ** 2])
    assert torch.allclose(owners.shares[:, 4], (s / s.sum()).double())


def test_interference_is_the_cosine_of_the_gradients():
    g = torch.tensor([[1.0, 0.0, 0.0], [1.0, 1.0, 0.0], [-2.0, 0.0, 0.0]], dtype=torch.float64)
    out = interference(g)
    assert out["grad_cos"] == pytest.approx({"0-1": 1 / math.sqrt(2), "0-2": -1.0, "1-2": -1 / math.sqrt(2)})
    assert out["grad_cos_mean"] == pytest.approx(-1.0 / 3) and out["grad_norm"]["2"] == pytest.approx(2.0)


@functools.lru_cache(maxsize=None)
def trained(variant: int):
    """Two small trained mixtures (other tasks, seeds, frequencies); measured once per session."""
    from grokkit.train.runs import train
    from grokkit.run import Run
    from grokkit.spec import config_from_dict

    path = tempfile.mkdtemp(prefix="grokkit-mixture-")
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    task = ({"op": "mixture", "mixture": TASKS, "zipf_beta": 1.0, "frac_train": 0.6} if variant == 0 else
            {"op": "mixture", "mixture": [{"op": "mul"}, {"op": "add", "p": 11}], "zipf_beta": 2.0,
             "frac_train": 0.7, "mixture_frequency": "rows"})
    config = config_from_dict(tiny_dict(task=task, model={"seed": variant},
                                        train={"steps": 120, "eval_every": 20, "checkpoint_every": 60,
                                               "lr": 3e-3, "device": "cpu"}))
    run = Run.create(f"{path}/run", config)
    train(run)
    return run


@pytest.mark.parametrize("variant", [0, 1])
def test_mixture_measures_on_trained_models(variant):
    from grokkit.measures.offline import measure_run
    from grokkit.model.run_weights import weights_of

    run = trained(variant)
    rows = measure_run(run)
    task = run.config.task
    assert [r["step"] for r in rows] == run.checkpoint_steps()
    metrics = {r["step"]: r for r in run.metrics()}
    d_mlp = run.config.model.d_mlp
    for row in rows:
        counted = row["neurons_shared"] + row["neurons_dead"]
        for k in range(len(task.mixture)):
            # the loss measure, in the task's group context, agrees with the trainer's per-task metrics
            # (on the same classes; a task with p_k < task.p is scored on its own p_k classes by the measures:
            # a softmax over fewer classes gives the label more probability, so a lower loss)
            for key in ("train_loss", "test_loss", "test_acc"):
                measured, logged = row[f"task{k}_{key}"], metrics[row["step"]][f"task{k}_{key}"]
                if task.mixture[k].p == task.p:
                    assert measured == pytest.approx(logged, rel=1e-4, abs=1e-6)
                elif key.endswith("loss"):
                    assert measured < logged
            t = task.mixture[k]
            assert row[f"task{k}_group"].startswith(f"Z_{t.p}*" if t.op == "mul" else f"Z_{t.p}")  # its own group
            assert sum(row[f"task{k}_neuron_components"].values()) == row[f"task{k}_neurons"]
            assert 0 <= row[f"task{k}_key_neurons"] <= row[f"task{k}_neurons"]
            counted += row[f"task{k}_neurons"]
        assert counted == d_mlp
        assert all(-1 - 1e-9 <= c <= 1 + 1e-9 for c in row["grad_cos"].values())
        for k in range(len(task.mixture)):  # the early warning reads task k's own training-loss curve
            logged = [m for m in run.metrics() if m["step"] <= row["step"]]
            expected = spectrum([m["step"] for m in logged], [m[f"task{k}_train_loss"] for m in logged])
            assert row[f"task{k}_loss_spectrum_low"] == (None if expected.loss_spectrum_low is None else
                                                         pytest.approx(expected.loss_spectrum_low, rel=1e-12))
    assert rows[-1]["task0_loss_spectrum_low"] is not None  # 7 logged losses by the last checkpoint
    # the interference of the last checkpoint, from the TransformerLens bridge's own forward and autograd
    model = run.load_model()
    ds = run.dataset
    grads = []
    for split, t in zip(ds.task_splits, task.mixture):
        model.zero_grad()
        logits = model(ds.tokens[split.train])[:, -1, : t.p]
        torch.nn.functional.cross_entropy(logits.double(), ds.labels[split.train]).backward()
        w = weights_of(model)
        shared = [i for i in range(task.d_vocab) if i < task.p or i == task.eq_token]
        parts = [w.W_E.grad[shared]] + [getattr(w, n).grad for n in w._fields
                                        if n != "W_E" and isinstance(getattr(w, n), torch.Tensor)
                                        and getattr(w, n).requires_grad]
        grads.append(torch.cat([g.reshape(-1).double() for g in parts]))
    cos = torch.nn.functional.cosine_similarity(grads[0], grads[1], dim=0).item()
    assert rows[-1]["grad_cos"]["0-1"] == pytest.approx(cos, abs=1e-4)


def test_every_view_works_on_a_mixture(capsys, tmp_path):
    import grokkit
    from grokkit.measures.offline import measure_model

    run = trained(0)
    result = cli(capsys, "measure", run.path, "--no-progress")
    assert result.code == 0, result.err
    assert "group    task 1: Z_13" in result.out and "task2" in result.out
    result = cli(capsys, "info", run.path)
    assert result.code == 0 and "mixture of 3 tasks" in result.out and "task0    add p 13" in result.out
    summary = json.loads(cli(capsys, "info", run.path, "--json").out)
    assert [t["op"] for t in summary["tasks"]] == ["add", "sub", "add"] and summary["tasks"][2]["offset"] == 4
    result = cli(capsys, "report", run.path, "--out", tmp_path / "r.html")
    assert result.code == 0, result.err
    page = (tmp_path / "r.html").read_text()
    for title in ("Accuracy per task", "Neurons per task", "Gradient interference"):
        assert title in page
    loaded = grokkit.load_run(run.path)
    model = loaded.load_model()
    logits, cache = model.run_with_cache(loaded.dataset.tokens)
    assert logits.shape == (len(loaded.dataset), 4, 13) and "blocks.0.mlp.hook_post" in cache
    row = measure_model(model, loaded.dataset, ["restricted", "neuron_tasks"])
    assert "task1_restricted_loss" in row and "task0_neurons" in row
    last = loaded.measures()[-1]  # the last checkpoint's keys are the final ones: the same row
    assert row["task1_key_freqs"] == last["task1_key_freqs"]
    assert row["task1_restricted_loss"] == pytest.approx(last["task1_restricted_loss"], rel=1e-6)


def test_a_mixture_is_not_exported_to_the_papers_format(tmp_path):
    """The paper's checkpoint file holds one task (its fn_name): a mixture is refused in one line, nothing written."""
    from grokkit.errors import RunError
    from grokkit.importer.export import write_paper_file

    with pytest.raises(RunError, match="mixture") as info:
        write_paper_file(trained(0), tmp_path / "paper.pth")
    assert "\n" not in str(info.value) and not (tmp_path / "paper.pth").exists()


def test_measures_that_need_a_b_positions_are_refused(capsys):
    from conftest import one_line_error

    result = cli(capsys, "measure", trained(0).path, "--measures", "gradient_symmetricity")
    assert result.code != 0
    one_line_error(result.err, "gradient_symmetricity", "mixture")


def test_grokkit_run_trains_measures_and_reports_a_mixture(tmp_path, capsys):
    from conftest import tiny_toml, write_spec

    spec = write_spec(tmp_path, tiny_toml(task={"op": "mixture", "p": 7, "frac_train": 0.6}, train={"steps": 20})
                      + '[[task.mixture]]\nop = "add"\n[[task.mixture]]\nop = "sub"\n')
    result = cli(capsys, "run", spec, "--out", tmp_path / "run", "--no-progress")
    assert result.code == 0, result.err
    assert "task1    sub p 7" in result.out and (tmp_path / "run" / "report.html").is_file()
    again = cli(capsys, "run", spec, "--out", tmp_path / "run", "--no-progress")
    assert "already covers every checkpoint" in again.out
