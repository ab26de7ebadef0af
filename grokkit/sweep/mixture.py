"""A width sweep of a task mixture: per-task grok step, neurons per task and interference against width.

``grokkit sweep`` on a spec whose base task is a mixture (``task.op = "mixture"``) and whose grid
varies ``model.d_mlp`` and/or ``model.d_model`` (``tasks/mixture_width_cpu.toml``) trains every
width in one process. With ``sweep.pad_widths = true`` every width shares one stack, each run padded
to the widest and masked (``grokkit.model.pad``: each equals its run alone to float tolerance); without
it, each width is its own stack, one after another (``grokkit.train.runs.stack_key``). On a CPU the
padded stack computes the widest width for every member (cost ∝ runs × largest width instead of the
sum of the widths), so it is slower there (``benchmarks/padded_stack.py``).

After training, each run's checkpoints are measured with the mixture's own measures
(``neuron_tasks``, ``grad_interference``; ``grokkit.measures.mixture``) where its table lacks
them, and ``OUT/mixture.html`` shows, against width (one line per task):

- the grok step of each task (first evaluation with its test accuracy ≥ 99 %; a task that never
  got there is drawn at the step budget with an open marker);
- the allocation curve: the neurons each task owns at the last checkpoint, and the most it
  owned at any checkpoint (dashed), so neurons that appear and are overwritten show as a gap;
- the gradient interference: the cosine between the most and least frequent task's gradients,
  and the mean over task pairs, each as the median over checkpoints after step 0.

Each figure is a function returning a plotly Figure; several runs at one width (seeds) are
summarised by their median.
"""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any, Sequence

PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f")
OWN_MEASURES = ["neuron_tasks", "grad_interference"]
WIDTHS = ("model.d_mlp", "model.d_model")


def is_mixture_sweep(spec: Any) -> bool:
    return bool(spec.runs) and spec.runs[0].config.task.is_mixture


def measure_runs(runs: dict[str, Any], report: Any = print) -> None:
    """The mixture's own measures at every checkpoint of each run whose table lacks them."""
    from grokkit.measures.offline import measure_run

    for name, run in runs.items():
        rows = run.measures()
        steps = set(run.checkpoint_steps())
        if steps and all(any(r["step"] == s and "grad_cos" in r and "neurons_shared" in r for r in rows)
                         for s in steps):
            continue
        measure_run(run, OWN_MEASURES)
        report(f"measured {name}: neurons per task and gradient interference at {len(steps)} checkpoints")


def width_rows(runs: dict[str, Any], settings: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """One record per run: its widths, settings, and per task the grok step and neurons (last and peak);
    the interference (frequent vs rarest, mean of pairs) as medians over checkpoints after step 0."""
    from grokkit.measures.milestones import task_column, task_milestones

    out = []
    for name, run in runs.items():
        task = run.config.task
        K = len(task.mixture)
        measures = [r for r in run.measures() if "neurons_shared" in r]
        later = [r for r in measures if r["step"] > 0 and "grad_cos" in r]
        rec: dict[str, Any] = {"name": name, **settings.get(name, {}), "d_mlp": run.config.model.d_mlp,
                               "d_model": run.config.model.d_model, "steps": run.config.train.steps, "tasks": K}
        for k, ms in enumerate(task_milestones(run.metrics(), K)):
            rec[task_column(k, "grok_step")] = ms.grokked_step
            counts = [r.get(task_column(k, "neurons"), 0) for r in measures]
            rec[task_column(k, "neurons")] = counts[-1] if counts else None
            rec[task_column(k, "neurons_peak")] = max(counts) if counts else None
        rec["neurons_shared"] = measures[-1]["neurons_shared"] if measures else None
        pair = f"0-{K - 1}"
        rec["cos_frequent_rare"] = statistics.median(r["grad_cos"][pair] for r in later) if later else None
        rec["cos_mean"] = statistics.median(r["grad_cos_mean"] for r in later) if later else None
        out.append(rec)
    return out


def _width_key(rows: Sequence[dict[str, Any]]) -> str:
    """The x axis: d_mlp when it varies (else d_model)."""
    return "d_mlp" if len({r["d_mlp"] for r in rows}) > 1 or len({r["d_model"] for r in rows}) == 1 else "d_model"


def _lines(rows: Sequence[dict[str, Any]], value: str) -> list[tuple[str, list[int], list[Any], int]]:
    """(label, widths, medians, d_model or d_mlp held) for each value of the other width: ``value`` per width."""
    x = _width_key(rows)
    other = "d_model" if x == "d_mlp" else "d_mlp"
    out = []
    for held in sorted({r[other] for r in rows}):
        mine = [r for r in rows if r[other] == held]
        widths = sorted({r[x] for r in mine})
        ys = []
        for w in widths:
            vals = [r[value] for r in mine if r[x] == w and r.get(value) is not None]
            ys.append(statistics.median(vals) if vals else None)
        out.append((f"{other} {held}", widths, ys, held))
    return out


def task_labels(config: Any) -> list[str]:
    from grokkit.data.mixture import task_name, zipf_weights

    pi = zipf_weights(len(config.task.mixture), config.task.zipf_beta)
    return [f"task {k}: {task_name(t.op, t.p, t.offset)} (π {pi[k]:.2f})" for k, t in enumerate(config.task.mixture)]


def grok_step_figure(rows: Sequence[dict[str, Any]], labels: Sequence[str]):
    """Per-task grok step against width; a task that never grokked sits at the step budget, open marker."""
    import plotly.graph_objects as go

    fig = go.Figure()
    budget = max(r["steps"] for r in rows)
    dashes = ("solid", "dash", "dot", "dashdot")
    for k, label in enumerate(labels):
        for j, (held, widths, ys, _) in enumerate(_lines(rows, f"task{k}_grok_step")):
            colour = PALETTE[k % len(PALETTE)]
            fig.add_trace(go.Scatter(x=widths, y=[budget if y is None else y for y in ys], mode="lines+markers",
                                     name=f"{label}, {held}", line={"color": colour, "dash": dashes[j % 4]},
                                     marker={"symbol": ["circle-open" if y is None else "circle" for y in ys],
                                             "size": 9}))
    fig.update_layout(title="Grok step per task against width (open: not grokked by the budget)",
                      xaxis={"title": _width_key(rows), "type": "log"}, yaxis={"title": "step (test acc ≥ 99 %)"},
                      height=440)
    return fig


def allocation_figure(rows: Sequence[dict[str, Any]], labels: Sequence[str]):
    """Neurons per task against width: at the last checkpoint (solid) and the peak over training (dashed)."""
    import plotly.graph_objects as go

    fig = go.Figure()
    for k, label in enumerate(labels):
        colour = PALETTE[k % len(PALETTE)]
        for key, dash, what in (("neurons", "solid", "last"), ("neurons_peak", "dash", "peak")):
            for held, widths, ys, _ in _lines(rows, f"task{k}_{key}"):
                fig.add_trace(go.Scatter(x=widths, y=ys, mode="lines+markers", name=f"{label}, {held}, {what}",
                                         line={"color": colour, "dash": dash}))
    for held, widths, ys, _ in _lines(rows, "neurons_shared"):
        fig.add_trace(go.Scatter(x=widths, y=ys, mode="lines+markers", name=f"shared (no task > 1/2), {held}",
                                 line={"color": "#7f7f7f", "dash": "dot"}))
    fig.update_layout(title="Neurons per task against width (the allocation curve)",
                      xaxis={"title": _width_key(rows), "type": "log"}, yaxis={"title": "neurons"}, height=440)
    return fig


def interference_figure(rows: Sequence[dict[str, Any]]):
    """Gradient interference against width: frequent vs rarest task, and the mean over pairs."""
    import plotly.graph_objects as go

    fig = go.Figure()
    for key, label, colour in (("cos_frequent_rare", "task 0 vs the rarest", "#d62728"),
                               ("cos_mean", "mean over task pairs", "#1f77b4")):
        for held, widths, ys, _ in _lines(rows, key):
            fig.add_trace(go.Scatter(x=widths, y=ys, mode="lines+markers", name=f"{label}, {held}",
                                     line={"color": colour}))
    fig.add_hline(y=0, line={"color": "#999", "width": 1})
    fig.update_layout(title="Gradient interference against width (median over checkpoints after step 0)",
                      xaxis={"title": _width_key(rows), "type": "log"}, yaxis={"title": "cosine", "range": [-1, 1]},
                      height=440)
    return fig


def width_data(sweep: str | Path) -> tuple[list[dict[str, Any]], list[str]]:
    """The ``width_rows`` and task labels of a finished mixture sweep's folder (what its figures draw)."""
    from grokkit.errors import RunError
    from grokkit.files.sweep_folder import SweepFolder
    from grokkit.run import Run

    folder = SweepFolder(Path(sweep))
    settings = folder.recorded_runs()
    runs = {name: Run(folder.run_path(name)) for name in settings}
    if not runs or not next(iter(runs.values())).config.task.is_mixture:
        raise RunError(f"{sweep}: not a sweep of a task mixture (task.op = \"mixture\")")
    return width_rows(runs, settings), task_labels(next(iter(runs.values())).config)


def mixture_grok_steps(sweep: str | Path):
    """A mixture sweep folder's per-task grok step against width (``grok_step_figure``)."""
    return grok_step_figure(*width_data(sweep))


def mixture_allocation(sweep: str | Path):
    """A mixture sweep folder's neurons per task against width (``allocation_figure``)."""
    return allocation_figure(*width_data(sweep))


def mixture_interference(sweep: str | Path):
    """A mixture sweep folder's gradient interference against width (``interference_figure``)."""
    return interference_figure(width_data(sweep)[0])


def write_mixture_report(out: Path, runs: dict[str, Any], settings: dict[str, dict[str, Any]], title: str) -> Path:
    """``OUT/mixture.html``: the three figures and the table of ``width_rows`` (module docstring)."""
    from grokkit.files.page import Section, card, esc, page_html, table, write_page

    rows = width_rows(runs, settings)
    labels = task_labels(next(iter(runs.values())).config)
    figures: dict[str, Any] = {}
    sections = [
        Section("grok", "Grok step per task", "First evaluation with the task's test accuracy ≥ 99 %, against width "
                "(median over the runs of a width).", grok_step_figure(rows, labels)),
        Section("allocation", "Neurons per task", "A neuron belongs to a task when more than half of its activation "
                "variance over the mixture lies on that task's inputs: at the last checkpoint, and the peak over "
                "training.", allocation_figure(rows, labels)),
        Section("interference", "Gradient interference", "Cosine between two tasks' training-loss gradients on the "
                "shared weights, median over checkpoints after step 0.", interference_figure(rows)),
    ]
    cols = list(dict.fromkeys(k for r in rows for k in r))
    body = [[("-" if r.get(c) is None else f"{r[c]:.3g}" if isinstance(r.get(c), float) else r.get(c)) for c in cols]
            for r in rows]
    blocks = [f"<p>{esc(' · '.join(labels))}</p><div class='grid'>"
              + "".join(card(s, figures, wide=True) for s in sections) + "</div>",
              f"<h2>Runs</h2>{table(cols, body)}"]
    from grokkit.files.layout import MIXTURE_FILE

    return write_page(out / MIXTURE_FILE, page_html(title, esc(str(out)), blocks, figures))
