"""Every measure that applies to the MLP, on two differently trained tiny MLPs (Chughtai's ReLU model
with biases; Gromov's x² model with MSE), and Gromov's analytic solution: 100 % with no training,
and at distance zero from its own form."""

import functools
import math
import shutil
import tempfile
import atexit
import json

import pytest
import torch

from conftest import cli, tiny_mlp_dict
from grokkit.analysis.fourier import neuron_logit_map
from grokkit.data.dataset import AlgorithmicDataset, TaskConfig
from grokkit.measures.activations import from_hooks, from_weights
from grokkit.model.run_weights import LastPosition
from grokkit.measures.offline import measure_model, measure_run
from grokkit.measures.registry import MEASURES, resolve
from grokkit.model.gromov import analytic_state, assignment, gromov_solution
from grokkit.model.run_weights import weights_of
from grokkit.run import Run
from grokkit.spec import config_from_dict
from grokkit.workflow import train_run

MODELS = {
    "chughtai": {"train_biases": True},  # concat, relu
    "gromov": {"combine": "direct", "act_fn": "square", "mlp_init": "gromov", "d_mlp": 96},
}
TRAIN = {"chughtai": {"lr": 1e-2}, "gromov": {"loss": "mse", "weight_decay": 0.0, "lr": 3e-3}}


@functools.lru_cache(maxsize=None)
def trained(name: str) -> Run:
    """A 60-step p = 13 MLP run with checkpoints 0, 30, 60 (trained once per session)."""
    path = tempfile.mkdtemp(prefix=f"grokkit-mlp-{name}-")
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    config = tiny_mlp_dict(model=MODELS[name], train={"steps": 60, "eval_every": 30, "checkpoint_every": 30,
                                                      "device": "cpu", **TRAIN[name]})
    run = Run.create(f"{path}/run", config_from_dict(config))
    train_run(run, progress=False)
    return run


@pytest.fixture(params=sorted(MODELS), scope="module")
def run(request):
    return trained(request.param)


def test_every_applicable_measure_on_a_trained_mlp(run):
    rows = measure_run(run, ["all", "llc"])
    chosen = resolve(["all", "llc"], "add", model_kind="mlp", act_fn=run.config.model.act_fn)
    assert {m.name for m in chosen} >= {"loss", "excluded", "restricted", "gini", "weight_norm", "neurons_explained",
                                        "lookup_signature", "llc", "gromov_form"}
    assert not {"attention", "gradient_symmetricity"} & {m.name for m in chosen}
    for row in rows:
        assert {k for m in chosen for k in m.keys} <= set(row)
        for key, value in row.items():
            if isinstance(value, float):
                assert math.isfinite(value), key
    last = rows[-1]
    metrics = {r["step"]: r for r in run.metrics()}
    assert last["test_loss"] == pytest.approx(metrics[60]["test_loss"], rel=1e-5)
    params = {"W_E_a", "W_E_b", "W_U"} | ({"W_in", "b_in", "b_U"} if run.config.model.combine == "concat" else set())
    assert set(last["weight_norm_per_param"]) == params
    assert last["weight_norm"] == pytest.approx(sum(last["weight_norm_per_param"].values()))
    assert sum(last["gromov_freqs"].values()) == run.config.model.d_mlp


def test_restricted_to_every_frequency_is_the_full_loss_of_a_function_of_a_plus_b():
    """Gromov's grid solution's logits depend on a + b only: the (a + b) directions of every frequency
    (plus the means) keep the whole table; removing them leaves the per-class means, all equal: ln p."""
    model = gromov_solution(13, 6 * 16, phases="grid")
    dataset = AlgorithmicDataset(TaskConfig(op="add", p=13, frac_train=0.5))
    row = measure_model(model, dataset, ["loss", "restricted", "excluded"], key_freqs=list(range(1, 7)))
    full = torch.nn.functional.cross_entropy(model(dataset.tokens)[:, -1].double(), dataset.labels).item()
    assert row["restricted_loss"] == pytest.approx(full, rel=1e-5)
    assert row["excluded_loss"] == pytest.approx(math.log(13), rel=1e-4)  # each class's mean is the same


def test_fast_activations_match_the_hooks(run):
    model = run.load_model()
    tokens = run.dataset.tokens
    fast, hooked = from_weights(weights_of(model), tokens), from_hooks(model, tokens)
    assert fast.pattern is None and hooked.pattern is None
    for name in ("logits", "post"):
        torch.testing.assert_close(getattr(fast, name), getattr(hooked, name), atol=1e-5, rtol=1e-5)
    assert torch.equal(neuron_logit_map(model), model.W_U.T)
    assert not any(hp.fwd_hooks for hp in model.hook_dict.values())


def test_naming_a_transformer_measure_is_a_one_line_error(run, capsys):
    result = cli(capsys, "measure", run.path, "--measures", "attention")
    assert result.code != 0 and "not defined for model.kind = 'mlp' (no attention)" in result.err


@pytest.mark.parametrize("p, width, phases", [(13, 6 * 16, "grid"), (23, 11 * 48, "random"), (31, 15 * 16, "grid")])
def test_gromovs_analytic_solution_is_exact_with_no_training(p, width, phases):
    model = gromov_solution(p, width, phases=phases, seed=1)
    dataset = AlgorithmicDataset(TaskConfig(op="add", p=p))
    logits = model(dataset.tokens)[:, -1]
    assert (logits.argmax(-1) == dataset.labels).all()
    row = measure_model(model, dataset, ["gromov_form", "gini"], key_freqs=[1])
    assert row["gromov_ipr_in"] == pytest.approx(1.0, abs=1e-6) and row["gromov_ipr_out"] == pytest.approx(1.0, abs=1e-6)
    assert row["gromov_phase_error"] == pytest.approx(0.0, abs=1e-5) and row["gromov_same_freq"] == 1.0
    assert row["gromov_freqs"] == {str(k): width // ((p - 1) // 2) for k in range(1, (p + 1) // 2)}


def test_a_trained_mlp_is_measured_away_from_gromovs_form(run):
    row = measure_model(run.load_model(), run.dataset, ["gromov_form"], key_freqs=[1])
    assert row["gromov_ipr_in"] < 0.9 and row["gromov_phase_error"] > 0.05


def test_the_form_measure_reads_frequencies_and_phases_it_was_given():
    a = assignment(13, 96, phases="random", seed=3)
    from grokkit.analysis.gromov import neuron_forms, wrap

    state = analytic_state(13, a)
    f = neuron_forms(state["embed_a.weight"], state["embed_b.weight"], state["unembed.weight"])
    assert torch.equal(f.freq, a.freqs)
    assert wrap(f.phi_a - a.phi_a).abs().max() < 1e-5 and wrap(f.phi_b - a.phi_b).abs().max() < 1e-5


def test_gromov_measure_is_mlp_only():
    assert not MEASURES["gromov_form"].reads("transformer")
    assert "gromov_form" not in {m.name for m in resolve(None, "add")}


def test_mlp_sparsity_says_it_does_not_apply_to_the_square_activation(tmp_path, capsys):
    """x² is > 0 wherever its input is not exactly 0, so 'the share of neurons firing' is ≈ 1 whatever the network
    computes: the measure is left out for act_fn square, and info, measure and the report say why."""
    from conftest import cli, one_line_error, tiny_mlp_toml, write_spec
    from grokkit.measures.base import MeasureError
    from grokkit.measures.registry import not_for_model_line

    assert "mlp_sparsity" in {m.name for m in resolve(None, "add", model_kind="mlp", act_fn="relu")}
    assert "mlp_sparsity" not in {m.name for m in resolve(None, "add", model_kind="mlp", act_fn="square")}
    with pytest.raises(MeasureError, match="mlp_sparsity: not defined for model.kind = 'mlp', model.act_fn = 'square'"):
        resolve(["mlp_sparsity"], "add", model_kind="mlp", act_fn="square")
    assert "mlp_sparsity" not in not_for_model_line("transformer", "relu")
    assert "mlp_sparsity" not in not_for_model_line("mlp", "relu")

    spec = write_spec(tmp_path, tiny_mlp_toml(model={"act_fn": "square"}, train={"device": "cpu", "steps": 20}))
    run_dir = tmp_path / "square"
    result = cli(capsys, "run", spec, "--out", run_dir, "--no-progress")
    assert result.code == 0, result.err
    rows = [json.loads(line) for line in (run_dir / "measures.jsonl").read_text().splitlines()]
    assert "frac_neurons_explained" in rows[-1] and "mlp_active_frac" not in rows[-1]
    info = cli(capsys, "info", run_dir).out
    assert "skipped  not measured on the mlp kind with act_fn 'square': " in info and "mlp_sparsity (" in info
    assert "mlp_sparsity" in (run_dir / "report.html").read_text(encoding="utf-8")
    result = cli(capsys, "measure", run_dir, "--measures", "mlp_sparsity", "--no-progress")
    assert result.code != 0
    one_line_error(result.err, "mlp_sparsity", "square")


def test_lookup_signature_leaves_the_firing_share_out_for_the_square_activation():
    """lookup_signature's per-row share of neurons firing (post-activation > 0) is ≈ 1 under x² whatever the network
    computes (as for mlp_sparsity), so it is left empty there; its memorised/generalised shares, which read the logits
    only, are still measured. The relu run keeps every part, with the same memorised/generalised arithmetic."""
    for name, act_fn in (("gromov", "square"), ("chughtai", "relu")):
        run = trained(name)
        assert run.config.model.act_fn == act_fn
        model = run.load_model()
        row = measure_model(model, run.dataset, ["lookup_signature"], key_freqs=[1, 2])
        assert 0 <= row["lookup_memorised_frac"] <= 1 and 0 <= row["lookup_generalised_frac"] <= 1
        assert row["lookup_memorised_frac"] + row["lookup_generalised_frac"] <= 1 + 1e-9
        if act_fn == "square":
            from grokkit.measures.activations import from_weights

            post = from_weights(weights_of(model), run.dataset.tokens).post  # [N, d_mlp]
            assert (post > 0).double().mean() > 0.99  # what the share would read: every neuron "fires"
            assert row["lookup_active_frac"] == {}
        else:
            shares = row["lookup_active_frac"]
            assert {"train", "test"} <= set(shares) and all(0 <= v <= 1 for v in shares.values())
