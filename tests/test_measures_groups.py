"""The circuit measures in every group: hand-built logit tables for mul, div and S5, as for add."""

from __future__ import annotations

import math

import pytest
import torch

from grokkit.analysis.groups.base import character_kernel
from grokkit.data.dataset import AlgorithmicDataset, TaskConfig
from grokkit.model.run_weights import LastPosition
from grokkit.measures.base import Context, RunContext, detect_keys
from grokkit.measures.registry import MEASURES


def table_context(task: TaskConfig, L: torch.Tensor, key_freqs: list[int] | None) -> Context:
    """A context whose 'model' is just the logit table ``L [N, classes]`` (extra columns allowed)."""
    ds = AlgorithmicDataset(task)
    run = RunContext(ds, torch.device("cpu"), key_freqs=key_freqs, key_freqs_source="user")
    act = LastPosition(L, torch.zeros(len(L), 1), torch.zeros(len(L), 1, 3))
    return Context(run, 0, weights=None, activations=lambda: act)


def character_table(task: TaskConfig, betas: dict[int, float], bias: torch.Tensor) -> torch.Tensor:
    """L[(a, b), c] = Σ_k β_k · n·K_k[label(a, b), c] + bias_c on the group grid; bias alone elsewhere.

    n·K_k is the character χ_k(label·c⁻¹) up to the factor d_k (over Z_n: 2 cos(ω_k(x − c))).
    """
    ds = AlgorithmicDataset(task)
    ctx = table_context(task, torch.zeros(len(ds), task.n_symbols), None)
    group, grid = ctx.run.group, ctx.run.grid
    L = bias.expand(len(ds), task.n_symbols).clone()
    waves = sum(beta * group.n * character_kernel(group.basis, k) for k, beta in betas.items())  # [n, n]
    L[grid.rows[:, None], group.symbols[None, :]] += waves[grid.labels]
    return L


CASES = [
    (TaskConfig(op="mul", p=13, frac_train=0.5), {2: 6.0, 5: 4.0}),
    (TaskConfig(op="div", p=13, frac_train=0.5), {1: 5.0, 6: 4.0}),  # 6 = (p−1)/2, the Nyquist frequency
    (TaskConfig(op="s5_compose", frac_train=0.5), {1: 3.0, 3: 2.0}),  # standard and ∧²standard
    (TaskConfig(op="s5_conjugate", frac_train=0.5), {2: 3.0}),  # (3,2)
    (TaskConfig(op="compose", group="D_5", frac_train=0.5), {1: 4.0, 3: 3.0}),  # computed irreps: sign, a 2-dim
    (TaskConfig(op="compose", group="A4", frac_train=0.5), {1: 3.0, 2: 4.0}),  # 2: a 2-dim real irrep of complex type
    (TaskConfig(op="compose", group="Q_8", frac_train=0.5), {2: 3.0, 4: 3.0}),  # 4: the quaternionic one
]


@pytest.mark.parametrize("task,betas", CASES, ids=lambda c: getattr(c, "op", ""))
def test_key_component_table_restricted_equals_full_and_excluded_is_the_bias(task, betas):
    bias = torch.linspace(-0.1, 0.1, task.n_symbols, dtype=torch.float64)
    L = character_table(task, betas, bias)
    ctx = table_context(task, L, sorted(betas))
    grid = ctx.run.grid
    y = ctx.run.labels[grid.rows]
    full = torch.nn.functional.cross_entropy(L[grid.rows], y).item()
    restricted = MEASURES["restricted"].fn(ctx)
    assert restricted.restricted_loss == pytest.approx(full, rel=1e-10)
    assert restricted.restricted_acc == 1.0
    excluded = MEASURES["excluded"].fn(ctx)
    train_y = y[grid.train]
    bias_only = torch.nn.functional.cross_entropy(bias.expand(len(train_y), -1), train_y).item()
    assert excluded.excluded_loss == pytest.approx(bias_only, rel=1e-10)
    assert excluded.excluded_loss == pytest.approx(math.log(task.n_symbols), abs=0.02)


@pytest.mark.parametrize("task,betas", CASES[:3], ids=lambda c: getattr(c, "op", ""))
def test_cos_cube_finds_the_characters(task, betas):
    L = character_table(task, betas, torch.zeros(task.n_symbols, dtype=torch.float64))
    others = [k for k in (1, 2, 3, 4, 5, 6) if k not in betas][:2]
    ctx = table_context(task, L, sorted(betas) + others)
    alpha = MEASURES["cos_cube"].fn(ctx).cos_cube_alpha
    group, grid = ctx.run.group, ctx.run.grid
    table = L[grid.rows][:, group.symbols]
    for k in betas:  # a table of one character is all α for it
        cube = character_kernel(group.basis, k)[grid.labels]
        assert alpha[str(k)] == pytest.approx((table * cube).sum().item() / cube.norm().item(), rel=1e-10)
        assert alpha[str(k)] > 1
    for k in others:
        assert alpha[str(k)] == pytest.approx(0.0, abs=1e-9)


def test_a_zero_operand_is_outside_the_group_measures():
    """Rows with a = 0 or b = 0 do not enter the excluded or restricted loss of mul."""
    task = TaskConfig(op="mul", p=13, frac_train=0.5)
    L = character_table(task, {2: 6.0}, torch.zeros(13, dtype=torch.float64))
    zero_rows = (AlgorithmicDataset(task).x == 0) | (AlgorithmicDataset(task).y == 0)
    noisy = L.clone()
    noisy[zero_rows] = torch.randn(int(zero_rows.sum()), 13, dtype=torch.float64)
    for name in ("restricted", "excluded", "cos_cube"):
        assert MEASURES[name].fn(table_context(task, L, [2])) == MEASURES[name].fn(table_context(task, noisy, [2]))


def test_an_extra_output_class_is_dropped_before_scoring():
    """A model with the paper's p + 1 output classes ('=' included) is scored on the p residues."""
    task = TaskConfig(op="add", p=13, frac_train=0.5)
    L = character_table(task, {3: 5.0}, torch.zeros(13, dtype=torch.float64))
    with_eq = torch.cat([L, torch.full((len(L), 1), 50.0, dtype=torch.float64)], dim=1)  # a huge '=' logit
    for name in ("loss", "restricted", "excluded", "cos_cube"):
        assert MEASURES[name].fn(table_context(task, with_eq, [3])) == MEASURES[name].fn(table_context(task, L, [3]))


def test_key_components_from_neurons_of_an_s5_table():
    """Neurons that are matrix coefficients of one irrep of a·b are found as that component."""
    task = TaskConfig(op="s5_compose", frac_train=0.5)
    ctx = table_context(task, torch.zeros(120 * 120, 120), None)
    group, grid = ctx.run.group, ctx.run.grid
    rows = group.basis.rows_of(1)[:3] + group.basis.rows_of(4)[:2]  # standard, (2,2,1)
    post = torch.relu(group.basis.F[rows][:, grid.labels].T.float() + 0.5)  # [14400, 5] all > 0
    act = LastPosition(torch.zeros(14400, 120), post, torch.zeros(14400, 1, 3))
    ctx = Context(ctx.run, 0, weights=None, activations=lambda: act)
    assert detect_keys(ctx, "neurons").keys == [1, 4]


def test_lookup_signature_splits_memorised_from_generalised_rows():
    """Rows answered by a key-frequency wave are generalised; rows answered by a spike of their own are memorised."""
    task = TaskConfig(op="add", p=13, frac_train=0.5)
    ds = AlgorithmicDataset(task)
    L = character_table(task, {2: 3.0}, torch.zeros(13, dtype=torch.float64))
    memorised = ds.split.train[:20]  # these rows also get a lookup-table spike on their label
    L[memorised, ds.labels[memorised]] += 100.0
    post = torch.zeros(len(ds), 10)
    post[memorised, :1] = 1.0  # a memorised row fires 1 neuron of 10
    post[~torch.isin(torch.arange(len(ds)), memorised), :6] = 1.0  # every other row fires 6
    run = RunContext(ds, torch.device("cpu"), key_freqs=[2], key_freqs_source="user")
    act = LastPosition(L, post, torch.zeros(len(L), 1, 3))
    result = MEASURES["lookup_signature"].fn(Context(run, 0, weights=None, activations=lambda: act))
    n_train = len(ds.split.train)
    assert result.lookup_memorised_frac == pytest.approx(20 / n_train)
    assert result.lookup_generalised_frac == pytest.approx(1 - 20 / n_train)
    assert result.lookup_active_frac["memorised"] == pytest.approx(0.1)
    assert result.lookup_active_frac["generalised"] == pytest.approx(0.6)
    assert result.lookup_active_frac["test"] == pytest.approx(0.6)


def test_spec_key_freqs_are_checked_against_the_group():
    from grokkit.errors import ConfigError
    from grokkit.measures.config import MeasuresConfig

    MeasuresConfig(key_freqs=[2, 6]).check_task(TaskConfig(op="s5_compose"))  # irreps 1 … 6
    with pytest.raises(ConfigError, match="irreps of S5"):
        MeasuresConfig(key_freqs=[7]).check_task(TaskConfig(op="s5_compose"))
    with pytest.raises(ConfigError, match="measures.llc_lr"):
        MeasuresConfig(llc_lr=0)


@pytest.mark.parametrize("task,betas", CASES, ids=lambda c: getattr(c, "op", ""))
def test_key_components_from_the_logits(task, betas):
    L = character_table(task, betas, torch.linspace(-0.1, 0.1, task.n_symbols, dtype=torch.float64))
    ctx = table_context(task, L, None)
    keys = detect_keys(ctx, "logits")
    assert keys.keys == sorted(betas)
    assert keys.explained == pytest.approx(1.0, abs=1e-9)  # the table is nothing but these components
