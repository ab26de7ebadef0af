"""Runs of different widths in one stack (``grokkit.model.pad``): each padded member trains as it trains
alone (to float tolerance), its padded entries stay exactly 0, and a padded stack resumes bit-identically."""

import pytest
import torch

from conftest import interrupt_at
from grokkit.data.dataset import AlgorithmicDataset
from grokkit.train.runs import stack_key, train_runs
from grokkit.train.trainer import build_stack
from grokkit.model.build import build_model
from grokkit.model.pad import Widths, resize
from grokkit.run import Run
from grokkit.spec import config_from_dict
from grokkit.sweep.batches import plan_batches

# d_model, d_mlp and d_head all differ (n_heads 2); the second is the widest in every width but d_mlp
WIDTHS = [{"d_model": 16, "d_mlp": 32, "d_head": 8}, {"d_model": 32, "d_mlp": 24, "d_head": 16},
          {"d_model": 24, "d_mlp": 64, "d_head": 4}]
PLAIN = {"op": "add", "p": 13, "frac_train": 0.5}
MIXTURE = {"op": "mixture", "p": 11, "frac_train": 0.6, "zipf_beta": 1.0,
           "mixture": [{"op": "add"}, {"op": "mul"}, {"op": "sub"}]}


def configs(task, train=None, **model):
    return [config_from_dict({"task": task, "model": {"n_heads": 2, **w, **model},
                              "train": {"steps": 30, "eval_every": 10, "checkpoint_every": 10, "lr": 3e-3,
                                        **(train or {})}}) for w in WIDTHS]


def strip(rows):
    return [{k: v for k, v in r.items() if k != "wall_s"} for r in rows]


def test_resize_pads_each_head_and_crops_back():
    small, wide = Widths(4, 6, 2, 2), Widths(5, 8, 3, 2)
    w_q = torch.arange(16.0).view(4, 4)  # [H·dh, d_model] = [2·2, 4]
    padded = resize("blocks.0.attn.q.weight", w_q, small, wide)
    assert padded.shape == (6, 5)
    assert torch.equal(padded[[0, 1, 3, 4], :4], w_q)  # head 0 rows 0-1, head 1 rows 3-4
    assert padded[[2, 5]].abs().sum() == 0 and padded[:, 4].abs().sum() == 0
    assert torch.equal(resize("blocks.0.attn.q.weight", padded, wide, small), w_q)
    ring = torch.randn(3, 6, 4)  # leading axes (a filter's window) pass through
    assert torch.equal(resize("blocks.0.mlp.in.weight", resize("blocks.0.mlp.in.weight", ring, small, wide),
                              wide, small), ring)
    with pytest.raises(ValueError, match="no rule"):
        resize("embed_a.weight", torch.ones(4, 4), small, wide)  # the MLP kind's names


@pytest.mark.parametrize("task,model", [(PLAIN, {}), (MIXTURE, {}), (PLAIN, {"n_layers": 2, "layer_norm": True})],
                         ids=["add", "mixture", "deep-layernorm"])
def test_each_padded_member_equals_its_run_alone(tmp_path, task, model):
    cfgs = configs(task, {"grokfast": "ema", "weight_decay": 1.0}, **model)
    if model.get("layer_norm"):  # LayerNorm runs over d_model: only d_mlp and d_head pad
        cfgs = [config_from_dict({**c.to_dict(), "model": {**c.to_dict()["model"], "d_model": 24}}) for c in cfgs]
    stacked = [Run.create(tmp_path / f"stacked{i}", c) for i, c in enumerate(cfgs)]
    train_runs(stacked)
    for i, (config, s) in enumerate(zip(cfgs, stacked)):
        alone = Run.create(tmp_path / f"alone{i}", config)
        train_runs([alone])
        assert s.checkpoint_steps() == alone.checkpoint_steps() == [0, 10, 20, 30]
        for x, y in zip(s.metrics(), alone.metrics()):
            assert x.keys() == y.keys()
            for key in x:
                if key != "wall_s":
                    assert x[key] == pytest.approx(y[key], rel=1e-4, abs=1e-6), (i, x["step"], key)
        a, b = s.checkpoint(30, with_state=True), alone.checkpoint(30, with_state=True)
        assert a.model.keys() == b.model.keys() and a.state.keys() == b.state.keys()
        for k in b.model:  # the checkpoint is at the run's own widths
            assert a.model[k].shape == b.model[k].shape
            scale = b.model[k].abs().max().clamp_min(1e-12)
            assert float((a.model[k] - b.model[k]).abs().max() / scale) <= 1e-4, (i, k)
        for k in b.state:
            assert a.state[k].shape == b.state[k].shape, k
            assert torch.allclose(a.state[k].double(), b.state[k].double(), rtol=1e-3, atol=1e-7), (i, k)


def test_padded_entries_stay_exactly_zero_under_adamw_with_weight_decay():
    cfgs = configs(MIXTURE, {"weight_decay": 1.0, "lr": 1e-2})
    bridges = [build_model(c.model, c.task) for c in cfgs]
    datasets = [AlgorithmicDataset(c.task) for c in cfgs]
    state, weights = build_stack(cfgs, bridges, datasets, torch.device("cpu"))
    assert state.padding is not None and state.padding.to == Widths(32, 64, 16, 2)
    lr = torch.full((3,), 1e-2, dtype=torch.float64)
    for _ in range(5):
        state.step(lr, weights)
    for name, value in state.stack.items():
        mask = state.padding.masks[name]
        assert torch.equal(value.detach() * (1 - mask), torch.zeros_like(value)), name
        assert (value.detach() * mask).abs().sum() > 0, name
        for slot in state.optimizer.state.values():  # Adam's moments too
            assert torch.equal(slot[name] * (1 - mask), torch.zeros_like(value)), name


def test_an_interrupted_padded_stack_resumes_bit_identical(tmp_path):
    from grokkit.train.callbacks import Callback

    cfgs = configs(MIXTURE, {"grokfast": "ema"})
    whole = [Run.create(tmp_path / f"whole{i}", c) for i, c in enumerate(cfgs)]
    train_runs(whole)
    cut = [Run.create(tmp_path / f"cut{i}", c) for i, c in enumerate(cfgs)]
    stop = interrupt_at(20)

    class Stop(Callback):
        def on_checkpoint(self, run, step, model):
            if run.path == cut[-1].path:
                stop(step, model)

    with pytest.raises(KeyboardInterrupt):
        train_runs(cut, callbacks=[Stop()])
    train_runs(cut, resume=True)
    for a, b in zip(whole, cut):
        wa, wb = a.checkpoint(30, with_state=True), b.checkpoint(30, with_state=True)
        assert all(torch.equal(wa.model[k], wb.model[k]) for k in wa.model)
        assert all(torch.equal(wa.state[k], wb.state[k]) for k in wa.state)
        assert strip(a.metrics()) == strip(b.metrics())


def test_pad_widths_groups_widths_into_one_stack(tiny_config):
    cfgs = configs(PLAIN)
    assert len({stack_key(c) for c in cfgs}) == 3
    assert len({stack_key(c, pad_widths=True) for c in cfgs}) == 1
    pairs = [(f"r{i}", c) for i, c in enumerate(cfgs)]
    assert len(plan_batches(pairs, 8)) == 3 and len(plan_batches(pairs, 8, pad_widths=True)) == 1
    # LayerNorm averages over d_model: those widths do not pad, the MLP's do
    ln = configs(PLAIN, n_layers=2, layer_norm=True)
    assert len({stack_key(c, pad_widths=True) for c in ln}) == 3
    assert stack_key(tiny_config(model={"d_mlp": 128}), pad_widths=True) == stack_key(tiny_config(), pad_widths=True)
