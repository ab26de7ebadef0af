"""Chughtai et al.'s measures on trained group models (tests/fixtures/groups: a transformer and an MLP,
each before and after grokking): irrep shares, key irreps by the logits rule, excluded and restricted loss."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from grokkit.analysis.groups import group_for
from grokkit.analysis.groups.irreps import real_irreps
from grokkit.measures.offline import measure_run
from grokkit.run import Run

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "groups"
RUNS = sorted(p.name for p in FIXTURES.iterdir() if (p / "config.json").is_file()) if FIXTURES.is_dir() else []
MEASURES = ["loss", "excluded", "restricted", "irrep_shares"]


@pytest.fixture(scope="module", params=RUNS)
def measured(request, tmp_path_factory):
    import shutil

    run_dir = tmp_path_factory.mktemp("irreps") / request.param
    shutil.copytree(FIXTURES / request.param, run_dir)
    run = Run(run_dir)
    return run, measure_run(run, MEASURES)


def test_there_are_trained_fixtures_of_both_model_kinds():
    kinds = {Run(FIXTURES / name).config.model.kind for name in RUNS}
    assert len(RUNS) >= 2 and kinds == {"transformer", "mlp"}


def test_shares_are_fractions_and_the_keys_hold_the_logits(measured):
    run, rows = measured
    before, after = rows[0], rows[-1]
    keys = after["key_freqs"]
    n_components = len(group_for(run.config.task).component_names)
    assert 0 < len(keys) <= n_components
    for row in rows:
        for what in ("irrep_embed", "irrep_unembed", "irrep_neurons", "irrep_logits"):
            shares = np.array(list(row[what].values()))
            assert len(shares) == n_components and (shares >= -1e-12).all() and shares.sum() <= 1 + 1e-9, what
        # the logits rule's explained share is the keys' logit attribution, summed
        assert sum(row["irrep_logits"][str(k)] for k in keys) == pytest.approx(row["keys_explained"], rel=1e-9)
    # (an MLP's logits keep parts that depend on a or b alone: they lie along no key direction)
    assert after["keys_explained"] > max(0.5, before["keys_explained"])
    # grokked: the weights concentrate on the key irreps (Chughtai et al.'s embed / unembed / neuron fractions)
    for what in ("irrep_embed", "irrep_unembed", "irrep_neurons"):
        assert sum(after[what][str(k)] for k in keys) > max(0.5, sum(before[what][str(k)] for k in keys)), what


def test_restricted_loss_in_the_irrep_basis_tracks_the_model_and_excluded_loss_breaks_it(measured):
    _, rows = measured
    after = rows[-1]
    assert after["test_acc"] >= 0.99
    assert after["restricted_loss"] < 0.1 and after["restricted_acc"] == 1.0
    assert after["excluded_loss"] > 10 * max(after["train_loss"], 0.05)
    assert rows[0]["restricted_loss"] > after["restricted_loss"]


def test_the_key_irreps_together_are_faithful(measured):
    """100 % accuracy needs irreps whose direct sum tells every element apart: only the identity lies in
    the kernel of all key irreps together."""
    run, rows = measured
    group = run.config.task.finite_group
    irreps = real_irreps(group)
    kernel = np.ones(group.n, dtype=bool)
    for k in rows[-1]["key_freqs"]:
        s = irreps[k].matrices
        kernel &= np.abs(s - np.eye(s.shape[1])).max(axis=(1, 2)) < 1e-9
    assert kernel.tolist() == [True] + [False] * (group.n - 1)


def test_shares_read_the_models_own_weights(measured):
    """The embedding share is computed from the checkpoint's weights, in the group's basis, by hand."""
    run, rows = measured
    model = run.load_model()
    from grokkit.model.run_weights import weights_of

    W = weights_of(model).W_E.detach().double()[: run.config.task.n_symbols]
    basis = group_for(run.config.task).basis
    T = basis.F @ W
    mass = torch.zeros(basis.n_freqs + 1, dtype=torch.float64).index_add_(0, torch.tensor(basis.freqs),
                                                                           T.square().sum(1))
    expected = (mass[1:] / mass[1:].sum()).tolist()
    assert [rows[-1]["irrep_embed"][str(k + 1)] for k in range(basis.n_freqs)] == pytest.approx(expected, rel=1e-9)


def test_a_sweeps_key_share_columns_are_the_measures_sums(measured):
    """The sweep results' key_*_share columns (grokkit.sweep.results) sum the irrep shares over the key irreps
    of the final checkpoint; on these grokked models the learned irreps hold most of every weight."""
    from grokkit.sweep.results import key_names_of, key_shares_of

    run, rows = measured
    after = rows[-1]
    keys = after["key_freqs"]
    shares = key_shares_of(run, keys)
    for column, what in (("key_embed_share", "irrep_embed"), ("key_unembed_share", "irrep_unembed"),
                         ("key_neuron_share", "irrep_neurons"), ("key_logit_share", "irrep_logits")):
        assert shares[column] == pytest.approx(sum(after[what][str(k)] for k in keys), rel=1e-6), column
    assert min(shares["key_embed_share"], shares["key_unembed_share"], shares["key_neuron_share"]) > 0.5
    assert len(key_names_of(run, keys)) == len(keys) and key_shares_of(run, None) == dict.fromkeys(shares)
