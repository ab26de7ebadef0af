"""Every group end to end: a tiny mul, S5 and generic run measured and reported, and a model with a '=' class."""

from __future__ import annotations

import pytest
import torch

from grokkit.analysis.fourier import FourierNotApplicable

MODEL = {"d_model": 16, "n_heads": 2, "d_head": 8, "d_mlp": 32}


def tiny(tmp_path, task: dict, model: dict | None = None, steps: int = 4):
    from grokkit.run import Run
    from grokkit.spec import config_from_dict
    from grokkit.workflow import train_run

    spec = {"task": task, "model": {**MODEL, **(model or {})},
            "train": {"steps": steps, "eval_every": 2, "checkpoint_every": 2, "device": "cpu"}}
    run = Run.create(tmp_path / task["op"], config_from_dict(spec))
    train_run(run, progress=False)
    return run


@pytest.mark.parametrize("task,group,figures", [
    ({"op": "mul", "p": 7, "frac_train": 0.5}, "Z_7* ≅ Z_6 (exponents of 3)", ("fig-embed", "fig-logit_fourier")),
    ({"op": "s5_compose", "frac_train": 0.3}, "S5", ("fig-embed", "fig-logit_fourier", "fig-neurons")),
])
def test_group_runs_are_measured_and_reported(tmp_path, task, group, figures):
    from grokkit.measures.offline import measure_run
    from grokkit.report.collect import collect
    from grokkit.report.html import render_page

    run = tiny(tmp_path, task)
    rows = measure_run(run)
    assert rows[-1]["group"] == group and "excluded_loss" in rows[-1] and "cos_cube_alpha" in rows[-1]
    data = collect(run)
    assert data.final.group == group and data.final.key_freqs == rows[-1]["key_freqs"]
    page = render_page(data)
    for fig in figures:
        assert f"id='{fig}'" in page, fig


def test_a_generic_op_gets_the_basis_measures_and_says_why_not_the_circuit(tmp_path):
    from grokkit.measures.offline import measure_run
    from grokkit.report.collect import collect

    run = tiny(tmp_path, {"op": "x2_plus_y", "p": 7, "frac_train": 0.5})
    rows = measure_run(run)
    assert "gini_W_E" in rows[-1] and "frac_neurons_explained" in rows[-1] and "excluded_loss" not in rows[-1]
    assert "generic" in rows[-1]["group"]
    data = collect(run)
    assert data.final.logit_fourier is not None and "not a group operation" in data.missing["key_freqs"]
    with pytest.raises(FourierNotApplicable, match="not a group operation"):
        measure_run(run, ["restricted"])


def test_a_model_with_an_extra_eq_class_is_measured_on_the_symbols(tmp_path):
    """model.eq_output: W_U has p + 1 rows; the measures score the first p columns of the logits."""
    from grokkit.measures.offline import measure_run
    from grokkit.model.run_weights import last_position, weights_of

    run = tiny(tmp_path, {"op": "add", "p": 7, "frac_train": 0.5}, {"eq_output": True})
    model = run.load_model()
    assert weights_of(model).W_U.shape[0] == 8
    rows = measure_run(run, key_freqs=[1, 2])
    logits = last_position(weights_of(model), run.dataset.tokens).logits.detach().double()
    train = run.dataset.split.train
    expected = torch.nn.functional.cross_entropy(logits[train, :7], run.dataset.labels[train]).item()
    assert rows[-1]["train_loss"] == pytest.approx(expected, rel=1e-9)
    assert {"excluded_loss", "restricted_loss", "gini_W_L", "cos_cube_alpha"} <= set(rows[-1])
