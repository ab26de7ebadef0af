"""The gather-sum behind the one-layer '=' forward: values, gradients and numerics against float64 references."""

import pytest
import torch

from grokkit.model.gather_sum import bags, gather_sum


def random_plan(n=37, j=5, k=23, seed=0):
    g = torch.Generator().manual_seed(seed)
    index = torch.stack([torch.randperm(k, generator=g)[:j].sort().values for _ in range(n)])  # ascending rows
    return index, bags(index, k), g


def dense(weights, table, index):
    """The same sum written densely: Σ_j w[n, j] · table[index[n, j]]."""
    return (weights.unsqueeze(-1) * table[index]).sum(1)


def test_values_and_both_gradients_match_a_float64_dense_reference():
    index, plan, g = random_plan()
    w = torch.rand(index.shape, generator=g, dtype=torch.float64, requires_grad=True)
    table = torch.randn(23, 11, generator=g, dtype=torch.float64, requires_grad=True)
    upstream = torch.randn(37, 11, generator=g, dtype=torch.float64)
    out = gather_sum(w, table, plan)
    gw, gt = torch.autograd.grad((out * upstream).sum(), (w, table))
    w_ref, t_ref = w.detach().clone().requires_grad_(), table.detach().clone().requires_grad_()
    ref = dense(w_ref, t_ref, index)
    gw_ref, gt_ref = torch.autograd.grad((ref * upstream).sum(), (w_ref, t_ref))
    torch.testing.assert_close(out, ref, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(gw, gw_ref, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(gt, gt_ref, rtol=1e-12, atol=1e-12)  # rows nobody uses get a zero gradient
    assert bool((gt[torch.ones(23, dtype=torch.bool).index_fill_(0, index.unique(), False)] == 0).all())


def test_float32_is_within_rounding_of_float64_and_the_same_at_one_and_two_threads():
    index, plan, g = random_plan(n=300, j=13, k=181)
    w64 = torch.rand(index.shape, generator=g, dtype=torch.float64)
    t64 = torch.randn(181, 64, generator=g, dtype=torch.float64)
    up = torch.randn(300, 64, generator=g, dtype=torch.float64)

    def run(dtype):
        w, t = w64.to(dtype).requires_grad_(), t64.to(dtype).requires_grad_()
        out = gather_sum(w, t, plan)
        return (out, *torch.autograd.grad((out * up.to(dtype)).sum(), (w, t)))

    ref = run(torch.float64)
    before = torch.get_num_threads()
    try:
        results = []
        for threads in (1, 2):
            torch.set_num_threads(threads)
            results.append(run(torch.float32))
    finally:
        torch.set_num_threads(before)
    for one, two, r in zip(*results, ref):
        assert torch.equal(one, two)  # each element summed in one fixed order, whatever the thread count
        torch.testing.assert_close(one.double(), r, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("model", [{}, {"d_model": 8, "d_head": 4, "train_biases": True}, {"attn_coeff": 0.4}])
def test_the_eq_forward_and_its_gradients_match_the_float64_full_sequence_forward(tiny_config, model):
    """The '=' forward (gather-sums, float32) against the plain full-sequence forward in float64: logits and
    every parameter's gradient agree to float32 rounding (folded order, plain order, attention rate)."""
    from grokkit.data.dataset import AlgorithmicDataset
    from grokkit.model.build import build_model
    from grokkit.model.forward import deep_forward, eq_forward
    from grokkit.model.param_stack import Shape, params, stack_bridges

    configs = [tiny_config(model={**model, "seed": s}) for s in range(2)]
    bridges = [build_model(c.model, c.task) for c in configs]
    stack = {k: v.detach().clone() for k, v in stack_bridges(bridges).items()}
    for name, value in stack.items():
        if value.dim() == 2:  # trained biases: non-zero, so they are exercised
            value.normal_()
    ds = AlgorithmicDataset(configs[0].task)
    tokens, labels = ds.tokens, ds.labels
    shape = Shape.of(bridges[0])

    def loss_and_grads(forward, dtype):
        leaves = {k: v.detach().to(dtype).requires_grad_() for k, v in stack.items()}
        logits = forward(params(leaves, shape), tokens).logits
        loss = torch.nn.functional.cross_entropy(logits.double().flatten(0, 1), labels.repeat(2))
        grads = torch.autograd.grad(loss, list(leaves.values()))
        return logits.double(), dict(zip(leaves, grads))

    logits, grads = loss_and_grads(eq_forward, torch.float32)
    ref_logits, ref_grads = loss_and_grads(deep_forward, torch.float64)
    torch.testing.assert_close(logits, ref_logits, rtol=1e-5, atol=1e-5)
    for name in grads:
        scale = ref_grads[name].abs().max().item()
        torch.testing.assert_close(grads[name].double(), ref_grads[name], rtol=1e-4, atol=1e-5 * scale, msg=name)
