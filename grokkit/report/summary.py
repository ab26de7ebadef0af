"""A run in words: the summary ``info``, ``train``, ``measure``, ``resume``, ``import`` and ``run`` print,
and the card a notebook shows for a run (``Run._repr_html_``).

One place formats a run for people: the commands print these lines, a notebook shows the
same facts as HTML (status, milestones, phases, key components and a small loss plot, drawn
as inline SVG so the card needs no script and shows offline and in a converted notebook).
Milestones and phases come from ``grokkit.measures.phases.run_phases``, as in every view.
"""

from __future__ import annotations

import math
from dataclasses import asdict
from typing import Any, Sequence

from grokkit.files.layout import CURVES_FILE
from grokkit.files.page import esc


def tasks_of(run: Any, rows: list[dict[str, Any]], measures: list[dict[str, Any]]) -> list[dict[str, Any]] | None:
    """A mixture's tasks: each one's settings, frequency, last accuracies, milestones and key components."""
    from grokkit.data.mixture import describe
    from grokkit.measures.milestones import task_column, task_milestones

    task = run.config.task
    if not task.is_mixture:
        return None
    last = rows[-1] if rows else {}
    out = []
    for record, ms in zip(describe(task), task_milestones(rows, len(task.mixture))):
        k = record["task"]
        keyed = next((r for r in sorted(measures, key=lambda r: r["step"], reverse=True)
                      if task_column(k, "key_freqs") in r), None)
        out.append({**record, **{key: last.get(task_column(k, key)) for key in ("train_acc", "test_acc")},
                    "train_acc_99_step": ms.memorised_step, "test_acc_99_step": ms.grokked_step,
                    "key_freqs": None if keyed is None else keyed[task_column(k, "key_freqs")]})
    return out


def measures_of(run: Any) -> list[dict[str, Any]]:
    """The run's measures table, checked as read (one line naming a value no view can show); [] without one."""
    return run.measures()


def story_of(run: Any, metrics: list[dict[str, Any]] | None = None,
             measures: list[dict[str, Any]] | None = None) -> Any:
    """``grokkit.measures.phases.story_of_run`` (an imported run's own records first, as every view)."""
    from grokkit.measures.phases import story_of_run

    return story_of_run(run, metrics, measures)


def keys_of(measures: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The key components of the last measures row that has them: the set, its rule and source, the share
    of that checkpoint's logit table it explains, and whether the self-check fails there."""
    from grokkit.measures.keycheck import keys_fail

    row = next((r for r in sorted(measures, key=lambda r: r["step"], reverse=True) if "key_freqs" in r), None)
    if row is None:
        return None
    return {"step": row["step"], "key_freqs": row["key_freqs"], "source": row.get("key_freqs_source"),
            "rule": row.get("key_rule"), "explained": row.get("keys_explained"),
            "restricted_loss": row.get("restricted_loss"), "test_loss": row.get("test_loss"),
            "self_check_failed": keys_fail(row)}


def cosets_of(measures: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Stander et al.'s coset view at the last measures row that has it (``coset_view``); None without one."""
    row = next((r for r in sorted(measures, key=lambda r: r["step"], reverse=True) if "coset_frac_neurons" in r),
               None)
    if row is None:
        return None
    return {"step": row["step"], **{k: row.get(k) for k in ("coset_frac_neurons", "coset_concentration",
                                                            "coset_subgroups", "coset_distinct")}}


def summarise(run: Any) -> dict[str, Any]:
    """Progress, milestones, phases and key components of a run, from its metrics rows, measures table
    and checkpoints (``grokkit info --json`` prints this)."""
    rows = run.metrics()  # numbers, or one line saying which is not (grokkit.files.values)
    measures = measures_of(run)
    story = story_of(run, rows, measures)
    steps = run.checkpoint_steps()
    last = rows[-1] if rows else {}
    status = run.status()
    diverged = None
    if status is not None and status.diverged:
        diverged = {"at": status.diverged_at, "reason": status.reason,
                    "last_good_checkpoint": status.last_good_checkpoint}
    return {
        "run": str(run.path),
        "task": run.config.to_dict()["task"],
        "progress": {"step": last.get("step", 0), "of": run.config.train.steps, "checkpoints": len(steps)},
        "finished": status is not None and status.finished,
        "extended": [{k: e[k] for k in ("from_step", "changed", "at") if k in e} for e in run.extended],
        "diverged": diverged,  # None unless training stopped on a non-finite loss or weight
        "last": {k: last[k] for k in ("train_loss", "test_loss", "train_acc", "test_acc") if k in last},
        "best_train_acc": max((r["train_acc"] for r in rows if r["train_acc"] is not None), default=None),
        "best_test_acc": max((r["test_acc"] for r in rows if r["test_acc"] is not None), default=None),
        "story_source": story.source,  # the rows 99% and phases come from (imported_losses.jsonl: the source's own)
        "story_provenance": story.provenance(),
        "last_from": "grokkit's evaluation of the checkpoint" if status is not None and status.imported else
                     "the run's metrics",
        "train_acc_99_step": story.milestones.memorised_step,
        "test_acc_99_step": story.milestones.grokked_step,
        "phases": asdict(story.phases) if rows or measures else None,
        "paper_phases": None if story.paper is None else asdict(story.paper),
        "keys": keys_of(measures),
        "cosets": cosets_of(measures),
        "outcome": outcome_of(rows),
        "tasks": tasks_of(run, rows, measures),
    }


def outcome_of(rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    """``grokkit.measures.outcome.classify`` of the metrics rows, with its one-line description."""
    from grokkit.measures.outcome import classify

    found = classify(rows)
    return None if found is None else {**found._asdict(), "describe": found.describe()}


def header(config: Any, extended: Sequence[dict[str, Any]] = ()) -> list[str]:
    """A few readable lines saying what was trained: task, model shape, optimiser, steps (and the
    extensions of ``grokkit resume --steps``)."""
    t, m, tr = config.task, config.model, config.train
    layers = f"{m.n_layers} layer{'s' if m.n_layers != 1 else ''}"
    model = (f"{layers}, d_model {m.d_model}, {m.n_heads} heads × {m.d_head}, d_mlp {m.d_mlp}, {m.act_fn}"
             f"{', LayerNorm' if m.layer_norm else ''}, seed {m.seed}")
    if m.kind == "mlp":
        embed = ("embeddings of width d_mlp summed into the neurons" if m.combine == "direct"
                 else f"d_model {m.d_model} embeddings, {m.combine}")
        model = (f"mlp: {m.embed} {embed}, d_mlp {m.d_mlp}, {m.act_fn}, biases "
                 f"{'trained' if m.train_biases else 'off'}, {m.mlp_init} init, seed {m.seed}")
    optim = f"{tr.optimizer} lr {tr.lr:g}, weight decay {tr.weight_decay:g}"
    if tr.optimizer == "sgd":
        optim += f", momentum {tr.momentum:g}"
    else:
        optim += f", betas ({tr.beta1:g}, {tr.beta2:g})"
    optim += f", {tr.schedule}" + (f" after {tr.warmup_steps} warm-up steps" if tr.warmup_steps else "")
    optim += ", full batch" if tr.batch_size is None else f", batches of {tr.batch_size}"
    extras = [name for name, on in (("grokfast " + tr.grokfast, tr.grokfast != "none"), ("⊥grad", tr.orthograd),
                                    (f"{tr.loss} loss", tr.loss != "softmax")) if on]
    steps = f"{tr.steps}"
    if tr.early_stop_after is not None:
        steps += f", stopping {tr.early_stop_after} after test acc ≥ {tr.early_stop_acc:g}"
    symbols = f"p = {t.p}" if t.n_symbols == t.p else f"{t.n_symbols} symbols"
    if t.operation.group == "finite":  # compose: the group it composes in
        symbols = f"group {t.finite_group.name}, {t.n_symbols} elements"
    task = f"task     {t.op}, {symbols}, frac_train = {t.frac_train:g} (split seed {t.seed})"
    if t.is_mixture:
        task = (f"task     mixture of {len(t.mixture)} tasks, [task, a, b, =] over {t.p} symbols, "
                f"π_k ∝ (k+1)^-{t.zipf_beta:g} by {t.mixture_frequency}")
    return [
        task,
        f"model    {model}",
        f"optim    {optim}{''.join(', ' + e for e in extras)}",
        f"steps    {steps}",
        *(f"{'data changed' if data_change(e) else 'extended'} at step {e.get('from_step')}: "
          + ", ".join(f"{k} {v[0]} → {v[1]}" for k, v in e.get("changed", {}).items()) for e in extended),
    ]


def data_change(entry: dict[str, Any]) -> bool:
    """Whether a recorded extension changed the run's data (``task.frac_train``, ``grokkit.extend``)."""
    changed = entry.get("changed")
    return isinstance(changed, dict) and any(str(key).startswith("task.") for key in changed)


def fmt_num(value: float | None, spec: str) -> str:
    """A logged number, or "n/a" for one that was not finite (logged as null)."""
    return "n/a" if value is None or not math.isfinite(value) else format(value, spec)


def _step(value: int | None) -> str:
    return "not yet" if value is None else f"step {value}"


def state_of(s: dict[str, Any]) -> str:
    """``finished`` / ``in progress`` / ``diverged at step N (reason); last good checkpoint: …`` of a summary."""
    if s["diverged"]:
        d = s["diverged"]
        good = "none" if d["last_good_checkpoint"] is None else f"step {d['last_good_checkpoint']}"
        return f"diverged at step {d['at']} ({d['reason']}); last good checkpoint: {good}"
    return "finished" if s["finished"] else "in progress"


def phase_lines(ph: dict[str, Any] | None, label: str = "phases  ") -> list[str]:
    if ph is None:
        return []
    return [f"{label} memorisation ends {_step(ph['memorisation_end'])} | circuit formation ends "
            f"{_step(ph['circuit_formation_end'])} | cleanup ends {_step(ph['cleanup_end'])}"]


def story_lines(memorised: int | None, grokked: int | None, phases: dict[str, Any] | None,
                paper: dict[str, Any] | None, provenance: str | None = None) -> list[str]:
    """The ``99%`` and ``phases`` lines that ``info``, ``measure`` and ``run`` print alike (and, for an
    imported run's own records, a ``from`` line saying which numbers are the source's and which grokkit's)."""
    return [f"99%      train acc: {_step(memorised)} | test acc: {_step(grokked)}",
            *phase_lines(phases), *phase_lines(paper, "  (paper)"),
            *([f"from     {provenance}"] if provenance is not None else [])]


def run_phase_lines(run: Any) -> list[str]:
    """The ``phases`` lines of ``run`` (``run_phases``: the same for every view)."""
    story = story_of(run)
    return [*phase_lines(asdict(story.phases)), *phase_lines(None if story.paper is None else asdict(story.paper),
                                                            "  (paper)")]


def keys_lines(keys: dict[str, Any] | None, warn: bool = True) -> list[str]:
    """The ``keys`` line: the set, the share of the logit table it explains, the rule; and a warning line
    when the self-check fails there (``grokkit.measures.keycheck``)."""
    if keys is None:
        return []
    explained = "" if keys["explained"] is None else f", explain {keys['explained']:.3f} of the logit table"
    how = ("given by the user" if keys["source"] == "user" else
           f"{keys['rule']} rule, {keys['source']}" if keys["rule"] else f"source: {keys['source']}")
    lines = [f"keys     {keys['key_freqs']}{explained} at step {keys['step']} ({how})"]
    if warn and keys["self_check_failed"]:
        lines.append(f"warning: grokked, but restricted loss {keys['restricted_loss']:.3g} > test loss "
                     f"{keys['test_loss']:.3g} with keys {keys['key_freqs']}: they miss part of the circuit; "
                     f"`grokkit measure` names a better set")
    return lines


def coset_lines(cosets: dict[str, Any] | None) -> list[str]:
    """The ``cosets`` line: the share of coset neurons, their concentration, the orders of the subgroups they read."""
    if cosets is None:
        return []
    orders = ", ".join(f"{order} ×{count}" for order, count in (cosets["coset_subgroups"] or {}).items()) or "none"
    return [f"cosets   {fmt_num(cosets['coset_frac_neurons'], '.0%')} of neurons read cosets (concentration "
            f"{fmt_num(cosets['coset_concentration'], '.2f')}) at step {cosets['step']}; subgroup orders read: "
            f"{orders} ({cosets['coset_distinct']} distinct subgroups)"]


def summary_lines(run: Any, with_header: bool = False, s: dict[str, Any] | None = None) -> list[str]:
    """``grokkit info``'s text (``with_header``: what was trained, too); ``s``: its ``summarise`` if at hand."""
    s = summarise(run) if s is None else s
    lines = [f"run      {s['run']}"]
    if with_header:
        lines += header(run.config, run.extended)
    lines.append(f"status   {state_of(s)}: step {s['progress']['step']} of {s['progress']['of']}, "
                 f"{s['progress']['checkpoints']} checkpoints")
    if s["last"]:
        last = s["last"]
        lines.append(
            f"last     train loss {fmt_num(last.get('train_loss'), '.3g')} acc {fmt_num(last.get('train_acc'), '.1%')} | "
            f"test loss {fmt_num(last.get('test_loss'), '.3g')} acc {fmt_num(last.get('test_acc'), '.1%')}"
            + (f" ({s['last_from']} at step {s['progress']['step']})" if s["story_source"] == CURVES_FILE else ""))
        lines.append(f"best     train acc {fmt_num(s['best_train_acc'], '.1%')} | "
                     f"test acc {fmt_num(s['best_test_acc'], '.1%')}")
    if s["outcome"] is not None:
        lines.append(f"outcome  {s['outcome']['describe']}")
    lines += story_lines(s["train_acc_99_step"], s["test_acc_99_step"], s["phases"], s["paper_phases"],
                         s["story_provenance"] if s["story_source"] == CURVES_FILE else None)
    lines += keys_lines(s["keys"])
    lines += coset_lines(s.get("cosets"))
    if run.config.model.kind != "transformer":  # measures that do not apply (kind, activation), in one line
        from grokkit.measures.registry import not_for_model_line

        lines.append(f"skipped  {not_for_model_line(run.config.model.kind, run.config.model.act_fn)}")
    lines += task_lines(s["tasks"])
    return lines


def task_lines(tasks: list[dict[str, Any]] | None) -> list[str]:
    """One line per task of a mixture: what it is, its frequency and rows, last accuracies, milestones, keys."""
    from grokkit.data.mixture import task_name

    lines = []
    for t in tasks or []:
        name = task_name(t["op"], t["p"], t["offset"])
        keys = "" if t.get("key_freqs") is None else f" | keys {t['key_freqs']}"
        lines.append(f"task{t['task']:<4} {name:<14} π {t['pi']:.3f}, {t['n_train']} train rows | last acc train "
                     f"{fmt_num(t['train_acc'], '.1%')} test {fmt_num(t['test_acc'], '.1%')} | 99% train "
                     f"{_step(t['train_acc_99_step'])}, test {_step(t['test_acc_99_step'])}{keys}")
    return lines


# --- the notebook card ----------------------------------------------------------------------------------------
SPARK_W, SPARK_H = 360, 110
SPARK_COLOURS = {"train_loss": "#1f77b4", "test_loss": "#d62728"}


def loss_sparkline(rows: Sequence[dict[str, Any]], width: int = SPARK_W, height: int = SPARK_H) -> str:
    """Train and test loss against step as a small inline SVG (log-scaled loss), or "" without two rows."""
    pts = {key: [(r["step"], r[key]) for r in rows
                 if isinstance(r.get(key), (int, float)) and r[key] > 0 and math.isfinite(r[key])]
           for key in SPARK_COLOURS}
    every = [p for line in pts.values() for p in line]
    if len({s for s, _ in every}) < 2:
        return ""
    x0, x1 = min(s for s, _ in every), max(s for s, _ in every)
    y0, y1 = min(math.log10(v) for _, v in every), max(math.log10(v) for _, v in every)
    y1 = y1 if y1 > y0 else y0 + 1
    pad = 4

    def xy(step: float, value: float) -> str:
        x = pad + (step - x0) / (x1 - x0) * (width - 2 * pad)
        y = pad + (y1 - math.log10(value)) / (y1 - y0) * (height - 2 * pad)
        return f"{x:.1f},{y:.1f}"

    lines = "".join(f"<polyline fill='none' stroke='{SPARK_COLOURS[key]}' stroke-width='1.5' "
                    f"points='{' '.join(xy(s, v) for s, v in line)}'><title>{key}</title></polyline>"
                    for key, line in pts.items() if len(line) > 1)
    return (f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' "
            f"style='background:#fff;border:1px solid #ddd' role='img' aria-label='train and test loss'>{lines}</svg>"
            f"<div style='font-size:11px;color:#555'>loss (log) over steps {x0}–{x1}: "
            f"<span style='color:{SPARK_COLOURS['train_loss']}'>train</span>, "
            f"<span style='color:{SPARK_COLOURS['test_loss']}'>test</span></div>")


def card_html(title: str, rows: Sequence[tuple[str, str]], extra_html: str = "") -> str:
    """A compact two-column card (escape the values before; ``extra_html`` follows the table)."""
    body = "".join(f"<tr><th style='text-align:left;padding:1px 8px 1px 0;vertical-align:top'>{esc(k)}</th>"
                   f"<td style='text-align:left;padding:1px 0'>{v}</td></tr>" for k, v in rows)
    return (f"<div style='font-family:system-ui,sans-serif;font-size:13px'><b>{esc(title)}</b>"
            f"<table style='border-collapse:collapse;margin:4px 0'>{body}</table>{extra_html}</div>")


def run_html(run: Any) -> str:
    """The card a notebook shows for a run: status, last numbers, milestones, phases, keys, a small loss plot."""
    s = summarise(run)
    rows = [("status", esc(f"{state_of(s)}: step {s['progress']['step']} of {s['progress']['of']}, "
                           f"{s['progress']['checkpoints']} checkpoints")),
            ("task", esc(header(run.config)[0].removeprefix("task").strip()))]
    if s["last"]:
        last = s["last"]
        rows.append(("last", esc(f"train loss {fmt_num(last.get('train_loss'), '.3g')} "
                                 f"(acc {fmt_num(last.get('train_acc'), '.1%')}), test loss "
                                 f"{fmt_num(last.get('test_loss'), '.3g')} (acc {fmt_num(last.get('test_acc'), '.1%')})")))
    if s["outcome"] is not None:
        rows.append(("outcome", esc(s["outcome"]["describe"])))
    rows.append(("99 % accuracy", esc(f"train: {_step(s['train_acc_99_step'])}; test: {_step(s['test_acc_99_step'])}")))
    for label, ph in (("phases", s["phases"]), ("phases (paper)", s["paper_phases"])):
        if ph is not None:
            rows.append((label, esc(" | ".join(f"{name.replace('_end', '')} ends {_step(ph[name])}"
                                               for name in ("memorisation_end", "circuit_formation_end", "cleanup_end")))))
    keys = s["keys"]
    if keys is not None:
        explained = "" if keys["explained"] is None else f", explain {keys['explained']:.3f} of the logit table"
        rows.append(("keys", esc(f"{keys['key_freqs']}{explained} at step {keys['step']}")))
    return card_html(f"grokkit run {s['run']}", rows, loss_sparkline(run.metrics()))
