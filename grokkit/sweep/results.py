"""The results table of a sweep: one row per run, from its run directory.

Columns: the run's name and varied settings; ``memorise_step`` / ``grok_step`` (first
logged step with train / test accuracy ≥ 0.99); ``outcome`` (``grokkit.measures.outcome``: not fitted,
memorised, semi-grokked, unsettled, grokked, ungrokked); the final losses and accuracies;
``key_freqs`` (``grokkit.analysis.keys.key_frequencies`` on the final checkpoint, tasks with a group
circuit) and ``key_names``, the same components by name (the irreps of an S5 or compose task: which
irreps each seed learned, Chughtai et al. 2023); over a task in an irrep basis, ``key_embed_share``,
``key_unembed_share``, ``key_neuron_share`` and ``key_logit_share`` (the key irreps' summed shares of the
``irrep_shares`` measure: how much of each weight the learned irreps explain); the phase boundaries of ``grokkit.measures.phases.detect_phases``
on the run's metrics; ``finished``.
"""

from __future__ import annotations

from typing import Any

METRICS = ("train_loss", "test_loss", "train_acc", "test_acc")


def key_freqs_of(run: Any) -> list[int] | None:
    """Key frequencies of the final checkpoint; None when the task has no Fourier circuit."""
    from grokkit.analysis.keys import key_frequencies
    from grokkit.errors import GrokkitError

    try:
        return key_frequencies(run.load_model(), run.dataset, rule=run.config.measures.key_freq_rule)
    except GrokkitError:
        return None


def key_names_of(run: Any, keys: list[int] | None) -> list[str] | None:
    """The names of key components ``keys`` in the run's group (``k=3`` over Z_p, ``4a`` over a computed group)."""
    if keys is None:
        return None
    from grokkit.analysis.groups import group_for

    group = group_for(run.config.task)
    return [group.component_name(k) for k in keys]


KEY_SHARES = {"key_embed_share": "irrep_embed", "key_unembed_share": "irrep_unembed",
              "key_neuron_share": "irrep_neurons", "key_logit_share": "irrep_logits"}


def key_shares_of(run: Any, keys: list[int] | None) -> dict[str, float | None]:
    """The key irreps' summed shares of the embedding, unembedding, neurons and logits at the final checkpoint
    (``grokkit.measures.irreps``); empty where the task has no irrep basis (its op declares no irreps)."""
    from grokkit.data.ops import OPERATIONS
    from grokkit.measures.registry import MEASURES

    task = run.config.task
    if task.is_mixture or not MEASURES["irrep_shares"].applies_to(OPERATIONS[task.op].analysis_group):
        return {}
    if keys is None:
        return dict.fromkeys(KEY_SHARES)
    import warnings

    from grokkit.measures.offline import measure_model

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the key self-check's warning: the row reports the numbers
        row = measure_model(run.load_model(), run.dataset, ["irrep_shares"], key_freqs=keys)
    return {column: sum(row[what][str(k)] for k in keys) for column, what in KEY_SHARES.items()}


def efficiency_of(run: Any) -> dict[str, float | None]:
    """``final_efficiency`` (the network's margin per unit norm), ``_gen`` and ``_mem`` at the final checkpoint
    (``grokkit.measures.efficiency``); None where the task has no circuit or the run no checkpoint."""
    import warnings

    from grokkit.errors import GrokkitError
    from grokkit.measures.offline import measure_model

    keys = ("efficiency", "efficiency_gen", "efficiency_mem")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the key self-check's warning: the sweep reports the numbers
            row = measure_model(run.load_model(), run.dataset, ["efficiency"], rule=run.config.measures.key_freq_rule)
    except GrokkitError:
        return {f"final_{k}": None for k in keys}
    return {f"final_{k}": row[k] for k in keys}


def result_row(name: str, settings: dict[str, Any], run: Any) -> dict[str, Any]:
    from grokkit.measures.outcome import classify
    from grokkit.measures.phases import story_of_run

    rows = run.metrics()
    last = rows[-1] if rows else {}
    story = story_of_run(run, rows, [])  # the milestones and phases info and the report show
    phases = story.phases
    status = run.status()
    outcome = classify(rows)  # grokkit.measures.outcome: the same word info and the report show
    return {
        "name": name,
        **settings,
        "milestones_from": story.source,  # imported_losses.jsonl: an imported run's own records, through a loss bound
        "memorise_step": story.milestones.memorised_step,
        "grok_step": story.milestones.grokked_step,
        "outcome": None if outcome is None else outcome.outcome,
        "final_step": last.get("step"),
        **{f"final_{k}": last.get(k) for k in METRICS},
        "key_freqs": (keys := key_freqs_of(run) if run.checkpoint_steps() and not run.config.task.is_mixture
                      else None),
        "key_names": key_names_of(run, keys),
        **key_shares_of(run, keys),
        "memorisation_end": phases.memorisation_end,
        "circuit_formation_end": phases.circuit_formation_end,
        "cleanup_end": phases.cleanup_end,
        "finished": status is not None and status.finished,
        "diverged_at": None if status is None else status.diverged_at,
        **mixture_columns(run, rows),
    }


def mixture_columns(run: Any, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """A task mixture's per-task milestones and final test accuracy (none for one task)."""
    from grokkit.measures.milestones import task_column, task_milestones

    task = run.config.task
    if not task.is_mixture:
        return {}
    out: dict[str, Any] = {}
    last = rows[-1] if rows else {}
    for k, ms in enumerate(task_milestones(rows, len(task.mixture))):
        out[task_column(k, "memorise_step")] = ms.memorised_step
        out[task_column(k, "grok_step")] = ms.grokked_step
        out[task_column(k, "final_test_acc")] = last.get(task_column(k, "test_acc"))
    return out
