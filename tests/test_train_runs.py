"""The training engine: each run of a stack equals its training alone (a stack of one), for every
optimiser; stacks resume bit-identically; every run directory is an ordinary run."""

import os

import pytest
import torch
from safetensors.torch import load_file

from conftest import interrupt_at
from grokkit.errors import ConfigError
from grokkit.run import Run
from grokkit.train.runs import stack_key, train_runs
from grokkit.workflow import train_run as train

# A stack and a stack of one compute each row the same way, but a stack's forward covers the
# union of its runs' training rows (rows of other runs enter with weight exactly 0), so the
# weight gradients Σ_rows xᵀδ are summed over more rows, in other GEMM blocks: the runs agree to
# float32 rounding (~1e-7 per step), not bitwise. Over 40 steps that stays below 1e-4 of each
# tensor's scale, except where Adam divides gradients that cancel to rounding level (see below).
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


def train_many(runs, resume=False, progress=False, on_checkpoint=None):
    """The engine on several runs; ``on_checkpoint[i](step, model)`` per run, as the old helper took."""
    from grokkit.train.callbacks import Callback

    class PerRun(Callback):
        def on_checkpoint(self, run, step, model):
            fn = dict(zip([r.path for r in runs], on_checkpoint or [])).get(run.path)
            if fn is not None:
                fn(step, model)

    return train_runs(runs, resume=resume, progress=progress, callbacks=[PerRun()])


def variants(tiny_config, **common):
    train_common = common.get("train", {})
    return [
        tiny_config(train=dict(train_common)),
        tiny_config(train={"lr": 3e-3, "weight_decay": 0.3, **train_common}),
        tiny_config(task={"frac_train": 0.7}, model={"seed": 5, "init_scale": 0.7},
                    train={"warmup_steps": 0, "weight_decay": 0.0, **train_common}),
    ]


@pytest.mark.parametrize("model", [{}, {"d_model": 8, "d_head": 4, "train_biases": True},  # folded / plain order
                                   {"n_layers": 2, "layer_norm": True, "train_biases": True},  # the deep forward
                                   {"attn_coeff": 0.0}, {"attn_coeff": 0.4, "n_layers": 2}])  # attention rate
def test_stacked_forward_matches_each_bridge(tiny_config, model):
    from grokkit.data.dataset import AlgorithmicDataset
    from grokkit.model.build import build_model
    from grokkit.model.forward import last_logits
    from grokkit.model.param_stack import Shape, params, stack_bridges

    configs = [tiny_config(model={**model, "seed": s, "init_scale": 1 + s / 4}) for s in range(3)]
    bridges = [build_model(c.model, c.task) for c in configs]
    for bridge in bridges:  # non-zero trained biases, so they are exercised too
        for p in bridge.parameters():
            if p.requires_grad and p.dim() == 1:
                p.data.normal_()
    grid = AlgorithmicDataset(configs[0].task).tokens
    mixed = torch.randint(0, 14, (50, 3))  # a last token that varies: the general (deep) forward
    for x in (grid, mixed):
        stacked = last_logits(params(stack_bridges(bridges), Shape.of(bridges[0])), x)
        for i, bridge in enumerate(bridges):
            with torch.no_grad():
                reference = bridge(x)[:, -1]
            torch.testing.assert_close(stacked[i], reference, atol=1e-5, rtol=1e-4)


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
        assert b.status().finished and b.checkpoint_steps() == a.checkpoint_steps()
        assert sorted(a.checkpoint(40, with_state=True).state) == sorted(b.checkpoint(40, with_state=True).state)


def test_chunking_the_stack_over_runs_changes_nothing(tmp_path, tiny_config, monkeypatch):
    from grokkit.train import step as step_module

    configs = variants(tiny_config)
    whole = [Run.create(tmp_path / f"whole{i}", c) for i, c in enumerate(configs)]
    train_many(whole, progress=False)
    # a budget of one row: every forward, backward and evaluation takes one run at a time
    monkeypatch.setattr(step_module, "ROW_BUDGET", {"cuda": 1, "cpu": 1})
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

    with pytest.raises(KeyboardInterrupt):  # run 0 stops at 20 before runs 1, 2 write theirs: common step is 10
        train_many(cut, progress=False, on_checkpoint=[interrupt_at(20), None, None])
    assert cut[0].checkpoint_steps()[-1] == 20 and cut[1].checkpoint_steps()[-1] == 10
    train_many(cut, resume=True, progress=False)
    for a, b in zip(whole, cut):
        wa, wb = final_weights(a), final_weights(b)
        assert all(torch.equal(wa[k], wb[k]) for k in wa)
        strip = lambda rows: [{k: v for k, v in r.items() if k != "wall_s"} for r in rows]  # noqa: E731
        assert strip(a.metrics()) == strip(b.metrics())


def test_a_stacked_run_is_an_ordinary_run(tmp_path, tiny_config):
    """The solo trainer resumes a stacked checkpoint; the model loads as a TransformerLens bridge."""
    from grokkit.report.summary import summarise

    config = tiny_config(train={"grokfast": "ma", "grokfast_window": 4})
    solo = Run.create(tmp_path / "solo", config)
    train(solo, progress=False)
    run = Run.create(tmp_path / "stacked", config)

    with pytest.raises(KeyboardInterrupt):
        train_many([run], progress=False, on_checkpoint=[interrupt_at(20)])
    train(Run(run.path), resume=True, progress=False)  # what `grokkit resume` does
    assert_close_runs(solo, run)
    assert summarise(Run(run.path))["finished"]
    model = Run(run.path).load_model()
    assert model(run.dataset.tokens[:4]).shape == (4, 3, 13)


def test_stack_key_groups_by_shape(tiny_config):
    base = stack_key(tiny_config())
    same = [tiny_config(train={"lr": 5e-3, "weight_decay": 0.1}, task={"frac_train": 0.3}),
            tiny_config(train={"optimizer": "sgd", "momentum": 0.5}), tiny_config(train={"batch_size": 8}),
            tiny_config(model={"seed": 4, "init_scale": 0.5}, train={"schedule": "cosine", "steps": 77})]
    assert all(stack_key(c) == base for c in same)
    assert stack_key(tiny_config(model={"d_mlp": 128})) != base
    assert stack_key(tiny_config(task={"op": "sub"})) != base
    assert stack_key(tiny_config(train={"grokfast": "ema"})) != base


def test_unstackable_runs_are_refused(tmp_path, tiny_config):
    # widths may differ (padded: tests/test_engine_pad.py); the number of layers may not
    runs = [Run.create(tmp_path / "a", tiny_config()), Run.create(tmp_path / "b", tiny_config(model={"n_layers": 2}))]
    with pytest.raises(ConfigError, match="cannot share a stack"):
        train_many(runs, progress=False)


def test_stacked_runs_honour_optimizer_state_latest(tmp_path, tiny_config):
    configs = [tiny_config(train={"optimizer_state": "latest"}), tiny_config(model={"seed": 3})]
    runs = [Run.create(tmp_path / f"r{i}", c) for i, c in enumerate(configs)]
    train_many(runs, progress=False)
    with_state = [[s for s in r.checkpoint_steps() if (r.checkpoint_root / f"step_{s:07d}" / "optimizer.safetensors").exists()]
                  for r in runs]
    assert with_state == [[40], runs[1].checkpoint_steps()]


OPTIMISERS = [
    {"optimizer": "adamw"},
    {"optimizer": "adam", "weight_decay": 0.01, "beta2": 0.99},
    {"optimizer": "sgd", "lr": 0.1, "momentum": 0.9, "weight_decay": 1e-3},
    {"optimizer": "adamw", "batch_size": 16, "seed": 3},
    {"optimizer": "sgd", "lr": 0.1, "batch_size": 24, "seed": 4},
    {"optimizer": "adam", "batch_size": 16, "schedule": "cosine", "warmup_steps": 5},
]


def test_a_mixed_optimiser_sweep_trains_as_one_stack_and_matches_each_run_alone(tmp_path, tiny_config):
    """AdamW, Adam (L2) and SGD, full-batch and mini-batch, in one stack: each run as it trains alone.

    Tolerance: RTOL (see the top of this file). SGD has no normalisation to amplify rounding;
    Adam's runs use a small weight decay here so no gradient cancels to rounding level.
    """
    configs = [tiny_config(train={"steps": 30, **o}) for o in OPTIMISERS]
    assert len({stack_key(c) for c in configs}) == 1
    alone = []
    for i, config in enumerate(configs):
        run = Run.create(tmp_path / f"alone{i}", config)
        train(run, progress=False)
        alone.append(run)
    stacked = [Run.create(tmp_path / f"stack{i}", c) for i, c in enumerate(configs)]
    results = train_many(stacked)
    assert [r.final_step for r in results] == [30] * len(configs)
    for a, b, o in zip(alone, stacked, OPTIMISERS):
        assert_close_runs(a, b)
        assert b.metrics()[-1]["train_loss"] < b.metrics()[0]["train_loss"], o  # each one learns
        state = b.checkpoint(30, with_state=True).state
        slot = "momentum_buffer" if o["optimizer"] == "sgd" else "exp_avg_sq"
        assert any(k.endswith(slot) for k in state) and ("rng.batch" in state) == ("batch_size" in o)


def test_interrupted_mixed_stack_resumes_bit_identical(tmp_path, tiny_config):
    configs = [tiny_config(train={"steps": 30, **o}) for o in OPTIMISERS[2:5]]
    whole = [Run.create(tmp_path / f"whole{i}", c) for i, c in enumerate(configs)]
    train_many(whole)
    cut = [Run.create(tmp_path / f"cut{i}", c) for i, c in enumerate(configs)]

    with pytest.raises(KeyboardInterrupt):
        train_many(cut, on_checkpoint=[None, interrupt_at(20), None])
    train_many(cut, resume=True)
    for a, b in zip(whole, cut):
        wa, wb = final_weights(a), final_weights(b)
        assert all(torch.equal(wa[k], wb[k]) for k in wa)


def test_schedules():
    from grokkit.optim.schedule import lr_at

    assert lr_at(1.0, 0, 100, warmup_steps=10) == pytest.approx(0.1)
    assert lr_at(1.0, 0, 100, warmup_steps=10, warmup_from_zero=True) == 0.0  # the paper's LambdaLR
    assert lr_at(1.0, 10, 100, warmup_steps=10, warmup_from_zero=True) == 1.0
    assert lr_at(1.0, 9, 100, warmup_steps=10) == lr_at(1.0, 50, 100, warmup_steps=10) == 1.0
    assert lr_at(1.0, 99, 100, warmup_steps=10, schedule="cosine") == pytest.approx(0.0, abs=1e-12)
    assert lr_at(1.0, 54, 100, warmup_steps=10, schedule="cosine") == pytest.approx(0.5)
    assert lr_at(1.0, 54, 100, warmup_steps=10, schedule="cosine_quarter") == pytest.approx(2**-0.5)
