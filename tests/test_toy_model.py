"""The instance-batched toy model: gradients, masking, chunking, init, and instance = solo."""

import math

import pytest
import torch

from grokkit.toy import ToyInstance, ToyModels, ToyTrainConfig, make_dataset, stack_points, train_models


def inst(T=12, m=2, n=40, S=0.8, seed=0, **kw):
    return ToyInstance(n=n, m=m, S=S, T=T, R=kw.pop("R", 1), weight_decay=kw.pop("wd", 1e-2), data_seed=seed, init_seed=0, **kw)


def autograd_loss(models, datasets, instances):
    """Per-model loss (1/T) Σ ‖x − ReLU(WᵀW x + b)‖² by plain autograd on dense points."""
    W = models.W.clone().requires_grad_()
    b = models.b.clone().requires_grad_()
    losses = []
    for i, (d, it) in enumerate(zip(datasets, instances)):
        X = d.train.dense()
        Wi = W[i, : it.m]
        recon = torch.relu(X @ Wi.T @ Wi + b[i])
        losses.append(((X - recon) ** 2).sum() / it.T)
    torch.stack(losses).sum().backward()
    return torch.stack(losses).detach(), W.grad, b.grad


@pytest.mark.parametrize("block_elements", [1 << 24, 40 * 3 * 4])  # one block; blocks of 4 rows
def test_hand_written_gradient_matches_autograd(block_elements):
    instances = [inst(T=7, m=2, seed=0), inst(T=12, m=3, seed=1), inst(T=12, m=1, seed=2)]  # mixed T and m
    datasets = [make_dataset(i) for i in instances]
    models = ToyModels.init(instances)
    models.b.normal_(0, 0.1)  # some ReLUs off, some on
    out = models.loss_and_grad(stack_points([d.train for d in datasets]), block_elements=block_elements)
    loss, gW, gb = autograd_loss(models, datasets, instances)
    torch.testing.assert_close(out.loss, loss, atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(out.grad_W, gW, atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(out.grad_b, gb, atol=1e-6, rtol=1e-5)


def test_instance_trains_exactly_as_alone():
    """Mixed T (masked padding rows) and mixed m (masked hidden rows) in one stack = separate runs."""
    cfg = ToyTrainConfig(steps=60, warmup_steps=5, lr=1e-2, block_elements=40 * 3 * 8)
    instances = [inst(T=5, m=2, seed=0), inst(T=30, m=3, seed=1, wd=0.5), inst(T=17, m=1, seed=2)]
    together = train_models(instances, cfg, device="cpu")
    for i, it in enumerate(instances):
        alone = train_models([it], cfg, device="cpu")
        torch.testing.assert_close(together.models.W[i, : it.m], alone.models.W[0], atol=2e-5, rtol=1e-4)
        torch.testing.assert_close(together.models.b[i], alone.models.b[0], atol=2e-5, rtol=1e-4)
        torch.testing.assert_close(together.test_loss[i], alone.test_loss[0], atol=1e-5, rtol=1e-5)
        assert together.models.W[i, it.m :].abs().max() == 0 if it.m < 3 else True  # masked rows stay zero


def test_xavier_std_per_model():
    instances = [inst(n=2000, m=2, seed=0), inst(n=2000, m=200, seed=1)]
    models = ToyModels.init(instances)
    for i, m in enumerate((2, 200)):
        std = float(models.W[i, :m].std())
        assert std == pytest.approx(math.sqrt(2 / (2000 + m)), rel=0.05)
    assert float(models.b.abs().max()) == 0.0


def test_all_zero_point_gives_no_nan():
    it = inst(T=50, n=5, S=0.95)  # P(all zero) = 0.95**5 ≈ 0.77: most points are all-zero
    d = make_dataset(it)
    assert (d.train.val.abs().sum(1) == 0).any()
    assert torch.isfinite(d.train.val).all()
    out = ToyModels.init([it]).loss_and_grad(stack_points([d.train]))
    assert torch.isfinite(out.loss).all() and torch.isfinite(out.grad_W).all() and torch.isfinite(out.grad_b).all()
