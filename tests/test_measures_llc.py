"""The local learning coefficient: the SGLD estimator on a model with a known answer, then on our model."""

from __future__ import annotations

import math

import pytest
import torch

from grokkit.measures.sgld import SGLD
from grokkit.measures.llc import sgld_llc


def test_sgld_llc_of_a_regular_model_is_half_its_dimension():
    """Linear regression with d parameters is regular: λ = d / 2."""
    d, n = 6, 2000
    generator = torch.Generator().manual_seed(0)
    X = torch.randn(n, d, generator=generator, dtype=torch.float64)
    w_true = torch.randn(d, generator=generator, dtype=torch.float64)
    y = X @ w_true + 0.1 * torch.randn(n, generator=generator, dtype=torch.float64)
    w_star = torch.linalg.lstsq(X, y[:, None]).solution[:, 0]  # the minimum of the loss

    def loss_fn(ws):
        return 0.5 * (X @ ws[0] - y).square().mean()

    estimate = sgld_llc(loss_fn, [w_star], n, SGLD(lr=1e-4, gamma=1.0, draws=4000, burnin=500, chains=2, seed=1))
    assert estimate.llc == pytest.approx(d / 2, rel=0.2)
    assert w_star.requires_grad is False  # the checkpoint is not moved


def test_llc_measure_runs_on_our_model_and_is_opt_in():
    from grokkit.data.dataset import AlgorithmicDataset, TaskConfig
    from grokkit.measures.base import Context, RunContext
    from grokkit.measures.registry import MEASURES, resolve
    from grokkit.model.build import build_model
    from grokkit.model.config import ModelConfig
    from grokkit.model.run_weights import weights_of

    assert "llc" not in [m.name for m in resolve(None, "add")]
    task = TaskConfig(op="add", p=7, frac_train=0.5)
    model = build_model(ModelConfig(d_model=8, n_heads=2, d_head=4, d_mlp=16), task)
    w = weights_of(model)
    before = w.W_E.detach().clone()
    run = RunContext(AlgorithmicDataset(task), torch.device("cpu"), sgld=SGLD(draws=20, chains=2))
    estimate = MEASURES["llc"].fn(Context(run, 0, w))
    assert math.isfinite(estimate.llc) and estimate.llc_std >= 0
    assert torch.equal(w.W_E, before)


def test_all_plus_llc_names_every_default_measure_and_llc():
    from grokkit.measures.registry import resolve

    names = [m.name for m in resolve(["all", "llc"], "add")]
    assert names == [m.name for m in resolve(None, "add")] + ["llc"]
