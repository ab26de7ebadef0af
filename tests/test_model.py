import pytest
import torch

from grokkit.data.dataset import AlgorithmicDataset, TaskConfig
from grokkit.model.build import build_model, trainable_parameters
from grokkit.model.config import ModelConfig
from grokkit.model.run_weights import last_logits, weights_of
from grokkit.errors import ConfigError

SMALL = dict(d_model=32, n_heads=2, d_head=16, d_mlp=64)


def test_reference_shapes_and_hooks():
    task = TaskConfig(p=113)
    model = build_model(ModelConfig(), task)
    assert model.W_E.shape == (114, 128) and model.W_U.shape == (128, 113)
    assert model.blocks[0].mlp.W_in.shape == (128, 512)
    tokens = AlgorithmicDataset(task).tokens[:7]
    logits, cache = model.run_with_cache(tokens)
    assert logits.shape == (7, 3, 113)
    assert cache["blocks.0.mlp.hook_post"].shape == (7, 3, 512)
    assert cache["blocks.0.attn.hook_pattern"].shape == (7, 4, 3, 3)


def test_run_with_hooks_changes_the_output_and_leaves_no_hook():
    task = TaskConfig(p=13)
    model = build_model(ModelConfig(**SMALL), task)
    tokens = AlgorithmicDataset(task).tokens
    clean = model(tokens)
    ablated = model.run_with_hooks(tokens, fwd_hooks=[("blocks.0.mlp.hook_post", lambda act, hook: act * 0)])
    assert not torch.allclose(clean, ablated)
    assert torch.equal(model(tokens), clean)


@pytest.mark.parametrize("train_biases", [False, True])
def test_fast_forward_equals_transformer_lens_on_every_input_after_training(train_biases):
    task = TaskConfig(p=17, frac_train=0.5)
    model = build_model(ModelConfig(**SMALL, train_biases=train_biases), task)
    ds = AlgorithmicDataset(task)
    weights = weights_of(model)
    opt = torch.optim.AdamW(trainable_parameters(model).values(), lr=3e-3, weight_decay=1.0)
    for _ in range(30):  # trained weights, including (when enabled) non-zero MLP biases
        loss = torch.nn.functional.cross_entropy(last_logits(weights, ds.train_tokens).double(), ds.train_labels)
        loss.backward()
        opt.step()
        opt.zero_grad()
    mlp = model.original_model.layers[0].mlp
    assert (mlp.fc_in.bias.abs().sum() > 0) == train_biases
    with torch.no_grad():
        fast = last_logits(weights, ds.tokens)
        reference = model(ds.tokens)[:, -1]
    torch.testing.assert_close(fast, reference, rtol=1e-5, atol=1e-5)


def test_attention_biases_are_frozen_at_zero():
    model = build_model(ModelConfig(**SMALL, train_biases=True), TaskConfig(p=13))
    names = trainable_parameters(model)
    assert not any(".attn." in n and n.endswith("bias") for n in names)
    assert any("fc_in" in n and n.endswith("bias") for n in names)


def test_init_is_seeded():
    task = TaskConfig(p=13)
    a, b = build_model(ModelConfig(**SMALL, seed=1), task), build_model(ModelConfig(**SMALL, seed=1), task)
    c = build_model(ModelConfig(**SMALL, seed=2), task)
    assert torch.equal(a.W_E, b.W_E) and not torch.equal(a.W_E, c.W_E)


@pytest.mark.parametrize("kwargs, field", [({"d_model": 0}, "model.d_model"), ({"act_fn": "tanh"}, "model.act_fn"),
                                           ({"init_scale": -1.0}, "model.init_scale"), ({"train_biases": "yes"}, "model.train_biases")])
def test_bad_model_values_name_the_field(kwargs, field):
    with pytest.raises(ConfigError, match=field):
        ModelConfig(**kwargs)


def test_legacy_init_undoes_the_residual_scaling():
    """residual_init_scaling = false: W_O and W_out as the legacy HookedTransformer drew them (√2 larger here)."""
    import math

    task = TaskConfig(p=13)
    scaled = weights_of(build_model(ModelConfig(d_model=32, n_heads=2, d_head=16, d_mlp=64), task))
    legacy = weights_of(build_model(ModelConfig(d_model=32, n_heads=2, d_head=16, d_mlp=64,
                                                residual_init_scaling=False), task))
    for name in ("W_O", "W_out"):
        assert torch.allclose(getattr(legacy, name), getattr(scaled, name) * math.sqrt(2))
    for name in ("W_E", "W_Q", "W_in", "W_U"):
        assert torch.equal(getattr(legacy, name), getattr(scaled, name))


def test_the_attention_rate_is_part_of_the_bridge_and_survives_temporary_hooks():
    """model.attn_coeff = 0: constant attention (every visible position weight 1), in the bridge's own
    forward and cache, and still there after run_with_hooks has removed its temporary hooks."""
    task = TaskConfig(p=13)
    model = build_model(ModelConfig(**SMALL, attn_coeff=0.0), task)
    tokens = AlgorithmicDataset(task).tokens[:5]
    _, cache = model.run_with_cache(tokens)
    assert torch.equal(cache["blocks.0.attn.hook_pattern"][0, 0], torch.ones(3, 3).tril())
    model.run_with_hooks(tokens, fwd_hooks=[("blocks.0.mlp.hook_post", lambda act, hook: act)])
    _, again = model.run_with_cache(tokens)
    assert torch.equal(again["blocks.0.attn.hook_pattern"], cache["blocks.0.attn.hook_pattern"])
    with pytest.raises(ConfigError, match="model.attn_coeff"):
        ModelConfig(attn_coeff=1.5)
