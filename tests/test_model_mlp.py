"""The MLP (``model.kind = "mlp"``): its forward against a plain reference, hooks, the training
engine (a stack equals each run alone, resume is bit-exact), load_run, and one-line config errors."""

import pytest
import torch
import torch.nn.functional as F
from safetensors.torch import load_file

from conftest import cli, interrupt_at, one_line_error, tiny_mlp_dict, tiny_mlp_toml, write_spec
from grokkit.ablation import fourier_ablation, zero_ablation
from grokkit.data.dataset import AlgorithmicDataset, TaskConfig
from grokkit.train.runs import train_runs
from grokkit.model.build import build_model
from grokkit.model.forward import last_position
from grokkit.model.loss import mse_loss, mse_onehot
from grokkit.model.mlp import HookedMLP
from grokkit.run import Run, load_run
from grokkit.spec import config_from_dict
from grokkit.workflow import train_run

VARIANTS = [  # Chughtai's; summed; shared; Gromov's
    {"combine": "concat", "act_fn": "relu", "train_biases": True, "mlp_init": "chughtai"},
    {"combine": "sum", "act_fn": "gelu"},
    {"embed": "shared", "combine": "sum", "act_fn": "relu", "train_biases": True},
    {"combine": "direct", "act_fn": "square", "mlp_init": "gromov"},
]


def mlp_config(**model):
    return config_from_dict(tiny_mlp_dict(model=model, train={"device": "cpu"}))


def reference(model: HookedMLP, tokens):
    """The MLP written out in plain torch, from the module's weights."""
    a, b = tokens[:, 0], tokens[:, 1]
    e_a, e_b = model.W_E_a[a], model.W_E_b[b]
    combine = model.cfg.combine
    if combine == "direct":
        pre = e_a + e_b + model.b_in
    else:
        x = torch.cat([e_a, e_b], -1) if combine == "concat" else e_a + e_b
        pre = x @ model.W_in.T + model.b_in
    post = {"relu": F.relu, "gelu": F.gelu, "square": torch.square}[model.cfg.act_fn](pre)
    return post @ model.W_U.T + model.b_U, post


@pytest.mark.parametrize("variant", VARIANTS)
def test_forward_matches_a_plain_reference(variant):
    config = mlp_config(**variant)
    model = build_model(config.model, config.task)
    with torch.no_grad():  # non-zero biases, so they are checked too
        model.b_in.normal_()
        model.b_U.normal_()
    tokens = AlgorithmicDataset(config.task).tokens
    want_logits, want_post = reference(model, tokens)
    logits, cache = model.run_with_cache(tokens)
    assert logits.shape == (len(tokens), 1, config.task.d_vocab_out)
    torch.testing.assert_close(logits[:, 0], want_logits, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(cache["hook_post"][:, 0], want_post, rtol=1e-5, atol=1e-5)
    # the engine's batched forward (first layer folded into tables), as a stack of one
    out = last_position(model.params(), tokens, activations=True)
    torch.testing.assert_close(out.logits[0], want_logits, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(out.post[0], want_post, rtol=1e-5, atol=1e-5)
    assert out.pattern is None


def test_initialisations_draw_the_stated_scales():
    """chughtai: N(0, 1/fan_in) (embeddings: 1/width), biases 0; gromov: N(0, 0.25/(2N)^(2/3)); torch: nn's."""
    torch.manual_seed(0)
    model = build_model(mlp_config(mlp_init="chughtai", d_model=64, d_mlp=128).model, TaskConfig(p=101))
    assert abs(model.W_E_a.std().item() * 64 ** 0.5 - 1) < 0.05 and abs(model.W_in.std().item() * 128 ** 0.5 - 1) < 0.05
    assert abs(model.W_U.std().item() * 128 ** 0.5 - 1) < 0.05 and not model.b_in.any()
    gromov = build_model(mlp_config(mlp_init="gromov", combine="direct", d_mlp=512).model, TaskConfig(p=101))
    assert abs(gromov.W_E_b.std().item() / (0.5 / 1024 ** (1 / 3)) - 1) < 0.05
    torch_init = build_model(mlp_config(d_model=64).model, TaskConfig(p=101))
    assert abs(torch_init.W_E_a.std().item() - 1) < 0.05 and torch_init.W_in.abs().max() <= 1 / 128 ** 0.5
    again = build_model(mlp_config(d_model=64).model, TaskConfig(p=101))
    assert torch.equal(torch_init.W_in, again.W_in)  # drawn from model.seed, not the global generator


def test_a_stack_of_two_computes_each_run():
    configs = [mlp_config(seed=1), mlp_config(seed=2)]
    models = [build_model(c.model, c.task) for c in configs]
    from grokkit.model.param_stack import Shape, params, stack_bridges

    stack = stack_bridges(models)
    tokens = torch.tensor([[0, 1, 13], [5, 7, 13], [12, 12, 13]])
    logits = last_position(params(stack, Shape.of(models[0])), tokens).logits
    for r, model in enumerate(models):
        torch.testing.assert_close(logits[r], model(tokens)[:, 0], rtol=1e-5, atol=1e-5)


def test_hooks_are_the_transformerlens_api():
    config = mlp_config(train_biases=True)
    model = build_model(config.model, config.task)
    tokens = torch.tensor([[a, b, 13] for a in range(13) for b in range(13)])
    assert set(model.hook_dict) == {"hook_embed_a", "hook_embed_b", "hook_pre", "hook_post", "hook_logits"}
    logits, cache = model.run_with_cache(tokens)
    assert cache["hook_embed_a"].shape == (169, 1, 16) and cache["hook_pre"].shape == (169, 1, 64)
    # zero every neuron: only the unembedding's bias is left (grokkit.ablation, unchanged, pos = -1)
    ablated = model.run_with_hooks(tokens, fwd_hooks=[("hook_post", zero_ablation(pos=-1))])
    torch.testing.assert_close(ablated[:, 0], model.b_U.expand(169, -1))
    # editing an embedding changes the output; the hooks are removed afterwards
    edited = model.run_with_hooks(tokens, fwd_hooks=[("hook_embed_b", zero_ablation())])
    assert not torch.allclose(edited, logits)
    torch.testing.assert_close(model(tokens), logits)
    # the Fourier ablations at pos = -1: keep + remove = the neurons plus the mean of the removed part
    seen = {}

    def grab(name):
        return lambda act, hook: seen.setdefault(name, act.clone())

    for mode in ("keep", "remove"):
        model.run_with_hooks(tokens, fwd_hooks=[("hook_post", fourier_ablation(13, [1, 4], mode=mode)),
                                                ("hook_post", grab(mode))])
    post = cache["hook_post"]
    torch.testing.assert_close(seen["keep"] + seen["remove"], post + seen["remove"].mean(0), rtol=1e-4, atol=1e-4)


def test_each_stacked_run_matches_its_solo_training(tmp_path):
    configs = [mlp_config(seed=1), config_from_dict(tiny_mlp_dict(
        model={"seed": 2}, task={"frac_train": 0.7}, train={"lr": 3e-3, "weight_decay": 0.1, "device": "cpu"}))]
    solo = []
    for i, config in enumerate(configs):
        run = Run.create(tmp_path / f"solo{i}", config)
        train_run(run, progress=False)
        solo.append(run)
    stacked = [Run.create(tmp_path / f"multi{i}", c) for i, c in enumerate(configs)]
    train_runs(stacked, progress=False)
    for a, b in zip(solo, stacked):
        wa, wb = a.checkpoint(40).model, b.checkpoint(40).model
        assert wa.keys() == wb.keys()
        for k in wa:  # float32 rounding of the union's GEMM blocks (see tests/test_train_runs.py)
            assert (wa[k] - wb[k]).abs().max() <= 1e-4 * wa[k].abs().max(), k


@pytest.mark.parametrize("loss", ["softmax", "mse"])
def test_interrupted_run_resumes_bit_identical(tmp_path, loss):
    config = config_from_dict(tiny_mlp_dict(model={"combine": "direct", "act_fn": "square", "mlp_init": "gromov"},
                                            train={"loss": loss, "device": "cpu", "grokfast": "ema"}))
    whole = Run.create(tmp_path / "whole", config)
    train_run(whole, progress=False)
    cut = Run.create(tmp_path / "cut", config)
    with pytest.raises(KeyboardInterrupt):
        train_run(cut, progress=False, on_checkpoint=interrupt_at(20))
    train_run(cut, resume=True, progress=False)
    wa = load_file(str(whole.checkpoint(40).path / "model.safetensors"))
    wb = load_file(str(cut.checkpoint(40).path / "model.safetensors"))
    assert wa.keys() == {"embed_a.weight", "embed_b.weight", "hidden.bias", "unembed.weight", "unembed.bias"}
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    strip = lambda rows: [{k: v for k, v in r.items() if k != "wall_s"} for r in rows]  # noqa: E731
    assert strip(whole.metrics()) == strip(cut.metrics())


def test_load_run_gives_the_hooked_mlp_with_the_checkpoint(tmp_path):
    run = Run.create(tmp_path / "run", mlp_config(embed="shared", combine="sum"))
    train_run(run, progress=False)
    model = load_run(run.path).load_model()
    assert isinstance(model, HookedMLP)
    state = run.checkpoint().model
    assert torch.equal(model.W_E_a, state["embed.weight"]) and model.W_E_a is model.W_E_b
    logits, cache = model.run_with_cache(run.dataset.tokens, names_filter="hook_post")
    assert list(cache) == ["hook_post"] and logits.shape == (169, 1, 13)


def test_mse_on_one_hot_targets_is_torchs():
    logits, labels = torch.randn(6, 5), torch.tensor([0, 4, 2, 2, 1, 3])
    want = F.mse_loss(logits.double(), F.one_hot(labels, 5).double())
    torch.testing.assert_close(mse_loss(logits, labels), want)
    assert mse_onehot(logits, labels).shape == (6,)


@pytest.mark.parametrize("model, needle", [
    ({"n_heads": 2}, "model.n_heads: applies to the transformer kind only"),
    ({"kind": "transformer", "combine": "direct"}, "model.combine: applies to the mlp kind only"),
    ({"kind": "transformer", "act_fn": "square"}, "model.act_fn: must be one of relu, gelu"),
    ({"act_fn": "tanh"}, "model.act_fn: must be one of relu, gelu, square for the mlp kind"),
    ({"combine": "product"}, "model.combine: must be one of concat, sum, direct"),
    ({"embed": "tied"}, "model.embed: must be one of separate, shared"),
    ({"mlp_init": "xavier"}, "model.mlp_init: must be one of torch, gromov, chughtai"),
    ({"kind": "cnn"}, "model.kind: must be one of transformer, mlp"),
])
def test_bad_mlp_specs_are_one_line_errors(tmp_path, capsys, model, needle):
    result = cli(capsys, "train", write_spec(tmp_path, tiny_mlp_toml(model=model)), "--out", tmp_path / "run")
    assert result.code != 0
    one_line_error(result.err, needle)
    assert not (tmp_path / "run").exists()
