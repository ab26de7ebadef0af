"""Paper mode: the progress-measures paper's split, init and output classes, checked against its code."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
import torch

from grokkit.data.dataset import AlgorithmicDataset, TaskConfig, make_split
from grokkit.errors import ConfigError, SpecError
from grokkit.model.build import build_model
from grokkit.model.config import ModelConfig
from grokkit.spec import load_spec, packaged_specs, resolve_spec_path
from test_importer import all_tokens, paper_forward


def gen_train_test(p: int, frac_train: float, seed: int) -> tuple[list, list]:
    """The paper's gen_train_test, line for line."""
    pairs = [(i, j, p) for i in range(p) for j in range(p)]
    random.seed(seed)
    random.shuffle(pairs)
    div = int(frac_train * len(pairs))
    return pairs[:div], pairs[div:]


@pytest.mark.parametrize("p, frac, seed", [(113, 0.3, 0), (13, 0.5, 7)])
def test_paper_split_is_gen_train_test(p: int, frac: float, seed: int) -> None:
    state = random.getstate()
    try:
        train, test = gen_train_test(p, frac, seed)
    finally:
        random.setstate(state)
    data = AlgorithmicDataset(TaskConfig(p=p, frac_train=frac, seed=seed, split="paper"))
    assert data.split.train.tolist() == sorted(x * p + y for x, y, _ in train)
    assert data.split.test.tolist() == sorted(x * p + y for x, y, _ in test)
    if p == 113:
        assert (len(train), len(test)) == (3830, 8939)


def test_randperm_split_is_unchanged_and_unknown_split_refused() -> None:
    generator = torch.Generator().manual_seed(598)
    perm = torch.randperm(169, generator=generator)
    assert make_split(169, 0.3, 598).train.tolist() == sorted(perm[:50].tolist())
    with pytest.raises(ConfigError, match="task.split"):
        TaskConfig(split="shuffle")


def paper_constructor_draws(seed: int, p: int, d_model: int, n_heads: int, d_mlp: int) -> dict[str, torch.Tensor]:
    """The paper's Transformer(config) draws after torch.manual_seed(seed), in its constructor's order."""
    d_head, d_vocab = d_model // n_heads, p + 1
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return {
            "embed.W_E": torch.randn(d_model, d_vocab) / np.sqrt(d_model),
            "pos_embed.W_pos": torch.randn(3, d_model) / np.sqrt(d_model),
            "blocks.0.attn.W_K": torch.randn(n_heads, d_head, d_model) / np.sqrt(d_model),
            "blocks.0.attn.W_Q": torch.randn(n_heads, d_head, d_model) / np.sqrt(d_model),
            "blocks.0.attn.W_V": torch.randn(n_heads, d_head, d_model) / np.sqrt(d_model),
            "blocks.0.attn.W_O": torch.randn(d_model, d_head * n_heads) / np.sqrt(d_model),
            "blocks.0.attn.mask": torch.tril(torch.ones((3, 3))),
            "blocks.0.mlp.W_in": torch.randn(d_mlp, d_model) / np.sqrt(d_model),
            "blocks.0.mlp.b_in": torch.zeros(d_mlp),
            "blocks.0.mlp.W_out": torch.randn(d_model, d_mlp) / np.sqrt(d_model),
            "blocks.0.mlp.b_out": torch.zeros(d_model),
            "unembed.W_U": torch.randn(d_model, d_vocab) / np.sqrt(d_vocab),
        }


def test_paper_init_is_the_papers_constructor_under_manual_seed() -> None:
    p, d_model, n_heads, d_mlp = 13, 16, 2, 32
    model = build_model(ModelConfig(d_model=d_model, n_heads=n_heads, d_head=d_model // n_heads, d_mlp=d_mlp,
                                    init="paper", eq_output=True, train_biases=True, seed=3), TaskConfig(p=p))
    reference = paper_constructor_draws(3, p, d_model, n_heads, d_mlp)
    with torch.no_grad():
        ours = model(all_tokens(p))[:, -1]
    torch.testing.assert_close(ours, paper_forward(reference, all_tokens(p)), rtol=1e-5, atol=1e-6)
    W_E = model.state_dict()["embed.weight"]
    torch.testing.assert_close(W_E, reference["embed.W_E"].T, rtol=0, atol=0)  # the very same draws


def test_eq_output_keeps_the_eq_class() -> None:
    small = dict(d_model=16, n_heads=2, d_head=8, d_mlp=32)
    with torch.no_grad():
        assert build_model(ModelConfig(**small), TaskConfig(p=13))(all_tokens())[:, -1].shape == (169, 13)
        assert build_model(ModelConfig(**small, eq_output=True), TaskConfig(p=13))(all_tokens())[:, -1].shape == (169, 14)
    with pytest.raises(ConfigError, match="model.init"):
        ModelConfig(init="xavier")


def test_paper_init_starts_near_uniform_loss_at_p_113() -> None:
    """Every weight at std 1/√d_model gives logits of order 1: the initial loss is near ln 114."""
    config = load_spec("nanda2023_paper")
    data = AlgorithmicDataset(config.task)
    with torch.no_grad():
        logits = build_model(config.model, config.task)(data.train_tokens)[:, -1]
    loss = torch.nn.functional.cross_entropy(logits.double(), data.train_labels).item()
    assert logits.shape[-1] == 114 and abs(loss - math.log(114)) < 0.5


def test_packaged_specs_resolve_by_name_and_paths_still_work() -> None:
    assert {"quickstart", "nanda2023", "nanda2023_paper"} <= set(packaged_specs())
    assert resolve_spec_path("quickstart") == resolve_spec_path("quickstart.toml") == packaged_specs()["quickstart"]
    assert resolve_spec_path(str(packaged_specs()["nanda2023"])) == packaged_specs()["nanda2023"]
    with pytest.raises(SpecError, match="packaged specs: .*quickstart"):
        resolve_spec_path("no_such_spec")
    with pytest.raises(SpecError, match="does not exist"):
        resolve_spec_path("some/dir/quickstart.toml")  # a path is a path: no fallback to the name


def test_nanda2023_paper_spec_sets_the_papers_choices() -> None:
    config = load_spec("nanda2023_paper")
    assert (config.task.split, config.task.seed, config.task.frac_train) == ("paper", 0, 0.3)
    assert (config.model.init, config.model.eq_output, config.model.train_biases) == ("paper", True, True)
    train = config.train
    assert (train.warmup_steps, train.warmup_from_zero, train.beta2, train.batch_size) == (10, True, 0.98, None)


def test_paper_mode_trains_as_the_papers_trainer(tmp_path) -> None:
    """A dozen updates of the paper's Trainer (written out: AdamW over every parameter, LambdaLR
    min(step/10, 1), float64 loss, losses logged before each update) and of grokkit in paper mode,
    from the same initial weights and split, give the same train and test losses."""
    from grokkit.train.runs import train
    from grokkit.run import Run
    from grokkit.spec import config_from_dict

    p, d_model, n_heads, d_mlp, seed, steps = 13, 16, 2, 32, 5, 12
    state = random.getstate()
    try:
        train_pairs, test_pairs = gen_train_test(p, 0.3, seed)
    finally:
        random.setstate(state)
    weights = paper_constructor_draws(seed, p, d_model, n_heads, d_mlp)
    params = {k: torch.nn.Parameter(v.clone()) for k, v in weights.items() if k != "blocks.0.attn.mask"}
    optimizer = torch.optim.AdamW(params.values(), lr=1e-3, weight_decay=1.0, betas=(0.9, 0.98))
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: min(step / 10, 1))

    def full_loss(pairs):
        tokens = torch.tensor(pairs)
        logits = paper_forward({**params, "blocks.0.attn.mask": weights["blocks.0.attn.mask"]}, tokens)
        return torch.nn.functional.cross_entropy(logits.double(), (tokens[:, 0] + tokens[:, 1]) % p)

    theirs = []
    for _ in range(steps):
        train_loss, test_loss = full_loss(train_pairs), full_loss(test_pairs)
        theirs.append((train_loss.item(), test_loss.item()))
        train_loss.backward()
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad()

    config = config_from_dict({
        "task": {"p": p, "frac_train": 0.3, "seed": seed, "split": "paper"},
        "model": {"d_model": d_model, "n_heads": n_heads, "d_head": d_model // n_heads, "d_mlp": d_mlp,
                  "init": "paper", "seed": seed, "eq_output": True, "train_biases": True},
        "train": {"steps": steps, "eval_every": 1, "checkpoint_every": steps, "warmup_steps": 10,
                  "warmup_from_zero": True, "beta2": 0.98, "device": "cpu"},
    })
    run = Run.create(tmp_path / "run", config)
    train(run)
    ours = [(row["train_loss"], row["test_loss"]) for row in run.metrics()][:steps]
    assert theirs[0] == pytest.approx(ours[0], rel=1e-6)  # the same model before any update
    assert theirs[1] == pytest.approx(ours[1], rel=1e-6)  # the first update had lr 0
    flat = [loss for pair in theirs for loss in pair]
    assert flat == pytest.approx([loss for pair in ours for loss in pair], rel=1e-7)  # 5e-9 measured
    assert ours[-1][0] < ours[1][0]  # and it did train
