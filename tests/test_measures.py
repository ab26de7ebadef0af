"""Progress measures: the mathematics on hand-built logit tables, then on a tiny trained run."""

from __future__ import annotations

import json
import math
import shutil

import pytest
import torch

from grokkit.analysis.fourier import FourierNotApplicable, neuron_logit_map
from grokkit.data.dataset import AlgorithmicDataset, TaskConfig
from grokkit.errors import ConfigError, GrokkitError, RunError
from grokkit.measures.activations import from_hooks, from_weights
from grokkit.model.run_weights import LastPosition
from grokkit.measures.base import Context, MeasureError, RunContext
from grokkit.measures.gini import gini
from grokkit.measures.phases import detect_phases
from grokkit.measures.registry import MEASURES, resolve

from conftest import tiny_run

P = 13


def table_context(L: torch.Tensor, key_freqs: list[int], op: str = "add") -> Context:
    """A context whose 'model' is just the logit table ``L [p*p, p]``."""
    ds = AlgorithmicDataset(TaskConfig(op=op, p=P, frac_train=0.5))
    run = RunContext(ds, torch.device("cpu"), key_freqs=key_freqs, key_freqs_source="user")
    act = LastPosition(L, torch.zeros(len(L), 1), torch.zeros(len(L), 1, 3))
    return Context(run, 0, weights=None, activations=lambda: act)


def wave_table(freqs: dict[int, float], sign: int = 1, bias: torch.Tensor | None = None) -> torch.Tensor:
    """L[a, b, c] = Σ_k β_k cos(ω_k(a ± b − c)) (+ a per-class bias): only key-frequency terms."""
    a = torch.arange(P, dtype=torch.float64)
    x = (a[:, None] + sign * a[None, :]).reshape(-1, 1)  # [p*p, 1]
    L = sum(beta * torch.cos(2 * math.pi * k * (x - a[None, :]) / P) for k, beta in freqs.items())
    return L + (bias if bias is not None else 0)


def full_loss(L: torch.Tensor, ctx: Context) -> float:
    return torch.nn.functional.cross_entropy(L, ctx.run.labels).item()


# --- mathematics on hand-built tables -------------------------------------------


@pytest.mark.parametrize("op,sign", [("add", 1), ("sub", -1)])
def test_key_frequency_table_restricted_equals_full_and_excluded_is_chance(op, sign):
    bias = torch.linspace(-0.1, 0.1, P, dtype=torch.float64)
    L = wave_table({2: 6.0, 5: 4.0}, sign, bias)
    ctx = table_context(L, [2, 5], op)
    restricted = MEASURES["restricted"].fn(ctx)
    assert restricted.restricted_loss == pytest.approx(full_loss(L, ctx), rel=1e-10)
    assert restricted.restricted_acc == 1.0
    excluded = MEASURES["excluded"].fn(ctx)
    # what is left is the per-class bias alone: the loss of knowing nothing, ≈ ln p
    train = ctx.run.train
    bias_only = torch.nn.functional.cross_entropy(bias.expand(len(train), P), ctx.run.labels[train]).item()
    assert excluded.excluded_loss == pytest.approx(bias_only, rel=1e-10)
    assert excluded.excluded_loss == pytest.approx(math.log(P), abs=0.02)
    loss = MEASURES["loss"].fn(ctx)
    assert loss.train_acc == loss.test_acc == 1.0


def test_removing_an_unused_frequency_leaves_the_loss_unchanged():
    L = wave_table({2: 6.0, 5: 4.0})
    ctx = table_context(L, [2, 4, 5])
    excluded = MEASURES["excluded"].fn(ctx)
    train_loss = MEASURES["loss"].fn(ctx).train_loss
    assert excluded.excluded_loss_per_freq["4"] == pytest.approx(train_loss, rel=1e-10)
    assert excluded.excluded_loss_per_freq["2"] > train_loss + 0.1


def test_restricted_keeps_only_the_key_frequencies():
    L = wave_table({2: 6.0}) + wave_table({4: 3.0})
    ctx = table_context(L, [2])
    only_2 = table_context(wave_table({2: 6.0}), [2])
    assert MEASURES["restricted"].fn(ctx).restricted_loss == pytest.approx(full_loss(only_2.logits, only_2), rel=1e-10)


@pytest.mark.parametrize("op,sign", [("add", 1), ("sub", -1)])
def test_cos_cube_coefficients_match_explicit_cubes(op, sign):
    a = torch.arange(P, dtype=torch.float64)
    x = a[:, None, None] + sign * a[None, :, None] - a[None, None, :]  # [p, p, p]
    cube = {k: torch.cos(2 * math.pi * k * x / P) for k in (1, 3, 4)}
    cube = {k: c / c.norm() for k, c in cube.items()}  # unit Frobenius norm
    noise = torch.randn(P, P, P, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    L = 2.5 * cube[3] + noise
    alpha = MEASURES["cos_cube"].fn(table_context(L.reshape(P * P, P), [1, 3, 4], op)).cos_cube_alpha
    for k in (1, 3, 4):
        assert alpha[str(k)] == pytest.approx((L * cube[k]).sum().item(), abs=1e-9)


def test_gini_hurley_rickard():
    assert gini(torch.ones(10)) == pytest.approx(0.0, abs=1e-12)
    assert gini(torch.tensor([0.0, 0, 0, 5])) == pytest.approx(1 - 1 / 4)
    assert gini(torch.tensor([1.0, 3.0])) == pytest.approx(1 - 2 * (0.25 * 1.5 / 2 + 0.75 * 0.5 / 2))
    assert gini(torch.zeros(3)) == 0.0


def test_detect_phases_on_shaped_curves():
    rows = []
    for step in range(0, 20_000, 100):
        train_acc = min(1.0, step / 1_400)
        if step < 1_500:
            test_loss = 4.7 + 30 * step / 1_500
        elif step < 13_000:
            test_loss = 34 - 28 * (step - 1_500) / 11_500  # slow decline during circuit formation
        elif step < 16_500:
            test_loss = 6 * 10 ** (-(step - 13_000) / 3_500 * 7)  # the crash, then cleanup
        else:
            test_loss = max(2e-7, 6e-7 * 0.9 ** ((step - 16_500) / 100))  # the floor
        rows.append({"step": step, "train_acc": train_acc, "test_loss": test_loss, "test_acc": float(test_loss < 1)})
    phases = detect_phases(rows)
    assert phases.memorisation_end == 1_400
    assert 12_500 <= phases.circuit_formation_end <= 13_500
    assert 15_500 <= phases.cleanup_end <= 17_000
    assert "train_acc" in phases.rule
    never = [dict(r, test_acc=0.0, test_loss=5.0) for r in rows]
    assert detect_phases(never).circuit_formation_end is None


def test_bad_names_and_ops_are_one_line_errors():
    with pytest.raises(MeasureError, match="unknown measure"):
        resolve(["loss", "nope"], "add")
    with pytest.raises(FourierNotApplicable, match="not a group operation"):
        resolve(["excluded"], "x2_plus_y")
    assert all(m.needs != "circuit" for m in resolve(None, "x2_plus_y"))
    assert "gini" in [m.name for m in resolve(None, "x2_plus_y")]  # the generic 2-D view applies
    assert [m.name for m in resolve(None, "mul")] == [m for m in MEASURES if m not in ("llc", "gromov_form", "irrep_shares",
                                                                                      "coset_view")]
    # all but the opt-in one, the MLP-only one and the ones for finite groups given by a table (and the S5 ops)
    with pytest.raises(MeasureError, match="final checkpoint"):
        resolve(["embedding_projection"], "add", live=True)
    assert "embedding_projection" not in [m.name for m in resolve(["all"], "add", live=True)]
    for error in (MeasureError, FourierNotApplicable):
        assert issubclass(error, GrokkitError)


def test_measures_spec_section(tiny_config):
    assert tiny_config().measures.live == []  # no [measures]: nothing live, as before
    with pytest.raises(ConfigError, match="measures.live"):
        tiny_config(measures={"live": ["loss", "bogus"]})
    with pytest.raises(ConfigError, match="measures.key_freq_rule"):
        tiny_config(measures={"key_freq_rule": "magic"})


# --- on a tiny trained run --------------------------------------------------------


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A copy of the shared tiny run: these tests measure it again, which rewrites its measures file
    (the shared folder is read by other test files, whose results must not depend on running after these)."""
    from grokkit.run import Run

    copy = tmp_path_factory.mktemp("measures") / "run"
    shutil.copytree(tiny_run().path, copy)
    return Run(copy)


def test_fast_activations_match_the_hooks(run):
    from grokkit.model.run_weights import weights_of

    model = run.load_model()
    tokens = run.dataset.tokens
    fast, hooked = from_weights(weights_of(model), tokens), from_hooks(model, tokens)
    for name in LastPosition._fields:
        assert torch.allclose(getattr(fast, name), getattr(hooked, name), atol=1e-5), name
    assert not any(hp.fwd_hooks for hp in model.hook_dict.values()), "a measure left a hook on the model"


def test_neuron_logit_map_from_bridge_or_weights(run):
    from grokkit.model.run_weights import weights_of

    model = run.load_model()
    W_L = neuron_logit_map(model)
    assert W_L.shape == (64, P)
    assert torch.allclose(W_L, neuron_logit_map(weights_of(model)), atol=1e-6)


def test_measure_run_writes_every_key_and_matches_live_rows(run):
    from grokkit.measures.offline import measure_run, read_measures

    live = read_measures(run.path)
    assert [r["step"] for r in live] == [0, 20, 40]
    rows = measure_run(run, key_freqs=[1, 3])
    assert rows == read_measures(run.path)
    keys = {k for m in resolve(None, "add") for k in m.keys} | {"step", "group", "key_freqs", "key_freqs_source", "key_rule", "keys_explained"}
    assert set(rows[-1]) == keys
    assert rows[-1]["key_freqs"] == [1, 3] and rows[-1]["key_freqs_source"] == "user" and rows[-1]["group"] == "Z_13"
    for live_row, row in zip(live, rows):
        for key, value in live_row.items():
            if isinstance(value, float):
                assert value == pytest.approx(row[key], rel=1e-5, abs=1e-9), key
    metrics = {r["step"]: r for r in run.metrics()}
    assert rows[-1]["test_loss"] == pytest.approx(metrics[40]["test_loss"], rel=1e-6)
    assert len(rows[-1]["attn_eq_to_a"]) == 2


def test_measure_run_key_frequency_sources(run):
    from grokkit.measures.offline import measure_run

    rows = measure_run(run, measures=["excluded", "restricted"], per_checkpoint_keys=True)
    assert {r["key_freqs_source"] for r in rows} == {"per_checkpoint"}
    rows = measure_run(run, measures=["loss"])
    assert "key_freqs" not in rows[-1]  # no Fourier measure, no key frequencies recorded
    with pytest.raises(MeasureError):
        measure_run(run, key_freqs=[1], per_checkpoint_keys=True)


def test_measure_run_without_checkpoints_writes_nothing(run, tmp_path):
    from grokkit.files.layout import MEASURES_FILE
    from grokkit.measures.offline import measure_run
    from grokkit.run import Run

    empty = Run.create(tmp_path / "empty", run.config)
    with pytest.raises(RunError, match="no checkpoints"):
        measure_run(empty)
    assert not (empty.path / MEASURES_FILE).exists()


def test_cli_measure_and_info(run, tmp_path, capsys):
    from grokkit.cli import main

    copy = tmp_path / "run"
    shutil.copytree(run.path, copy)
    assert main(["measure", str(copy), "--measures", "loss,bogus", "--no-progress"]) == 2
    assert "unknown measure" in capsys.readouterr().err
    assert main(["measure", str(copy), "--measures", "loss,excluded", "--key-freqs", "2", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "keys     [2], explain " in out and "(given by the user)" in out and "phases" in out
    assert json.loads((copy / "measures.jsonl").read_text().splitlines()[0])["step"] == 0
    assert main(["info", str(copy)]) == 0
    assert "memorisation ends" in capsys.readouterr().out


def test_live_callback_redoes_rows_after_a_resume(run, tmp_path):
    from grokkit.measures.live import LiveMeasures, live_measures
    from grokkit.measures.offline import read_measures
    from grokkit.run import Run
    from grokkit.spec import RunConfig

    copy = tmp_path / "run"
    shutil.copytree(run.path, copy)
    resumed = Run(copy)
    assert [r["step"] for r in read_measures(copy)][-1] == 40
    callback = LiveMeasures([resumed])
    callback.on_train_start([resumed], 20)  # training resumed from step 20 redoes the rows after 20
    assert [r["step"] for r in read_measures(copy)] == [0, 20]
    callback.on_checkpoint(resumed, 40, resumed.load_model(40))
    assert [r["step"] for r in read_measures(copy)] == [0, 20, 40]
    assert live_measures([Run.create(tmp_path / "quiet", RunConfig())]) == []  # no [measures] live


def test_paper_phases_follow_the_papers_definitions():
    """Synthetic curves shaped as the paper's: memorise, excluded rises and restricted falls, then cleanup."""
    from grokkit.measures.phases import detect_paper_phases

    rows = []
    for step in range(0, 2001, 100):
        rows.append({
            "step": step, "train_acc": 1.0 if step >= 200 else 0.5, "train_loss": 1e-7 if step >= 200 else 1.0,
            "excluded_loss": 1e-7 if step < 400 else 1.0 + step / 100,  # the circuit starts to carry the train loss at 400
            "restricted_loss": 5.0 if step < 1200 else 0.01,             # the circuit alone predicts from 1200
            "test_loss": 30.0 if step < 1100 else (10.0 if step < 1500 else (0.1 if step < 1800 else 1e-6)),
            "weight_norm": 100.0 - step / 100,
        })
    phases = detect_paper_phases(rows)
    assert (phases.memorisation_end, phases.circuit_formation_end, phases.cleanup_end) == (400, 1200, 1800)
    assert detect_paper_phases([{k: v for k, v in r.items() if k != "excluded_loss"} for r in rows]).memorisation_end is None
