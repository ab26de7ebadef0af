"""A mixture run's report sections (``grokkit.data.mixture``, ``grokkit.measures.mixture``): one line per task.

Per-task accuracy and loss come from the metrics rows (every evaluation); the per-task
group measures, neurons per task and the gradient interference from the measures table.
The single-task figures of the final checkpoint (embedding, neuron clusters and 2-D logit
map in one group) do not apply to the mixture as a whole; these sections replace them.
"""

from __future__ import annotations

from typing import Any, Sequence

from grokkit.files.page import Section
from grokkit.measures.milestones import task_column
from grokkit.report import figures
from grokkit.report.collect import ReportData
from grokkit.report.figures import PALETTE, Series

MIXTURE_KEYS = {"neurons_shared", "neurons_dead", "grad_cos", "grad_cos_mean", "grad_norm"}
"""The mixture's own measures columns (besides the ``task{k}_`` ones), drawn here."""


def _names(data: ReportData) -> list[str]:
    from grokkit.data.mixture import task_name, zipf_weights

    task = data.config["task"]
    pi = zipf_weights(len(task["mixture"]), task["zipf_beta"])
    return [f"task {k}: {task_name(t['op'], t['p'], t['offset'])} (π {pi[k]:.2f})"
            for k, t in enumerate(task["mixture"])]


def _per_task(data: ReportData, rows: Sequence[dict[str, Any]], key: str, dash: str | None = None,
              suffix: str = "") -> list[Series]:
    out = []
    for k, name in enumerate(_names(data)):
        col = task_column(k, key)
        pts = [(r["step"], r[col]) for r in rows if r.get(col) is not None]
        if pts:
            out.append(Series(f"{name}{suffix}", [s for s, _ in pts], [v for _, v in pts],
                              PALETTE[k % len(PALETTE)], dash))
    return out


def mixture_sections(data: ReportData) -> list[Section]:
    """Per-task accuracy, loss, excluded / restricted loss, neurons per task, gradient interference."""
    m, ms, phases = data.metrics, data.measures, data.phases
    out = []

    def add(sid: str, title: str, caption: str, series: list[Series], y_title: str, log_y: bool = False,
            y_range: tuple[float, float] | None = None, note: str = "") -> None:
        fig = figures.line_figure(title, series, y_title, log_y=log_y, phases=phases, y_range=y_range) if series else None
        out.append(Section(sid, title, caption, fig, note or data.missing.get("measures", "not measured")))

    add("task_acc", "Accuracy per task", "Each task's test accuracy (solid) and train accuracy (dashed): the frequent "
        "tasks are listed first.", _per_task(data, m, "test_acc") + _per_task(data, m, "train_acc", "dash", " train"),
        "accuracy", y_range=(0, 1.03), note=data.missing.get("curves", ""))
    add("task_loss", "Test loss per task", "Each task's test loss (solid) and train loss (dashed).",
        _per_task(data, m, "test_loss") + _per_task(data, m, "train_loss", "dash", " train"), "cross-entropy",
        log_y=True, note=data.missing.get("curves", ""))
    add("task_excluded_restricted", "Excluded and restricted loss per task",
        "In each task's own group, with its own key components: restricted loss (solid) keeps only them, "
        "excluded loss (dashed) removes them, on the task's training rows.",
        _per_task(data, ms, "restricted_loss") + _per_task(data, ms, "excluded_loss", "dash", " excluded"),
        "cross-entropy", log_y=True)
    neurons = _per_task(data, ms, "neurons")
    shared = [Series(label, [r["step"] for r in ms if key in r], [r[key] for r in ms if key in r], colour, "dot")
              for key, label, colour in (("neurons_shared", "shared (no task > 1/2)", "#7f7f7f"),
                                         ("neurons_dead", "dead", "#000000")) if any(key in r for r in ms)]
    add("task_neurons", "Neurons per task",
        "A neuron belongs to a task when more than half of its activation variance over the mixture lies on that "
        "task's inputs; dotted: neurons no task owns, and dead ones.", neurons + shared, "neurons")
    add("task_key_neurons", "Neurons on each task's key components",
        "Of each task's neurons, those whose largest component (in the task's group) is one of its key components.",
        _per_task(data, ms, "key_neurons"), "neurons")
    cos = []
    pairs = sorted({pair for r in ms for pair in r.get("grad_cos", {})})
    for i, pair in enumerate(pairs):
        pts = [(r["step"], r["grad_cos"][pair]) for r in ms if pair in r.get("grad_cos", {})]
        cos.append(Series(f"tasks {pair}", [s for s, _ in pts], [v for _, v in pts], PALETTE[i % len(PALETTE)]))
    add("grad_interference", "Gradient interference",
        "Cosine between two tasks' training-loss gradients on the shared weights, at each checkpoint: below 0 "
        "a step for one task undoes the other.", cos, "cosine", y_range=(-1.03, 1.03))
    return out
