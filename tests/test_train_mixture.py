"""Training a task mixture: per-task metrics, a resumed run bit-identical to an uninterrupted one, a stack."""

from __future__ import annotations

import pytest
import torch

from conftest import final_weights, interrupt_at, same_run, tiny_dict

from grokkit.train.runs import train_runs
from grokkit.run import Run
from grokkit.spec import config_from_dict

TASKS = [{"op": "add"}, {"op": "sub"}, {"op": "add", "offset": 4}]


def mixture_config(**train):
    return config_from_dict(tiny_dict(task={"op": "mixture", "mixture": TASKS, "zipf_beta": 1.0},
                                      train={"steps": 30, "device": "cpu", **train}))


def test_per_task_metrics_match_the_tasks_rows(tmp_path):
    from grokkit.model.loss import loss_and_acc

    run = Run.create(tmp_path / "run", mixture_config())
    train_runs([run])
    row = run.metrics()[-1]
    ds = run.dataset
    logits = run.load_model()(ds.tokens)[:, -1]
    for k, split in enumerate(ds.task_splits):
        for name, rows in (("train", split.train), ("test", split.test)):
            loss, acc = loss_and_acc(logits[rows], ds.labels[rows])
            assert row[f"task{k}_{name}_loss"] == pytest.approx(loss.item(), rel=1e-5)
            assert row[f"task{k}_{name}_acc"] == pytest.approx(acc.item())
    n = [len(s.train) for s in ds.task_splits]
    assert row["train_acc"] == pytest.approx(sum(row[f"task{k}_train_acc"] * n[k] for k in range(3)) / sum(n))


def test_the_loss_weighs_each_task_by_its_frequency(tmp_path):
    """One full-batch step's gradient is Σ_k π_k ∇(task k's mean loss)."""
    from grokkit.train.trainer import build_stack
    from grokkit.model.build import build_model

    config = mixture_config()
    run = Run.create(tmp_path / "run", config)
    ds = run.dataset
    state, weights = build_stack([config], [build_model(config.model, config.task)], [ds], torch.device("cpu"))
    union = state.grid.union
    from grokkit.data.mixture import zipf_weights

    pi = zipf_weights(3, 1.0)
    for k, split in enumerate(ds.task_splits):
        cols = (ds.mixture.task_of[union] == k)
        assert weights[0, cols].sum().item() == pytest.approx(pi[k])
        assert torch.allclose(weights[0, cols], torch.full((len(split.train),), pi[k] / len(split.train),
                                                           dtype=torch.float64))


@pytest.mark.parametrize("train", [{}, {"batch_size": 60}])
def test_a_resumed_mixture_is_bit_identical(tmp_path, train):
    config = mixture_config(**train)
    whole = Run.create(tmp_path / "whole", config)
    train_runs([whole])
    cut = Run.create(tmp_path / "cut", config)
    from grokkit.train.runs import train

    with pytest.raises(KeyboardInterrupt):
        train(cut, on_checkpoint=interrupt_at(10))
    train(cut, resume=True)
    same_run(whole.path, cut.path)


def test_a_stack_of_mixtures_equals_its_runs_alone(tmp_path):
    configs = [mixture_config(), config_from_dict(tiny_dict(
        task={"op": "mixture", "mixture": TASKS, "zipf_beta": 2.0, "seed": 7},
        model={"seed": 5}, train={"steps": 30, "device": "cpu"}))]
    stacked = [Run.create(tmp_path / f"s{i}", c) for i, c in enumerate(configs)]
    train_runs(stacked)
    for i, c in enumerate(configs):
        alone = Run.create(tmp_path / f"a{i}", c)
        train_runs([alone])
        wa, wb = final_weights(alone.path), final_weights(stacked[i].path)
        assert all(torch.allclose(wa[k], wb[k], atol=1e-6) for k in wa)
