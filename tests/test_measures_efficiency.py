"""Circuit efficiency (grokkit.measures.efficiency): the margins split the logit table as documented."""

from __future__ import annotations

from typing import NamedTuple

import pytest
import torch

from conftest import SMALL_MODEL, tiny_run, tiny_toml
from grokkit.measures.efficiency import efficiency
from test_measures import P, table_context, wave_table


class OneTensor(NamedTuple):
    """Stands in for a model's weights: one trained tensor of norm 2."""

    W: torch.Tensor


WEIGHTS = OneTensor(torch.tensor([1.2, 1.6], requires_grad=True))  # ‖θ‖ = 2


def centred_margin(L, ctx):
    rows = ctx.run.grid.train
    y = ctx.run.labels[ctx.run.grid.rows[rows]]
    C = L[rows] - L.mean(0)
    return (C.gather(1, y[:, None]).squeeze(1) - C.mean(1)).mean().item()


def with_weights(ctx):
    ctx.weights = WEIGHTS
    return ctx


def test_a_table_of_key_frequencies_is_all_generalising_circuit():
    bias = torch.linspace(-1, 1, P, dtype=torch.float64)
    L = wave_table({1: 2.0, 3: 1.0}, bias=bias)
    ctx = with_weights(table_context(L, [1, 3]))
    e = efficiency(ctx)
    assert e.param_norm == pytest.approx(2.0)
    assert e.margin_mem == pytest.approx(0.0, abs=1e-9)  # nothing outside the key directions
    assert e.margin_gen == pytest.approx(centred_margin(L, ctx)) and e.margin_gen > 0
    assert e.efficiency_gen == pytest.approx(e.margin_gen / 2)


def test_a_lookup_table_is_all_memorising_circuit_and_the_margins_add_up():
    torch.manual_seed(0)
    lookup = torch.randn(P * P, P, dtype=torch.float64)  # a random table: mostly outside the key directions
    ctx = with_weights(table_context(lookup, [1, 3]))
    e = efficiency(ctx)
    assert e.margin_gen + e.margin_mem == pytest.approx(centred_margin(lookup, ctx))
    # a table that memorises the training labels: its margin is carried by the residual
    ds = ctx.run
    memo = torch.zeros(P * P, P, dtype=torch.float64)
    train_rows = ds.grid.rows[ds.grid.train]
    memo[ds.grid.train, ds.labels[train_rows]] = 5.0
    m = efficiency(with_weights(table_context(memo, [1, 3])))
    assert m.margin_mem > 2 * m.margin_gen > 0  # the key directions carry their share of a lookup table only


def test_efficiency_on_two_trained_models(tmp_path, capsys):
    """On the shared tiny run and on a second, separately trained model: the margins add to the network's
    centred margin and ‖θ‖² is the weight-norm measure."""
    from conftest import cli
    from grokkit.measures.offline import measure_model
    from grokkit.run import Run

    spec = tmp_path / "spec.toml"
    spec.write_text(tiny_toml(task={"p": 11, "frac_train": 0.6}, model=SMALL_MODEL,
                              train={"lr": 0.01, "steps": 40, "eval_every": 20, "checkpoint_every": 40}))
    assert cli(capsys, "train", spec, "--out", tmp_path / "run", "--no-progress").code == 0
    for run in (tiny_run(), Run(tmp_path / "run")):
        model = run.load_model()
        row = measure_model(model, run.dataset, ["efficiency", "weight_norm", "excluded"], key_freqs=[1, 3])
        assert row["param_norm"] ** 2 == pytest.approx(row["weight_norm"])
        assert row["efficiency_gen"] == pytest.approx(row["margin_gen"] / row["param_norm"])
        assert row["efficiency"] == pytest.approx(row["efficiency_gen"] + row["efficiency_mem"])
        ds = run.dataset
        with torch.no_grad():
            L = model(ds.tokens)[:, -1, : ds.cfg.n_symbols].double()
        C = L - L.mean(0)
        train = ds.split.train
        y = ds.labels[train]
        whole = (C[train].gather(1, y[:, None]).squeeze(1) - C[train].mean(1)).mean().item()
        assert row["margin_gen"] + row["margin_mem"] == pytest.approx(whole, rel=1e-6, abs=1e-9)
