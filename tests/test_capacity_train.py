"""The stacked capacity trainer: every member equals its lone unpadded run; clipping and AdamW are per member."""

from __future__ import annotations

import math

import pytest
import torch

from grokkit.capacity.config import CapacityTrainConfig, Member, MixtureConfig
from grokkit.capacity.data import BatchStream
from grokkit.capacity.mixture import frequencies
from grokkit.capacity.model import CapacityModels, init_member
from grokkit.capacity.train import clip_per_member, train_stack

MIX = MixtureConfig(K=4, d_T=3, beta=1.0)


def members(gaps=(0,)) -> list[Member]:
    return [Member(N, seed, beta, gap) for beta in (1.0, 2.0) for gap in gaps for seed in (0, 1) for N in (2, 5, 9)]


@pytest.mark.parametrize("objective", ["sampled", "expected"])
def test_every_stacked_member_equals_its_lone_run(objective):
    cfg = CapacityTrainConfig(steps=60, batch_size=64, lr=2e-2, warmup_steps=5, objective=objective, clip=0.3,
                              weight_decay=0.05)
    stack = members()
    trained = train_stack(stack, MIX, cfg)
    clipped = trained.clipped
    assert max(clipped) > 0 and len(set(clipped)) > 1  # clipping is active, and differs between members
    for i, member in enumerate(stack):
        lone = train_stack([member], MIX, cfg)
        assert lone.models.W.shape[1] == member.N  # alone: unpadded
        assert lone.clipped[0] == clipped[i]
        torch.testing.assert_close(trained.models.W[i, : member.N], lone.models.W[0], rtol=1e-5, atol=2e-6)
        torch.testing.assert_close(trained.models.decoders[i, : member.N], lone.models.decoders[0], rtol=1e-5,
                                   atol=2e-6)
        assert not trained.models.W[i, member.N :].any() and not trained.models.decoders[i, member.N :].any()


def test_injection_members_equal_their_lone_runs():
    """Members with injection gaps see batches of other sizes (padded with zero-weight rows in the stack)."""
    cfg = CapacityTrainConfig(steps=24, batch_size=64, lr=2e-2, warmup_steps=5)
    stack = [Member(N, 0, 1.0, gap) for gap in (0, 4, 8) for N in (3, 7)]
    trained = train_stack(stack, MIX, cfg)
    for i, member in enumerate(stack):
        lone = train_stack([member], MIX, cfg)
        torch.testing.assert_close(trained.models.W[i, : member.N], lone.models.W[0], rtol=1e-5, atol=2e-6)


def test_injection_batches_withhold_then_carry_the_rare_task():
    cfg = CapacityTrainConfig(batch_size=100)
    stream = BatchStream([(0, 1.0, 0), (0, 1.0, 5)], MIX, cfg)
    pi = frequencies(MIX.K, 1.0)
    m = round(5 * 100 * float(pi[3]))  # G·B·π_r
    for step in range(1, 11):
        batch = stream.next(step)
        plain = batch.task[0][batch.weight[0] > 0]
        injected = batch.task[1][batch.weight[1] > 0]
        assert (plain == 3).sum() == round(100 * float(pi[3]))
        assert (injected == 3).sum() == (m if step % 5 == 0 else 0)
        assert (injected != 3).sum() == (plain != 3).sum()
        assert torch.all(batch.weight[batch.weight > 0] == 1 / 100)  # every sample weighs 1/B


def test_clipping_caps_each_members_own_norm_like_torch():
    gen = torch.Generator().manual_seed(0)
    grads = [torch.randn(3, 4, 5, generator=gen), torch.randn(3, 4, 2, generator=gen)]
    grads[0][1] *= 1e-3  # member 1 is under the cap
    grads[1][1] *= 1e-3
    expected = []
    for i in range(3):
        params = [torch.nn.Parameter(torch.zeros_like(g[i])) for g in grads]
        for p, g in zip(params, grads):
            p.grad = g[i].clone()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        expected.append([p.grad for p in params])
    scaled = clip_per_member(grads, 1.0)
    assert scaled.tolist() == [True, False, True]
    for i in range(3):
        for g, e in zip(grads, expected[i]):
            torch.testing.assert_close(g[i], e)


def test_a_lone_run_is_torch_adamw_with_clipping_and_the_inverse_sqrt_schedule():
    """The engine's AdamW (grokkit.optim) and per-member clipping against torch.optim.AdamW + clip_grad_norm_."""
    member = Member(4, 0, 1.0)
    cfg = CapacityTrainConfig(steps=40, batch_size=32, lr=3e-2, warmup_steps=8, clip=0.5, weight_decay=0.1)
    ours = train_stack([member], MIX, cfg).models
    W0, dec0 = init_member(member, MIX)
    W, dec = torch.nn.Parameter(W0[None].clone()), torch.nn.Parameter(dec0[None].clone())
    ref = CapacityModels(W, dec, [member.N], ours.sqrt_lam)
    opt = torch.optim.AdamW([W, dec], lr=cfg.lr, weight_decay=cfg.weight_decay)
    w = cfg.warmup_steps
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda t: (t + 1) / w if t + 1 < w else math.sqrt(w / (t + 1)))
    stream = BatchStream([member.data_key], MIX, cfg)
    for step in range(1, cfg.steps + 1):
        batch = stream.next(step)
        opt.zero_grad()
        ref.batch_loss(batch.x, batch.task, batch.weight).sum().backward()
        torch.nn.utils.clip_grad_norm_([W, dec], cfg.clip)
        opt.step()
        sched.step()
    torch.testing.assert_close(ours.W, W.detach(), rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(ours.decoders, dec.detach(), rtol=1e-4, atol=1e-5)
