"""The stacked optimisers are torch.optim's, run by run; schedules; each run's state round-trips."""

import pytest
import torch

from grokkit.optim.optimizers import Hyper, StackOptimizer

CASES = [
    ("adamw", torch.optim.AdamW, dict(betas=(0.9, 0.98), weight_decay=0.5)),
    ("adam", torch.optim.Adam, dict(betas=(0.8, 0.99), weight_decay=0.01)),
    ("sgd", torch.optim.SGD, dict(momentum=0.9, weight_decay=1e-3)),
]


def hyper(kind, kw):
    beta1, beta2 = kw.get("betas", (0.9, 0.999))
    return Hyper(kind, kw["weight_decay"], beta1, beta2, momentum=kw.get("momentum", 0.0))


@pytest.mark.parametrize("kind, reference, kw", CASES)
def test_each_run_of_a_stack_steps_as_torch_optim(kind, reference, kw):
    torch.manual_seed(0)
    theta = torch.randn(2, 5, 3)
    alone = [theta[i].clone().requires_grad_() for i in range(2)]
    lrs = [1e-2, 3e-3]  # a learning rate per run
    refs = [reference([p], lr=lr, **kw) for p, lr in zip(alone, lrs)]
    stacked = theta.clone().requires_grad_()
    optimizer = StackOptimizer({"w": stacked}, [hyper(kind, kw)] * 2)
    for _ in range(10):
        g = torch.randn(2, 5, 3)
        for i in range(2):
            alone[i].grad = g[i].clone()
            refs[i].step()
        stacked.grad = g.clone()
        optimizer.step(torch.tensor(lrs, dtype=torch.float64))
    for i in range(2):  # the same ops in the same order; torch's SGD fuses θ − lr·b (one rounding less): ≤ 2 ulp
        torch.testing.assert_close(stacked[i].detach(), alone[i].detach(), rtol=3e-7, atol=1e-8)


def test_a_mixed_stack_updates_each_run_with_its_own_optimiser():
    torch.manual_seed(1)
    theta = torch.randn(3, 4)
    alone = [theta[i].clone().requires_grad_() for i in range(3)]
    refs = [cls([p], lr=1e-2, **kw) for p, (_, cls, kw) in zip(alone, CASES)]
    stacked = theta.clone().requires_grad_()
    optimizer = StackOptimizer({"w": stacked}, [hyper(kind, kw) for kind, _, kw in CASES])
    for _ in range(5):
        g = torch.randn(3, 4)
        for i in range(3):
            alone[i].grad = g[i].clone()
            refs[i].step()
        stacked.grad = g.clone()
        optimizer.step(torch.full((3,), 1e-2, dtype=torch.float64))
    for i in range(3):
        torch.testing.assert_close(stacked[i].detach(), alone[i].detach(), rtol=3e-7, atol=1e-8)


def test_one_runs_state_round_trips_and_survives_dropping_runs():
    torch.manual_seed(2)
    kinds = [hyper(kind, kw) for kind, _, kw in CASES]
    a = StackOptimizer({"w": torch.randn(3, 4, requires_grad=True)}, kinds)
    for _ in range(3):
        a.params["w"].grad = torch.randn(3, 4)
        a.step(torch.full((3,), 1e-2, dtype=torch.float64))
    b = StackOptimizer({"w": a.params["w"].detach().clone().requires_grad_()}, kinds)
    for run in range(3):
        b.load_state(run, a.state_of(run))
    a.select({"w": a.params["w"].detach()[[0, 2]].clone().requires_grad_()}, [0, 2])
    b.select({"w": b.params["w"].detach()[[0, 2]].clone().requires_grad_()}, [0, 2])
    g = torch.randn(2, 4)
    for opt in (a, b):
        opt.params["w"].grad = g.clone()
        opt.step(torch.full((2,), 1e-2, dtype=torch.float64))
    assert torch.equal(a.params["w"], b.params["w"])
    assert set(a.state_of(1)) == {"optim.step", "optim.w.momentum_buffer"}  # run 1 is now the SGD run
