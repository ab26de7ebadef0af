"""Stander et al. 2024's coset view (``coset_view``): a hand-built coset circuit that computes a ∘ b exactly is read
as all coset neurons of the subgroups it was built from; random tables read none; and on the two trained group
fixtures (tests/fixtures/groups: an MLP on S4, a transformer on S5) grokking brings the coset neurons."""

from __future__ import annotations

import itertools
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from grokkit.analysis.fourier import FourierNotApplicable
from grokkit.analysis.groups.cosets import generated, left_cosets, neuron_cosets, right_cosets
from grokkit.data.dataset import AlgorithmicDataset, TaskConfig
from grokkit.data.groups import named_group
from grokkit.measures.offline import measure_model, measure_run
from grokkit.measures.registry import resolve
from grokkit.model.config import ModelConfig
from grokkit.model.mlp import build_mlp
from grokkit.run import Run

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "groups"


def point_stabiliser(group, m: int, i: int) -> np.ndarray:
    """The elements of S_m (``named_group``'s lexicographic order) that fix the point i."""
    perms = list(itertools.permutations(range(m)))
    return np.array([g for g, perm in enumerate(perms) if perm[i] == i])


def coset_circuit(m: int):
    """An MLP over S_m computing a ∘ b with m³ coset neurons and no training: neuron (i, j, k) fires iff
    b(i) = j and a(j) = k (ReLU(1[a(j) = k] + 1[b(i) = j] − 1)) and writes +1 to every c with c(i) = k. Then
    (a∘b)(i) = a(b(i)) fires exactly the neurons with k = c(i) for the answer c: its logit is m, any other's
    is the number of points where it agrees with the answer, < m. 1[a(j) = k] is constant on the right cosets
    Stab(k)∘a, 1[b(i) = j] on the left cosets b∘Stab(i)."""
    task = TaskConfig(op="compose", group=f"S{m}", frac_train=0.5)
    perms = np.array(list(itertools.permutations(range(m))))  # [n, m], the group's elements in its order
    neurons = list(itertools.product(range(m), repeat=3))  # (i, j, k)
    cfg = ModelConfig(kind="mlp", d_mlp=len(neurons), combine="direct", act_fn="relu", train_biases=False)
    model = build_mlp(cfg, task)
    W_a = np.stack([perms[:, j] == k for i, j, k in neurons], axis=1).astype(float)  # [n, d_mlp]
    W_b = np.stack([perms[:, i] == j for i, j, k in neurons], axis=1).astype(float) - 1.0  # the −1: an AND
    W_U = np.stack([perms[:, i] == k for i, j, k in neurons], axis=1).astype(float)  # [n classes, d_mlp]
    with torch.no_grad():
        model.embed_a.weight.copy_(torch.tensor(W_a))
        model.embed_b.weight.copy_(torch.tensor(W_b))
        model.unembed.weight.copy_(torch.tensor(W_U))
    return model, task, neurons


def test_the_subgroup_a_set_generates_and_its_cosets():
    S4 = named_group("S4")
    H = point_stabiliser(S4, 4, 3)
    assert generated(S4, H).tolist() == H.tolist()  # a subgroup generates itself
    name = S4.elements.index
    assert len(generated(S4, [name("(0 1)"), name("(0 1 2 3)")])) == 24  # a transposition and a 4-cycle: S4
    assert len(generated(S4, [name("(0 1)"), name("(2 3)")])) == 4  # two disjoint transpositions: C2 × C2
    # right cosets H∘x partition G into [G:H] = 4 blocks of |H| = 6; left ones too, and they differ (H not normal)
    for labels in (right_cosets(S4, H), left_cosets(S4, H)):
        assert sorted(np.unique(labels, return_counts=True)[1].tolist()) == [6] * 4
    assert not np.array_equal(np.unique(right_cosets(S4, H), return_inverse=True)[1],
                              np.unique(left_cosets(S4, H), return_inverse=True)[1])


@pytest.mark.parametrize("m", [3, 4])
def test_a_hand_built_coset_circuit_is_exact_and_read_as_coset_neurons(m):
    model, task, neurons = coset_circuit(m)
    ds = AlgorithmicDataset(task)
    logits = model(ds.tokens)[:, -1]
    assert (logits.argmax(-1) == ds.labels).all()  # a ∘ b, with no training

    acts = model.run_with_cache(ds.tokens)[1]["hook_post"][:, -1]  # [n*n, d_mlp], row a·n + b
    view = neuron_cosets(named_group(f"S{m}"), acts)
    group = named_group(f"S{m}")
    for n_, (i, j, k) in enumerate(neurons):
        assert float(view.mass[n_]) > 0  # every neuron fires on some pair
        assert view.left[n_].tolist() == point_stabiliser(group, m, k).tolist()  # a's table: Stab(k)∘a
        assert view.right[n_].tolist() == point_stabiliser(group, m, i).tolist()  # b's table: b∘Stab(i)
    assert torch.allclose(view.kappa, torch.ones_like(view.kappa)) and bool(view.coset_neuron.all())

    row = measure_model(model, ds, ["coset_view"])
    order = str(len(point_stabiliser(group, m, 0)))  # (m − 1)!
    assert row["coset_frac_neurons"] == 1.0 and row["coset_concentration"] == pytest.approx(1.0)
    assert row["coset_subgroups"] == {order: 2 * m**3} and row["coset_distinct"] == m  # the m point stabilisers


def test_random_neurons_read_no_cosets():
    S4 = named_group("S4")
    acts = torch.randn(S4.n * S4.n, 32, generator=torch.Generator().manual_seed(0))
    view = neuron_cosets(S4, acts)
    assert all(len(h) == 1 and len(k) == 1 for h, k in zip(view.left, view.right))
    assert float(view.kappa.abs().max()) == 0.0 and not bool(view.coset_neuron.any())


def test_the_coset_view_applies_to_compose_only():
    assert "coset_view" in {m.name for m in resolve(None, "compose")}
    assert "coset_view" in {m.name for m in resolve(None, "compose", model_kind="mlp", act_fn="square")}
    assert "coset_view" not in {m.name for m in resolve(None, "add")}
    with pytest.raises(FourierNotApplicable, match="coset_view: op 's5_conjugate' has the s5 group"):
        resolve(["coset_view"], "s5_conjugate")


@pytest.fixture(scope="module", params=sorted(p.name for p in FIXTURES.iterdir() if (p / "config.json").is_file()))
def measured(request, tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("cosets") / request.param
    shutil.copytree(FIXTURES / request.param, run_dir)
    run = Run(run_dir)
    return run, measure_run(run, ["coset_view"], progress=False)


def test_grokking_brings_coset_neurons_in_both_trained_models(measured):
    run, rows = measured
    before, after = rows[0], rows[-1]
    metrics = {r["step"]: r for r in run.metrics()}
    assert metrics[after["step"]]["test_acc"] >= 0.99 > metrics[before["step"]]["test_acc"]
    assert after["coset_frac_neurons"] > max(0.5, before["coset_frac_neurons"])
    assert after["coset_concentration"] > max(0.85, before["coset_concentration"])
    n = run.config.task.finite_group.n
    orders = {int(k): v for k, v in after["coset_subgroups"].items()}
    assert orders and all(1 < order < n and n % order == 0 for order in orders)  # Lagrange
    # the point stabilisers (order (m − 1)!) are the subgroups most read: S3 in S4, S4 in S5 (Stander et al.)
    m = {24: 4, 120: 5}[n]
    assert max(orders, key=orders.get) == np.prod(range(1, m))


def test_info_and_the_report_show_the_coset_view(measured, capsys):
    from conftest import cli

    run, _ = measured
    if run.config.model.kind != "mlp":
        pytest.skip("one report is enough: the S5 transformer's takes 30 s on a loaded box")
    out = cli(capsys, "info", run.path).out
    assert "cosets   " in out and "of neurons read cosets" in out
    result = cli(capsys, "report", run.path)
    assert result.code == 0, result.err
    html = (run.path / "report.html").read_text(encoding="utf-8")
    assert "Coset view: neurons reading cosets of subgroups" in html
