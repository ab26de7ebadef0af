"""Clock vs Pizza: gradient symmetricity and distance irrelevance on cases with a known answer."""

from __future__ import annotations

import math

import pytest
import torch

from grokkit.analysis.fourier import FourierNotApplicable
from grokkit.data.dataset import AlgorithmicDataset, TaskConfig
from grokkit.model.run_weights import LastPosition
from grokkit.measures.base import Context, RunContext
from grokkit.measures.registry import MEASURES, resolve

P = 13


def table_context(L: torch.Tensor, op: str = "add", weights=None) -> Context:
    ds = AlgorithmicDataset(TaskConfig(op=op, p=P, frac_train=0.5))
    run = RunContext(ds, torch.device("cpu"))
    act = LastPosition(L, torch.zeros(len(L), 1), torch.zeros(len(L), 1, 3))
    return Context(run, 0, weights=weights, activations=lambda: act)


def correct_logit_table(f, op: str = "add") -> torch.Tensor:
    """Logits that are 0 except the correct class, whose logit is f(a + b, a − b)."""
    ds = AlgorithmicDataset(TaskConfig(op=op, p=P))
    L = torch.zeros(len(ds), P, dtype=torch.float64)
    a, b = ds.x.double(), ds.y.double()
    L[torch.arange(len(ds)), ds.labels] = f((a + b) % P, (a - b) % P)
    return L


def test_distance_irrelevance_is_one_for_a_clock_and_zero_for_a_pizza():
    clock = correct_logit_table(lambda s, d: torch.cos(2 * math.pi * 3 * s / P))  # no dependence on a − b
    pizza = correct_logit_table(lambda s, d: torch.cos(math.pi * 3 * d / P).abs())  # only on a − b
    q = MEASURES["distance_irrelevance"].fn
    assert q(table_context(clock)).distance_irrelevance == pytest.approx(1.0, abs=1e-12)
    assert q(table_context(pizza)).distance_irrelevance == pytest.approx(0.0, abs=1e-12)
    mixed = correct_logit_table(lambda s, d: torch.cos(2 * math.pi * s / P) + torch.cos(2 * math.pi * d / P))
    assert 0.3 < q(table_context(mixed)).distance_irrelevance < 0.9


def test_distance_irrelevance_for_sub_uses_a_plus_b_as_the_distance():
    # for a − b the answer is a − b; a table depending only on a + b is the 'distance-only' (pizza) case
    only_sum = correct_logit_table(lambda s, d: torch.cos(2 * math.pi * 2 * s / P), op="sub")
    assert MEASURES["distance_irrelevance"].fn(table_context(only_sum, "sub")).distance_irrelevance == \
        pytest.approx(0.0, abs=1e-12)


def test_distance_irrelevance_is_refused_for_s5_and_generic_ops():
    with pytest.raises(FourierNotApplicable, match="distance_irrelevance"):
        resolve(["distance_irrelevance"], "s5_compose")
    assert "distance_irrelevance" not in [m.name for m in resolve(None, "s5_compose")]
    assert "gradient_symmetricity" in [m.name for m in resolve(None, "x2_plus_y")]


def _model(uniform_attention: bool):
    from grokkit.data.dataset import TaskConfig
    from grokkit.model.build import build_model
    from grokkit.model.config import ModelConfig
    from grokkit.model.run_weights import weights_of

    task = TaskConfig(op="add", p=P, frac_train=0.5)
    model = build_model(ModelConfig(d_model=16, n_heads=2, d_head=8, d_mlp=32, seed=1), task)
    w = weights_of(model)
    with torch.no_grad():
        if uniform_attention:  # equal scores: '=' attends 1/3 to each position; no position signal
            w.W_Q.zero_()
            w.W_pos.zero_()
        else:  # sharp attention that depends on the position: a and b enter differently
            for W in (w.W_Q, w.W_K, w.W_pos):
                W.mul_(4)
    return task, w


def test_gradient_symmetricity_is_one_when_the_output_depends_on_e_a_plus_e_b():
    """Uniform attention and no positional embedding: the output is a function of E_a + E_b (a Pizza)."""
    task, w = _model(uniform_attention=True)
    ctx = Context(RunContext(AlgorithmicDataset(task), torch.device("cpu")), 0, w)
    assert MEASURES["gradient_symmetricity"].fn(ctx).gradient_symmetricity == pytest.approx(1.0, abs=1e-5)
    task, w = _model(uniform_attention=False)
    ctx = Context(RunContext(AlgorithmicDataset(task), torch.device("cpu")), 0, w)
    assert MEASURES["gradient_symmetricity"].fn(ctx).gradient_symmetricity < 0.5


def test_gradient_symmetricity_matches_one_input_at_a_time(monkeypatch):
    """The stacked-runs shortcut equals a plain backward per input through W_pos."""
    import grokkit.measures.clock_pizza as cp
    from grokkit.model import forward

    monkeypatch.setattr(cp, "N_SAMPLES", 10)
    task, w = _model(uniform_attention=False)
    ctx = Context(RunContext(AlgorithmicDataset(task), torch.device("cpu")), 0, w)
    rows, classes = cp._samples(ctx.run)
    cosines = []
    for r, c in zip(rows.tolist(), classes.tolist()):
        W_pos = w.params.W_pos.detach().clone().requires_grad_(True)
        logits = forward.last_logits(w.params._replace(W_pos=W_pos), ctx.run.tokens[r:r + 1])
        logits[0, 0, c].backward()
        g = W_pos.grad[0].double()
        cosines.append(torch.nn.functional.cosine_similarity(g[0], g[1], dim=0).item())
    value = MEASURES["gradient_symmetricity"].fn(ctx).gradient_symmetricity
    assert value == pytest.approx(sum(cosines) / len(cosines), abs=1e-6)
