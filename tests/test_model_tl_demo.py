"""tasks/tl_demo.toml starts from the TransformerLens demo's very weights (fixture from old releases)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import torch

from grokkit.data.dataset import AlgorithmicDataset
from grokkit.model.build import build_model
from grokkit.model.hooked import bridge_to_hooked
from grokkit.spec import load_spec

FIXTURE = Path(__file__).parent / "fixtures" / "tl_demo_init.json"


@pytest.fixture(scope="module")
def demo():
    config = load_spec("tl_demo")
    model = build_model(config.model, config.task)
    return config, model, json.loads(FIXTURE.read_text(encoding="utf-8"))


def same_kernels(fixture: dict) -> bool:
    """torch's vectorised normal_ (AVX2 and AVX512 agree) and its scalar one round differently."""
    vectorised = ("AVX2", "AVX512")
    ours = torch.backends.cpu.get_cpu_capability()
    return ours == fixture["cpu_capability"] or (ours in vectorised and fixture["cpu_capability"] in vectorised)


def test_every_initial_tensor_is_bit_identical_to_the_demos(demo) -> None:
    config, model, fixture = demo
    ours = bridge_to_hooked(model.state_dict(), config.model.n_heads)
    assert set(ours) == set(fixture["tensors"])
    for name, expected in fixture["tensors"].items():
        tensor = ours[name].contiguous()
        assert list(tensor.shape) == expected["shape"] and str(tensor.dtype) == f"torch.{expected['dtype']}"
        if same_kernels(fixture):
            digest = hashlib.sha256(tensor.numpy().tobytes()).hexdigest()
            assert digest == expected["sha256"], (name, tensor.double().sum().item(), expected["sum"])
        else:  # another kernel class: the same draws up to float rounding
            assert tensor.double().pow(2).sum().item() == pytest.approx(expected["sum_sq"], rel=1e-6)
            assert tensor.double().sum().item() == pytest.approx(expected["sum"], abs=1e-4)


def test_split_and_initial_losses_are_the_demos(demo) -> None:
    config, model, fixture = demo
    data = AlgorithmicDataset(config.task)
    assert hashlib.sha256(data.split.train.numpy().tobytes()).hexdigest() == fixture["train_rows_sha256"]
    with torch.no_grad():
        logits = model(data.tokens)[:, -1].double()
    for name, rows in (("train", data.split.train), ("test", data.split.test)):
        loss = -logits[rows].log_softmax(-1).gather(-1, data.labels[rows][:, None]).mean().item()
        assert loss == pytest.approx(fixture["initial_loss"][name], abs=1e-6)


def test_tl_demo_mode_trains_as_the_demos_loop(tmp_path) -> None:
    """A dozen updates of the demo's loop (written out: AdamW over model.parameters() with the biases
    frozen, no scheduler, float64 loss) and of grokkit in demo mode give the same losses. The demo logs
    its train loss before each update and its test loss after it."""
    from grokkit.train.runs import train
    from grokkit.model.hooked import hooked_init
    from grokkit.run import Run
    from grokkit.spec import config_from_dict
    from test_importer import hooked_forward

    p, d_model, n_heads, d_mlp, steps = 13, 16, 2, 32, 12
    d_head = d_model // n_heads
    weights = hooked_init(d_model, n_heads, d_head, d_mlp, 3, p + 1, p, seed=999, std=0.8 / d_model ** 0.5)
    params = {k: torch.nn.Parameter(v.clone()) for k, v in weights.items()}
    frozen = {"blocks.0.attn.b_Q": torch.zeros(n_heads, d_head), "blocks.0.attn.b_K": torch.zeros(n_heads, d_head),
              "blocks.0.attn.b_V": torch.zeros(n_heads, d_head), "blocks.0.attn.b_O": torch.zeros(d_model),
              "blocks.0.mlp.b_in": torch.zeros(d_mlp), "blocks.0.mlp.b_out": torch.zeros(d_model),
              "unembed.b_U": torch.zeros(p)}
    optimizer = torch.optim.AdamW(params.values(), lr=1e-3, weight_decay=1.0, betas=(0.9, 0.98))
    a, b = torch.arange(p).repeat_interleave(p), torch.arange(p).repeat(p)
    dataset, labels = torch.stack([a, b, torch.full_like(a, p)], dim=1), (a + b) % p
    generator = torch.Generator().manual_seed(598)
    indices = torch.randperm(p * p, generator=generator)
    train_rows, test_rows = indices[: int(p * p * 0.3)], indices[int(p * p * 0.3):]

    def loss(rows):
        logits = hooked_forward({**params, **frozen}, dataset[rows]).double()
        return -logits.log_softmax(-1).gather(-1, labels[rows][:, None])[:, 0].mean()

    train_losses, test_losses = [], []
    for _ in range(steps):
        train_loss = loss(train_rows)
        train_loss.backward()
        train_losses.append(train_loss.item())
        optimizer.step()
        optimizer.zero_grad()
        with torch.no_grad():
            test_losses.append(loss(test_rows).item())

    config = config_from_dict({
        "task": {"p": p, "frac_train": 0.3, "seed": 598, "split": "randperm"},
        "model": {"d_model": d_model, "n_heads": n_heads, "d_head": d_head, "d_mlp": d_mlp, "init": "hooked",
                  "seed": 999, "train_biases": False},
        "train": {"steps": steps, "eval_every": 1, "checkpoint_every": steps, "warmup_steps": 0, "beta2": 0.98,
                  "device": "cpu"},
    })
    run = Run.create(tmp_path / "run", config)
    train(run)
    rows = run.metrics()
    assert train_losses == pytest.approx([r["train_loss"] for r in rows[:steps]], rel=1e-7)
    assert test_losses == pytest.approx([r["test_loss"] for r in rows[1:steps + 1]], rel=1e-7)
