import math
import os

import pytest
import torch
from safetensors.torch import load_file

from grokkit.errors import ConfigError
from grokkit.model.loss import softmax_cross_entropy, stablemax, stablemax_cross_entropy
from grokkit.optim.filters import GradientFilter, orthogonalize_
from grokkit.run import Run
from grokkit.train.config import TrainConfig
from grokkit.workflow import train_run as train


def test_stablemax_values_and_cross_entropy():
    x = torch.tensor([-3.0, -1.0, 0.0, 0.5, 2.0], dtype=torch.float64)
    assert torch.allclose(stablemax(x), torch.tensor([0.25, 0.5, 1.0, 1.5, 3.0], dtype=torch.float64))
    logits = torch.randn(7, 5, dtype=torch.float64) * 4
    labels = torch.randint(0, 5, (7,))
    s = stablemax(logits)
    manual = -(s[torch.arange(7), labels] / s.sum(-1)).log().mean()
    assert torch.allclose(stablemax_cross_entropy(logits, labels), manual)
    # monotone, so it ranks classes as softmax does; and finite for huge negative logits
    assert torch.equal(s.argmax(-1), logits.softmax(-1).argmax(-1))
    big = torch.tensor([[-1e30, 0.0, 1e3]], dtype=torch.float64, requires_grad=True)
    stablemax_cross_entropy(big, torch.tensor([2])).backward()
    assert torch.isfinite(big.grad).all()


def test_stablemax_batched_over_runs_is_per_run_mean():
    logits, labels = torch.randn(3, 6, 4), torch.randint(0, 4, (3, 6))
    per_run = stablemax_cross_entropy(logits, labels)
    assert per_run.shape == (3,)
    assert torch.allclose(per_run[1], stablemax_cross_entropy(logits[1], labels[1]))


def test_grokfast_ema_follows_its_recurrence():
    p = torch.nn.Parameter(torch.zeros(1, 4))  # a stack of one run
    f = GradientFilter("ema", alpha=0.9, lamb=2.0)
    grads = [torch.randn(1, 4) for _ in range(5)]
    mu = grads[0].clone()
    for g in grads:
        p.grad = g.clone()
        f.apply({"w": p})
        mu = 0.9 * mu + 0.1 * g
        assert torch.allclose(p.grad, g + 2.0 * mu)


def test_grokfast_ma_waits_for_a_full_window_then_adds_the_mean():
    p = torch.nn.Parameter(torch.zeros(1, 3))
    f = GradientFilter("ma", lamb=5.0, window=3)
    grads = [torch.randn(1, 3) for _ in range(6)]
    for i, g in enumerate(grads):
        p.grad = g.clone()
        f.apply({"w": p})
        expected = g if i < 2 else g + 5.0 * torch.stack(grads[i - 2 : i + 1]).mean(0)
        assert torch.allclose(p.grad, expected, atol=1e-6)


def test_orthograd_is_orthogonal_keeps_norm_and_works_per_run():
    w, g = torch.randn(3, 5, 4), torch.randn(3, 5, 4)
    stacked = g.clone()
    orthogonalize_(w, stacked)
    for i in range(3):
        one = g[i : i + 1].clone()
        orthogonalize_(w[i : i + 1], one)
        one = one[0]
        assert torch.allclose(one, stacked[i], atol=1e-6)
        assert abs(float((one * w[i]).sum())) < 1e-5
        assert math.isclose(float(one.norm()), float(g[i].norm()), rel_tol=1e-5)


def test_filter_state_round_trips_per_run():
    p = torch.nn.Parameter(torch.zeros(2, 2))  # two runs of a [2] parameter
    a = GradientFilter("ma", window=4)
    for _ in range(3):
        p.grad = torch.randn(2, 2)
        a.apply({"w": p})
    b = GradientFilter("ma", window=4)
    for run in range(2):  # each run's state saved and restored on its own
        b.load_state(run, a.state_of(run), {"w": p})
    g = torch.randn(2, 2)
    p.grad = g.clone()
    a.apply({"w": p})
    out_a = p.grad.clone()
    p.grad = g.clone()
    b.apply({"w": p})
    assert torch.equal(out_a, p.grad)
    assert GradientFilter().state_of(0) == {} and not GradientFilter().active


@pytest.mark.parametrize(
    "field, value",
    [("loss", "sparsemax"), ("grokfast", "fast"), ("grokfast_alpha", 1.0), ("grokfast_lamb", -1.0),
     ("grokfast_window", 0), ("orthograd", 1)],
)
def test_config_rejects_bad_accelerator_settings(field, value):
    with pytest.raises(ConfigError, match=f"train.{field}"):
        TrainConfig(**{field: value})


def test_default_lambda_follows_the_filter():
    assert TrainConfig(grokfast="ema").grokfast_lambda == 2.0
    assert TrainConfig(grokfast="ma").grokfast_lambda == 5.0
    assert TrainConfig(grokfast="ma", grokfast_lamb=1.5).grokfast_lambda == 1.5


def _final(run):
    step = sorted(os.listdir(run.path / "checkpoints"))[-1]
    return load_file(str(run.path / "checkpoints" / step / "model.safetensors"))


@pytest.mark.parametrize(
    "accel",
    [{"grokfast": "ema", "loss": "stablemax"}, {"grokfast": "ma", "grokfast_window": 7, "orthograd": True}],
)
def test_accelerated_run_resumes_bit_identical(tmp_path, tiny_config, accel):
    config = tiny_config(train={"steps": 30, **accel})
    full = Run.create(tmp_path / "full", config)
    train(full, progress=False)
    cut = Run.create(tmp_path / "cut", config)

    def interrupt(step, model):
        if step == 10:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(cut, progress=False, on_checkpoint=interrupt)
    assert any(k.startswith("accel.") for k in cut.checkpoint(10, with_state=True).state)
    train(cut, resume=True, progress=False)
    a, b = _final(full), _final(cut)
    assert all(torch.equal(a[k], b[k]) for k in a)
    # and the filter changed training: not the plain run
    plain = Run.create(tmp_path / "plain", tiny_config(train={"steps": 30}))
    train(plain, progress=False)
    assert any(not torch.equal(_final(plain)[k], a[k]) for k in a)
