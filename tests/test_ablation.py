"""Ablation hooks: each edits one forward pass only, and the Fourier ones reproduce the built-in measures."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from grokkit.ablation import fourier_ablation, mean_ablation, mean_activation, resample_ablation, zero_ablation
from grokkit.measures.offline import measure_model

from conftest import tiny_run

POST = "blocks.0.mlp.hook_post"
EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "custom_ablation.py"


@pytest.fixture(scope="module")
def setup():
    run = tiny_run()
    return run, run.load_model(), run.dataset


def no_hooks_left(model) -> bool:
    return not any(hp.fwd_hooks for hp in model.hook_dict.values())


def loss_on(logits: torch.Tensor, ds, rows) -> float:
    return F.cross_entropy(logits[rows, -1].double(), ds.labels[rows]).item()


def test_fourier_remove_and_keep_reproduce_excluded_and_restricted(setup):
    run, model, ds = setup
    p, K = ds.cfg.p, [1, 3]
    row = measure_model(model, ds, measures=["excluded", "restricted"], key_freqs=K)
    with torch.no_grad():
        removed = model.run_with_hooks(ds.tokens, fwd_hooks=[("hook_unembed", fourier_ablation(p, K, "remove"))])
        kept = model.run_with_hooks(ds.tokens, fwd_hooks=[("hook_unembed", fourier_ablation(p, K, "keep"))])
    assert loss_on(removed, ds, ds.split.train) == pytest.approx(row["excluded_loss"], rel=1e-5)
    assert loss_on(kept, ds, torch.arange(len(ds))) == pytest.approx(row["restricted_loss"], rel=1e-5)
    assert no_hooks_left(model)


def test_zero_mean_and_resample_ablations(setup):
    run, model, ds = setup
    tokens = ds.tokens
    with torch.no_grad():
        clean, cache = model.run_with_cache(tokens, names_filter=lambda n: n == POST)
        seen = {}

        def capture(act, hook):
            seen["post"] = act.clone()

        model.run_with_hooks(tokens, fwd_hooks=[(POST, zero_ablation(pos=-1, index=[0, 5])), (POST, capture)])
        post = seen["post"]
        assert (post[:, -1, [0, 5]] == 0).all()
        assert torch.equal(post[:, :-1], cache[POST][:, :-1]) and torch.equal(post[:, -1, 1:5], cache[POST][:, -1, 1:5])

        mean = mean_activation(model, tokens, POST, pos=-1)
        model.run_with_hooks(tokens, fwd_hooks=[(POST, mean_ablation(mean, pos=-1)), (POST, capture)])
        assert torch.allclose(seen["post"][:, -1], mean.expand(len(tokens), -1))

        source = cache[POST][:, -1]
        model.run_with_hooks(tokens, fwd_hooks=[(POST, resample_ablation(source, pos=-1, seed=3)), (POST, capture)])
        rows = seen["post"][:, -1]  # every row is some input's clean activation, not its own in general
        assert {tuple(r.tolist()) for r in rows} <= {tuple(s.tolist()) for s in source}
        assert not torch.equal(rows, source)

        again = model(tokens)
    assert torch.equal(again, clean) and no_hooks_left(model)


def test_fourier_ablation_needs_the_whole_grid(setup):
    run, model, ds = setup
    with pytest.raises(ValueError, match="whole 13×13 input grid"):
        model.run_with_hooks(ds.tokens[:10], fwd_hooks=[("hook_unembed", fourier_ablation(13, [1]))])
    assert no_hooks_left(model)


def test_custom_ablation_example_agrees_with_the_built_in_measure(setup, capsys, monkeypatch):
    run, _, _ = setup
    monkeypatch.setattr(sys, "argv", [str(EXAMPLE), str(run.path)])
    with pytest.raises(SystemExit) as exit_info:
        runpy.run_path(str(EXAMPLE), run_name="__main__")
    assert exit_info.value.code == 0
    assert "agree" in capsys.readouterr().out
