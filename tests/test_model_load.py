"""The one checkpoint loader (``grokkit.model.load``): a model, or its weights by name without one, from a
checkpoint; weights that do not fit the run's model are refused in one line."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from conftest import tiny_dict, tiny_mlp_dict
from grokkit.errors import CheckpointError, ConfigError

MODELS = {
    "transformer": tiny_dict(model={"train_biases": True}),
    "transformer eq_output": tiny_dict(model={"eq_output": True, "attn_coeff": 0.5}),
    "mlp": tiny_mlp_dict(),
    "mlp shared direct": tiny_mlp_dict(model={"embed": "shared", "combine": "direct"}),
    "mlp sum": tiny_mlp_dict(model={"combine": "sum"}),
}


def trained(tmp_path, config: dict, steps: int = 10):
    from grokkit.run import Run
    from grokkit.spec import config_from_dict
    from grokkit.workflow import train_run

    config = {**config, "train": {**config["train"], "steps": steps, "checkpoint_every": steps, "eval_every": steps}}
    run = Run.create(tmp_path / "run", config_from_dict(config))
    train_run(run, progress=False)
    return run


@pytest.mark.parametrize("name", MODELS)
def test_weights_from_the_checkpoint_are_the_loaded_models(tmp_path, name) -> None:
    """``weights_at`` (no model built) gives every tensor ``weights_of`` gives of the loaded model, and the
    same forward to the bit."""
    from grokkit.model.load import model_at, weights_at
    from grokkit.model.run_weights import last_position, weights_of

    run = trained(tmp_path, MODELS[name])
    ckpt = run.checkpoint()
    ours = weights_at(ckpt, run.config.model, run.config.task)
    theirs = weights_of(model_at(ckpt, run.config.model, run.config.task))
    assert type(ours) is type(theirs)
    for field, value in theirs._asdict().items():
        if isinstance(value, torch.Tensor):
            assert torch.equal(getattr(ours, field), value), field
    assert torch.equal(ours.W_E, theirs.W_E)
    tokens = run.dataset.tokens
    with torch.no_grad():  # as the measures read them (activations.from_weights)
        a, b = last_position(ours, tokens), last_position(theirs, tokens)
    assert torch.equal(a.logits, b.logits) and torch.equal(a.post, b.post)
    assert (a.pattern is None) == (b.pattern is None) and (a.pattern is None or torch.equal(a.pattern, b.pattern))


def test_run_load_model_is_the_checkpoint(tmp_path) -> None:
    run = trained(tmp_path, MODELS["transformer"])
    state = run.load_model().state_dict()
    ckpt = run.checkpoint()
    assert state.keys() == ckpt.model.keys() and all(torch.equal(state[k], ckpt.model[k]) for k in state)


@pytest.mark.parametrize("name", ["transformer", "mlp"])
def test_weights_of_another_shape_are_refused_in_one_line(tmp_path, name) -> None:
    """Each way in (into a built model, a fresh model, weights by name) names the checkpoint and the tensor."""
    from grokkit.model.build import build_model
    from grokkit.model.load import load_weights, model_at, weights_at

    run = trained(tmp_path, MODELS[name])
    good = run.checkpoint()
    tensor = next(k for k, v in good.model.items() if v.ndim == 2)
    model = dict(good.model)
    model[tensor] = torch.zeros(model[tensor].shape[0] + 1, model[tensor].shape[1])
    bad = dataclasses.replace(good, model=model)
    cfg = run.config
    for load in (lambda: load_weights(build_model(cfg.model, cfg.task), bad), lambda: model_at(bad, cfg.model, cfg.task),
                 lambda: weights_at(bad, cfg.model, cfg.task)):
        with pytest.raises(CheckpointError) as err:
            load()
        message = str(err.value)
        assert "\n" not in message and str(good.path) in message and "do not fit" in message and tensor in message


def test_weights_by_name_refuse_a_deeper_model(tmp_path) -> None:
    from grokkit.model.load import weights_at

    run = trained(tmp_path, tiny_dict(model={"n_layers": 2}), steps=2)
    with pytest.raises(ConfigError, match="n_layers = 2"):
        weights_at(run.checkpoint(), run.config.model, run.config.task)
