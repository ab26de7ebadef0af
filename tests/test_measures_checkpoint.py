"""One checkpoint as the measures see it (``grokkit.measures.checkpoint``), and the report reading it: the
report's final-checkpoint arrays are the measures' activations, group, keys and self-check, not a copy."""

from __future__ import annotations

import functools
import shutil
import tempfile
import atexit

import pytest
import torch

from conftest import tiny_dict, tiny_mlp_dict

SPECS = {
    "transformer": tiny_dict(model={"attn_coeff": 0.5}),
    "mlp": tiny_mlp_dict(),
    "s5": tiny_dict(task={"op": "s5_compose", "frac_train": 0.3}, train={"steps": 20}),
}


@functools.lru_cache(maxsize=None)
def measured(name: str):
    """A tiny run of ``SPECS[name]``, trained and measured once per session (read it, never write to it)."""
    from grokkit.measures.offline import measure_run
    from grokkit.run import Run
    from grokkit.spec import config_from_dict
    from grokkit.workflow import train_run

    path = tempfile.mkdtemp(prefix="grokkit-ckpt-")
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    run = Run.create(f"{path}/run", config_from_dict(SPECS[name]))
    train_run(run, progress=False)
    measure_run(run)
    return run


def measures_context(run):
    """The final checkpoint as ``measure_run`` reads it: a built model, its weights' views, the run's context."""
    from grokkit.measures.base import Context, RunContext
    from grokkit.model.run_weights import weights_of

    ctx_run = RunContext.of(run.dataset, "cpu", run.config.measures, metrics=run.metrics)
    return Context(ctx_run, run.checkpoint_steps()[-1], weights_of(run.load_model()))


@pytest.mark.parametrize("name", SPECS)
def test_the_checkpoint_reads_as_the_measures_read_it(name) -> None:
    """Bit for bit: activations, embedding, and the key components the measures found at the final checkpoint."""
    from grokkit.measures.base import detect_keys
    from grokkit.measures.checkpoint import checkpoint_context

    run = measured(name)
    ours, theirs = checkpoint_context(run), measures_context(run)
    assert ours.step == theirs.step == run.checkpoint_steps()[-1]
    for field in ("logits", "post", "pattern"):
        a, b = getattr(ours.act, field), getattr(theirs.act, field)
        assert (a is None) == (b is None) and (a is None or torch.equal(a, b)), field
    assert torch.equal(ours.weights.W_E, theirs.weights.W_E)
    last = run.measures()[-1]
    cfg = run.config.measures
    assert detect_keys(ours, cfg.key_freq_rule, cfg.key_explain).keys == last["key_freqs"]


@pytest.mark.parametrize("name", SPECS)
def test_the_reports_arrays_are_the_measures(name, tmp_path) -> None:
    """The report's key components are the measures row's; without a measures table it detects the same ones
    (the measures' detector, on the same logits), and its logit shares are the measures' context's."""
    from grokkit.analysis.groups.base import component_logit_shares
    from grokkit.report.collect import collect
    from grokkit.run import Run

    run = measured(name)
    final = collect(run).final
    last = run.measures()[-1]
    assert final.step == last["step"] and final.key_freqs == last["key_freqs"]
    assert final.keys_explained == last["keys_explained"]
    ctx = measures_context(run)
    shares = component_logit_shares(ctx.run.basis, ctx.run.grid.labels, ctx.grid_logits).float().numpy()
    assert (final.component_shares == shares).all()

    copy = tmp_path / "run"
    shutil.copytree(run.path, copy)
    (copy / "measures.jsonl").unlink()
    alone = collect(Run(copy)).final
    assert alone.key_freqs == last["key_freqs"] and "detected at step" in alone.key_freqs_source
    assert alone.keys_explained == pytest.approx(last["keys_explained"], rel=1e-12)
    for field in ("embed_norms", "neuron_freq", "logit_fourier", "component_shares"):
        assert (getattr(alone, field) == getattr(final, field)).all(), field


def test_a_deeper_model_is_read_through_its_hooks(tmp_path) -> None:
    """No weights by name for two layers: the model is built and its layer-0 hooks read (as the bridge's cache)."""
    from grokkit.measures.checkpoint import checkpoint_context
    from grokkit.report.collect import collect
    from grokkit.run import Run
    from grokkit.spec import config_from_dict
    from grokkit.workflow import train_run

    config = tiny_dict(model={"n_layers": 2}, train={"steps": 10, "checkpoint_every": 10, "eval_every": 10})
    run = Run.create(tmp_path / "run", config_from_dict(config))
    train_run(run, progress=False)
    ctx = checkpoint_context(run)
    logits, cache = run.load_model().run_with_cache(run.dataset.tokens)
    assert torch.equal(ctx.act.logits, logits[:, -1])
    assert torch.equal(ctx.act.post, cache["blocks.0.mlp.hook_post"][:, -1])
    assert torch.equal(ctx.act.pattern, cache["blocks.0.attn.hook_pattern"][:, :, -1])
    final = collect(run).final
    assert final.key_freqs is not None and final.embed_norms is not None and final.attn_eq is not None


def test_one_constructor_for_a_runs_context(tiny_config) -> None:
    """``RunContext.of``: the [measures] settings, a caller's overrides, and the key source they imply."""
    from grokkit.data.dataset import AlgorithmicDataset
    from grokkit.measures.base import RunContext

    config = tiny_config(measures={"key_freq_rule": "neurons", "key_explain": 0.9, "gini_over": "rows"})
    ds = AlgorithmicDataset(config.task)
    ctx = RunContext.of(ds, "cpu", config.measures)
    assert (ctx.key_freqs, ctx.key_freqs_source, ctx.key_freq_rule, ctx.key_explain, ctx.gini_over) == (
        None, "final", "neurons", 0.9, "rows")
    assert ctx.sgld == config.measures.sgld
    assert RunContext.of(ds, "cpu", config.measures, per_checkpoint=True).key_freqs_source == "per_checkpoint"
    given = RunContext.of(ds, "cpu", key_freqs=[3, 1, 3], rule="logits", explain=0.5)
    assert (given.key_freqs, given.key_freqs_source, given.key_freq_rule, given.key_explain) == (
        [1, 3], "user", "logits", 0.5)


def test_a_context_without_a_config_has_the_configs_defaults(tiny_config) -> None:
    from grokkit.data.dataset import AlgorithmicDataset
    from grokkit.measures.base import RunContext
    from grokkit.measures.config import MeasuresConfig

    config = tiny_config()
    ds = AlgorithmicDataset(config.task)
    bare, default = RunContext.of(ds, "cpu"), RunContext.of(ds, "cpu", MeasuresConfig())
    for field in ("key_freq_rule", "key_explain", "gini_over", "sgld", "key_freqs_source"):
        assert getattr(bare, field) == getattr(default, field), field
