"""The vectorised trainer: each run of a stack equals its solo training, and writes an ordinary run."""

import os

import pytest
import torch
from safetensors.torch import load_file

from grokkit.errors import ConfigError
from grokkit.multirun import stack_key, train_many
from grokkit.multirun.model import stack_bridges, stacked_last_logits
from grokkit.run import Run
from grokkit.train.trainer import train

# Solo and stacked training sum in different orders (bmm against mm), so they agree to
# float32 rounding, not bitwise; on CPU at these sizes they are usually exactly equal.
RTOL = 1e-4  # |Δθ| / max|θ| per tensor after 40 steps
ADAM_RTOL = 1e-3  # where Adam normalises gradients that cancel to rounding level (see its use)


def relative_gap(a, b, step):
    wa, wb = a.checkpoint(step).model, b.checkpoint(step).model
    return max(float((wa[k] - wb[k]).abs().max() / wa[k].abs().max().clamp_min(1e-12)) for k in wa)


def final_weights(run):
    step = sorted(os.listdir(run.path / "checkpoints"))[-1]
    return load_file(str(run.path / "checkpoints" / step / "model.safetensors"))


def assert_close_runs(a, b, rtol=RTOL):
    wa, wb = final_weights(a), final_weights(b)
    assert wa.keys() == wb.keys()
    for k in wa:
        scale = wa[k].abs().max().clamp_min(1e-12)
        assert ((wa[k] - wb[k]).abs().max() / scale) <= rtol, k
    ra, rb = a.metrics(), b.metrics()
    assert [r["step"] for r in ra] == [r["step"] for r in rb]
    for x, y in zip(ra, rb):
        for key in ("train_loss", "test_loss", "train_acc", "test_acc", "lr"):
            assert y[key] == pytest.approx(x[key], rel=rtol / 10, abs=1e-9), (x["step"], key)


def variants(tiny_config, **common):
    train_common = common.get("train", {})
    return [
        tiny_config(train=dict(train_common)),
        tiny_config(train={"lr": 3e-3, "weight_decay": 0.3, **train_common}),
        tiny_config(task={"frac_train": 0.7}, model={"seed": 5, "init_scale": 0.7},
                    train={"warmup_steps": 0, "weight_decay": 0.0, **train_common}),
    ]


@pytest.mark.parametrize("model", [{}, {"d_model": 8, "d_head": 4, "train_biases": True}])  # folded / plain order
def test_stacked_forward_matches_solo_forward(tiny_config, model):
    from grokkit.data.dataset import AlgorithmicDataset
    from grokkit.model.build import build_model
    from grokkit.model.fast import last_logits, weights_of

    configs = [tiny_config(model={**model, "seed": s, "init_scale": 1 + s / 4}) for s in range(3)]
    bridges = [build_model(c.model, c.task) for c in configs]
    for bridge in bridges:  # non-zero trained biases, so they are exercised too
        for p in bridge.parameters():
            if p.requires_grad and p.dim() == 1:
                p.data.normal_()
    grid = AlgorithmicDataset(configs[0].task).tokens
    mixed = torch.randint(0, 14, (50, 3))  # a last token that varies: the general (gather) path
    for x in (grid, mixed):
        stacked = stacked_last_logits(stack_bridges(bridges), x)
        for i, bridge in enumerate(bridges):
            assert torch.allclose(stacked[i], last_logits(weights_of(bridge), x), atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("accel", [{}, {"grokfast": "ema", "orthograd": True}, {"grokfast": "ma", "grokfast_window": 5,
                                                                             "loss": "stablemax"}])
def test_each_stacked_run_matches_its_solo_training(tmp_path, tiny_config, accel):
    configs = variants(tiny_config, train=accel)
    solo = []
    for i, config in enumerate(configs):
        run = Run.create(tmp_path / f"solo{i}", config)
        train(run, progress=False)
        solo.append(run)
    stacked = [Run.create(tmp_path / f"multi{i}", c) for i, c in enumerate(configs)]
    results = train_many(stacked, progress=False)
    assert [r.final_step for r in results] == [40, 40, 40]
    for a, b in zip(solo, stacked):
        assert_close_runs(a, b)
        assert b.status()["finished"] and b.checkpoint_steps() == a.checkpoint_steps()
        assert sorted(a.checkpoint(40, with_state=True).state) == sorted(b.checkpoint(40, with_state=True).state)


def test_chunking_the_stack_over_runs_changes_nothing(tmp_path, tiny_config, monkeypatch):
    import grokkit.multirun.trainer as multirun_trainer

    configs = variants(tiny_config)
    whole = [Run.create(tmp_path / f"whole{i}", c) for i, c in enumerate(configs)]
    train_many(whole, progress=False)
    # a budget of one row: every forward, backward and evaluation takes one run at a time
    monkeypatch.setattr(multirun_trainer, "ROW_BUDGET", {"cuda": 1, "cpu": 1})
    chunked = [Run.create(tmp_path / f"chunked{i}", c) for i, c in enumerate(configs)]
    train_many(chunked, progress=False)
    for a, b in zip(whole, chunked):
        assert_close_runs(a, b)


def test_runs_leave_the_stack_when_done(tmp_path, tiny_config):
    configs = [
        tiny_config(task={"p": 7, "frac_train": 0.9}, train={"steps": 300, "lr": 1e-2, "early_stop_after": 20,
                                                             "early_stop_acc": 0.5}),
        tiny_config(task={"p": 7, "frac_train": 0.5}, train={"steps": 30, "lr": 1e-2}),
        tiny_config(task={"p": 7, "frac_train": 0.5}, train={"steps": 60, "eval_every": 20, "checkpoint_every": 30}),
    ]
    solo = [Run.create(tmp_path / f"solo{i}", c) for i, c in enumerate(configs)]
    for run in solo:
        train(run, progress=False)
    stacked = [Run.create(tmp_path / f"multi{i}", c) for i, c in enumerate(configs)]
    results = train_many(stacked, progress=False)
    assert results[0].stopped_early and results[0].final_step < 300
    assert [r.final_step for r in results[1:]] == [30, 60]
    for a, b in zip(solo, stacked):
        # lr 1e-2 on p = 7 is chaotic, so weights are compared early and the runs' outcomes at the end.
        # With 7 classes, entries of W_out's gradient cancel to ~1e-11, where Adam's m/√v turns the
        # rounding of the folded forward into updates of the order of lr: 3e-5 of 0.35 by step 10.
        # (The 60-step run has no step-20 checkpoint: it is compared at step 30.)
        step = 30 if a.config.train.steps == 60 else 20
        assert relative_gap(a, b, step) <= ADAM_RTOL
        assert a.checkpoint_steps() == b.checkpoint_steps()
        assert a.status() == b.status()


def test_interrupted_stack_resumes_bit_identical(tmp_path, tiny_config):
    configs = variants(tiny_config, train={"grokfast": "ema"})
    whole = [Run.create(tmp_path / f"whole{i}", c) for i, c in enumerate(configs)]
    train_many(whole, progress=False)
    cut = [Run.create(tmp_path / f"cut{i}", c) for i, c in enumerate(configs)]

    def interrupt(step, model):
        if step == 20:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):  # run 0 stops at 20 before runs 1, 2 write theirs: common step is 10
        train_many(cut, progress=False, on_checkpoint=[interrupt, None, None])
    assert cut[0].checkpoint_steps()[-1] == 20 and cut[1].checkpoint_steps()[-1] == 10
    train_many(cut, resume=True, progress=False)
    for a, b in zip(whole, cut):
        wa, wb = final_weights(a), final_weights(b)
        assert all(torch.equal(wa[k], wb[k]) for k in wa)
        strip = lambda rows: [{k: v for k, v in r.items() if k != "wall_s"} for r in rows]  # noqa: E731
        assert strip(a.metrics()) == strip(b.metrics())


def test_a_stacked_run_is_an_ordinary_run(tmp_path, tiny_config):
    """The solo trainer resumes a stacked checkpoint; the model loads as a TransformerLens bridge."""
    from grokkit.commands.info import summarise

    config = tiny_config(train={"grokfast": "ma", "grokfast_window": 4})
    solo = Run.create(tmp_path / "solo", config)
    train(solo, progress=False)
    run = Run.create(tmp_path / "stacked", config)

    def interrupt(step, model):
        if step == 20:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train_many([run], progress=False, on_checkpoint=[interrupt])
    train(Run(run.path), resume=True, progress=False)  # what `grokkit resume` does
    assert_close_runs(solo, run)
    assert summarise(Run(run.path))["finished"]
    model = Run(run.path).load_model()
    assert model(run.dataset.tokens[:4]).shape == (4, 3, 13)


def test_stack_key_groups_by_shape(tiny_config):
    base = stack_key(tiny_config())
    assert stack_key(tiny_config(train={"lr": 5e-3, "weight_decay": 0.1}, task={"frac_train": 0.3})) == base
    assert stack_key(tiny_config(model={"d_mlp": 128})) != base
    assert stack_key(tiny_config(train={"optimizer": "sgd"})) is None
    assert stack_key(tiny_config(train={"batch_size": 8})) is None


def test_unstackable_runs_are_refused(tmp_path, tiny_config):
    runs = [Run.create(tmp_path / "a", tiny_config()), Run.create(tmp_path / "b", tiny_config(model={"d_mlp": 128}))]
    with pytest.raises(ConfigError, match="multirun"):
        train_many(runs, progress=False)


def test_stacked_runs_honour_optimizer_state_latest(tmp_path, tiny_config):
    configs = [tiny_config(train={"optimizer_state": "latest"}), tiny_config(model={"seed": 3})]
    runs = [Run.create(tmp_path / f"r{i}", c) for i, c in enumerate(configs)]
    train_many(runs, progress=False)
    with_state = [[s for s in r.checkpoint_steps() if (r.checkpoint_root / f"step_{s:07d}" / "optimizer.safetensors").exists()]
                  for r in runs]
    assert with_state == [[40], runs[1].checkpoint_steps()]
