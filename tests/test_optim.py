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


@pytest.mark.parametrize("optimizer, grokfast, window", [("adamw", "none", 100), ("sgd", "ema", 100),
                                                         ("adam", "ma", 7)])
def test_state_tensors_counts_what_the_optimiser_and_filter_checkpoint(tiny_config, optimizer, grokfast, window):
    """The registry's state size is the state one run really keeps (the memory guard counts it)."""
    from grokkit.optim.filters import GradientFilter
    from grokkit.optim.kinds import state_tensors

    tcfg = tiny_config(train={"optimizer": optimizer, "grokfast": grokfast, "grokfast_window": window}).train
    w = torch.randn(2, 3, 4, requires_grad=True)
    opt, filt = StackOptimizer({"w": w}, [Hyper.from_config(tcfg)] * 2), GradientFilter.from_config(tcfg)
    for _ in range(window + 1):
        w.grad = torch.randn_like(w)
        filt.apply({"w": w})
        opt.step(torch.full((2,), 1e-3, dtype=torch.float64))
    state = {**opt.state_of(0), **filt.state_of(0)}
    elements = sum(t.numel() for k, t in state.items() if t.dim() > 0)  # step and count are scalars
    assert elements == state_tensors(tcfg) * w[0].numel()


def test_memory_estimate_follows_the_optimiser_state(tiny_config):
    from grokkit.limits import estimate, n_parameters

    base = tiny_config(train={"device": "cpu"})
    ma = tiny_config(train={"device": "cpu", "grokfast": "ma", "grokfast_window": 50})
    assert estimate(base).parameters == 4 * 4 * n_parameters(base)  # weights, gradients, two moments; float32
    assert estimate(ma).parameters - estimate(base).parameters == 50 * 4 * n_parameters(base)


def test_format_1_state_names_are_upgraded_by_their_owners():
    from grokkit.optim.filters import GradientFilter

    old = {"optim.0.step": torch.tensor(3.0), "optim.1.exp_avg": torch.ones(2), "accel.ema.b": torch.zeros(2),
           "accel.count": torch.tensor(3), "rng.batch": torch.zeros(1)}
    new = GradientFilter.upgrade_v1(StackOptimizer.upgrade_v1(old, ["W_E", "b_U"]), {"a": "W_E", "b": "b_U"})
    assert set(new) == {"optim.step", "optim.b_U.exp_avg", "accel.ema.b_U", "accel.count", "rng.batch"}


def test_unknown_kinds_are_refused_with_the_allowed_names(tiny_config):
    from grokkit.errors import ConfigError
    from grokkit.optim.filters import GradientFilter

    with pytest.raises(ConfigError, match="train.optimizer: must be one of adamw, adam, sgd"):
        tiny_config(train={"optimizer": "lion"})
    with pytest.raises(ValueError, match="allowed: none, ema, ma"):
        GradientFilter("fast")


@pytest.mark.parametrize("kind", ["adamw", "adam", "sgd"])
def test_the_update_of_every_parameter_at_once_is_the_single_tensor_update_bit_for_bit(kind):
    """The optimiser updates all parameters with torch._foreach_* ops; each is the single-tensor op's arithmetic."""
    torch.manual_seed(0)
    shapes = {"a": (2, 5, 3), "b": (2, 4), "c": (2, 3, 2, 2)}
    params = {k: torch.randn(s).requires_grad_() for k, s in shapes.items()}
    ref = {k: v.detach().clone() for k, v in params.items()}
    h = Hyper(kind, 0.3, 0.9, 0.98, momentum=0.9)
    opt = StackOptimizer(params, [h, h], decay={"b": False})
    slots = {s: {k: torch.zeros(s_) for k, s_ in shapes.items()} for s in ("exp_avg", "exp_avg_sq", "momentum_buffer")}
    lr = torch.tensor([1e-2, 3e-3], dtype=torch.float64)
    for _ in range(5):
        grads = {k: torch.randn(s) for k, s in shapes.items()}
        for k, g in grads.items():
            params[k].grad = g.clone()
        opt.step(lr)
        for k, g in grads.items():  # the update as one tensor at a time
            c = opt._coefficients(kind, lr, slice(None), k != "b")
            col = lambda v: v.view(-1, *([1] * (g.dim() - 1)))  # noqa: E731
            p = ref[k]
            if c["l2"] is not None:
                g = g.add(col(c["l2"]) * p)
            if kind == "sgd":
                buf = slots["momentum_buffer"][k]
                buf.mul_(col(c["momentum"])).add_(g)
                p.sub_(col(c["lr"]) * buf)
                continue
            if kind == "adamw":
                p.mul_(col(c["decay"]))
            m, v = slots["exp_avg"][k], slots["exp_avg_sq"][k]
            m.lerp_(g, col(c["one_minus_beta1"]))
            v.mul_(col(c["beta2"])).addcmul_(g, g * col(c["one_minus_beta2"]))
            denom = (v.sqrt() / col(c["bias_correction2_sqrt"])).add_(col(c["eps"]))
            p.sub_(col(c["step_size"]) * m / denom)
    assert all(torch.equal(params[k].detach(), ref[k]) for k in shapes)
