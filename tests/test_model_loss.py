"""The loss functions: StableMax's values, its cross-entropy, and its mean per run of a stack."""

import torch

from grokkit.model.loss import stablemax, stablemax_cross_entropy


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
