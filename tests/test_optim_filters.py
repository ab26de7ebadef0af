"""The gradient filters: Grokfast EMA / MA follow their recurrences, ⊥Grad is orthogonal per run,
and each run's filter state round-trips."""

import math

import torch

from grokkit.optim.filters import GradientFilter, orthogonalize_


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
