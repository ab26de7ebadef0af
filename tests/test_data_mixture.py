"""The task mixture's grid: tokens, per-task splits, Zipf weights and batches, and its one-line errors."""

from __future__ import annotations

import pytest
import torch

from conftest import cli, one_line_error, tiny_dict, write_spec

from grokkit.data.dataset import AlgorithmicDataset, TaskConfig
from grokkit.data.mixture import apportion, zipf_weights
from grokkit.errors import ConfigError

TASKS = [{"op": "add"}, {"op": "sub"}, {"op": "add", "offset": 3}, {"op": "mul", "p": 11}]


def mixture(**kw) -> TaskConfig:
    return TaskConfig(op="mixture", p=13, frac_train=0.5, mixture=[dict(t) for t in kw.pop("tasks", TASKS)], **kw)


def test_tokens_labels_and_layout():
    cfg = mixture()
    ds = AlgorithmicDataset(cfg)
    assert cfg.n_ctx == 4 and cfg.d_vocab_out == 13
    assert [t.token for t in cfg.mixture] == [13, 14, 15, 16] and cfg.eq_token == 17 and cfg.d_vocab == 18
    assert len(ds) == cfg.n_rows == 3 * 169 + 121
    for k, t in enumerate(cfg.mixture):
        view = ds.task_view(k)
        rows = ds.mixture.task_of == k
        assert bool((ds.tokens[rows, 0] == t.token).all()) and bool((ds.tokens[:, 3] == cfg.eq_token).all())
        a, b = view.x, view.y
        expect = {"add": (a + b + t.offset) % t.p, "sub": (a - b) % t.p, "mul": (a * b) % t.p}[t.op]
        assert torch.equal(view.labels, expect) and torch.equal(ds.labels[rows], expect)
        assert int(a.max()) == t.p - 1 and view.is_full_grid


def test_each_task_keeps_its_own_seeded_split():
    ds = AlgorithmicDataset(mixture())
    cfg = ds.cfg
    for k, (split, t) in enumerate(zip(ds.task_splits, cfg.mixture)):
        assert t.seed == cfg.seed + k and t.frac_train == 0.5
        alone = AlgorithmicDataset(cfg.task_config(k)).split  # the same split as the task alone
        lo = ds.mixture.starts[k]
        assert torch.equal(split.train - lo, alone.train) and torch.equal(split.test - lo, alone.test)
        assert bool((ds.mixture.task_of[split.train] == k).all())
    assert not set(ds.split.train.tolist()) & set(ds.split.test.tolist())
    assert len(ds.split.train) + len(ds.split.test) == len(ds)
    again = AlgorithmicDataset(mixture())
    assert torch.equal(again.split.train, ds.split.train)
    other = AlgorithmicDataset(mixture(tasks=[{"op": "add", "seed": 5}, *TASKS[1:]]))
    assert not torch.equal(other.task_splits[0].train, ds.task_splits[0].train)
    assert torch.equal(other.task_splits[1].train, ds.task_splits[1].train)


def test_zipf_weights_in_the_loss_and_in_each_batch():
    ds = AlgorithmicDataset(mixture(zipf_beta=1.5))
    pi = zipf_weights(4, 1.5)
    assert pi[0] / pi[3] == pytest.approx(4**1.5)
    w = ds.train_weights()
    assert w.sum().item() == pytest.approx(1.0)
    for k, split in enumerate(ds.task_splits):
        assert w[split.train].sum().item() == pytest.approx(pi[k]) and w[split.test].abs().sum() == 0
    counts = apportion(64, pi)
    assert sum(counts) == 64
    gen = torch.Generator().manual_seed(0)
    for _ in range(3):
        rows = ds.sample_batch(64, gen)
        assert len(set(rows.tolist())) == 64
        assert torch.bincount(ds.mixture.task_of[rows], minlength=4).tolist() == counts
        assert bool(torch.isin(rows, ds.split.train).all())


def test_rows_frequency_puts_zipf_in_the_data():
    cfg = mixture(mixture_frequency="rows", zipf_beta=1.0)
    ds = AlgorithmicDataset(cfg)
    n = [len(s.train) for s in ds.task_splits]
    total = sum(int(0.5 * t.p * t.p) for t in cfg.mixture)
    assert sum(n) == total and n == apportion(total, zipf_weights(4, 1.0))
    assert torch.allclose(ds.train_weights()[ds.split.train], torch.full((total,), 1 / total, dtype=torch.float64))


def test_single_task_weights_and_batches_are_unchanged():
    ds = AlgorithmicDataset(TaskConfig(p=13, frac_train=0.5))
    masks = ds.is_train_mask()
    assert torch.equal(ds.train_weights(), masks.double() / masks.sum().double())
    g1, g2 = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    train = ds.split.train
    assert torch.equal(ds.sample_batch(10, g1), train[torch.randperm(len(train), generator=g2)[:10]])


@pytest.mark.parametrize("change, needle", [
    ({"zipf_beta": 0}, "task.zipf_beta"),
    ({"zipf_beta": -1.0}, "task.zipf_beta"),
    ({"tasks": [{"op": "add", "token": 5}, {"op": "sub"}]}, "task.mixture[0].token"),
    ({"tasks": [{"op": "add", "token": 14}, {"op": "sub", "token": 14}]}, "task.mixture[1].token"),
    ({"tasks": [{"op": "add"}]}, "task.mixture"),
    ({"tasks": [{"op": "add"}, {"op": "add"}]}, "task.mixture[1]"),
    ({"tasks": [{"op": "add"}, {"op": "s5_compose"}]}, "task.mixture[1].op"),
    ({"tasks": [{"op": "add"}, {"op": "sub", "p": 17}]}, "task.mixture[1].p"),
    ({"tasks": [{"op": "add"}, {"op": "mul", "offset": 2}]}, "task.mixture[1].offset"),
    ({"tasks": [{"op": "add"}, {"op": "sub", "colour": 1}]}, "task.mixture[1].colour"),
    ({"tasks": [{"op": "add"}, {"op": "sub", "frac_train": 1.5}]}, "task.mixture[1].frac_train"),
    ({"tasks": [{"op": "add"}, {"op": "sub"}, {"op": "mul", "p": 3}], "mixture_frequency": "rows", "zipf_beta": 9.0},
     "rounds to 0 rows"),
    ({"mixture_frequency": "often"}, "task.mixture_frequency"),
])
def test_bad_mixtures_are_one_line_errors(change, needle):
    with pytest.raises(ConfigError, match=needle.replace("[", r"\[").replace("]", r"\]").replace(".", r"\.")):
        mixture(**change)


def test_a_batch_that_gives_a_task_no_row_is_refused_before_anything_is_written(tmp_path, capsys):
    spec = write_spec(tmp_path, "\n".join([
        '[task]', 'op = "mixture"', 'p = 13', 'zipf_beta = 3.0',
        '[[task.mixture]]', 'op = "add"', '[[task.mixture]]', 'op = "sub"', '[[task.mixture]]', 'op = "mul"',
        '[model]', 'd_model = 16', 'n_heads = 2', 'd_head = 8', 'd_mlp = 32',
        '[train]', 'steps = 2', 'batch_size = 10']))
    result = cli(capsys, "train", spec, "--out", tmp_path / "out")
    assert result.code != 0
    one_line_error(result.err, "train.batch_size", "task 2")
    assert not (tmp_path / "out").exists()
    result = cli(capsys, "train", spec, "--out", tmp_path / "out", "--set", "task.mixture=[{op='add'},{op='add',token=2}]")
    one_line_error(result.err, "task.mixture[1].token", "clashes with the vocabulary")
    assert not (tmp_path / "out").exists()


def test_config_round_trips_through_json():
    from grokkit.spec import config_from_dict

    cfg = config_from_dict(tiny_dict(task={"op": "mixture", "mixture": [{"op": "add"}, {"op": "sub", "offset": 2}]}))
    again = config_from_dict(cfg.to_dict())
    assert again.to_dict() == cfg.to_dict() and again.task.mixture[1].offset == 2
    assert cfg.to_dict()["task"]["mixture"][1] == {"op": "sub", "p": 13, "offset": 2, "frac_train": 0.5, "seed": 599,
                                                   "token": 14}


@pytest.mark.parametrize("section, needle", [({"model": {"kind": "mlp"}}, "model.kind"),
                                             ({"measures": {"live": ["all"]}}, "measures.live")])
def test_a_mixture_refuses_what_it_cannot_do(section, needle):
    from grokkit.spec import config_from_dict

    with pytest.raises(ConfigError, match=needle):
        config_from_dict({"task": {"op": "mixture", "p": 13, "mixture": [{"op": "add"}, {"op": "sub"}]}, **section})
