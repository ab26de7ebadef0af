"""grokkit info RUN"""

from __future__ import annotations

import argparse
import json
import math
from dataclasses import asdict
from typing import Any

from grokkit.files.layout import CURVES_FILE

HELP = "show a run's config, progress, best accuracies, when it memorised and grokked, and its key components"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run", help="run directory")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    parser.add_argument("--config", action="store_true", help="also print the full config (indented JSON)")


def summarise(run: Any) -> dict[str, Any]:
    """Progress, milestones, phases and key components of a run, from its metrics rows, measures table
    and checkpoints (milestones and phases by ``grokkit.measures.phases.run_phases``, as every view)."""
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
        "outcome": outcome_of(rows),
        "tasks": tasks_of(run, rows, measures),
    }


def outcome_of(rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    """``grokkit.measures.outcome.classify`` of the metrics rows, with its one-line description."""
    from grokkit.measures.outcome import classify

    found = classify(rows)
    return None if found is None else {**found._asdict(), "describe": found.describe()}


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


def header(config: Any, extended: list[dict[str, Any]] = ()) -> list[str]:
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


def print_summary(run: Any, with_header: bool = False) -> None:
    s = summarise(run)
    print(f"run      {s['run']}")
    if with_header:
        print("\n".join(header(run.config, run.extended)))
    state = "finished" if s["finished"] else "in progress"
    if s["diverged"]:
        d = s["diverged"]
        good = "none" if d["last_good_checkpoint"] is None else f"step {d['last_good_checkpoint']}"
        state = f"diverged at step {d['at']} ({d['reason']}); last good checkpoint: {good}"
    print(f"status   {state}: step {s['progress']['step']} of {s['progress']['of']}, "
          f"{s['progress']['checkpoints']} checkpoints")
    if s["last"]:
        last = s["last"]
        print(
            f"last     train loss {fmt_num(last.get('train_loss'), '.3g')} acc {fmt_num(last.get('train_acc'), '.1%')} | "
            f"test loss {fmt_num(last.get('test_loss'), '.3g')} acc {fmt_num(last.get('test_acc'), '.1%')}"
            + (f" ({s['last_from']} at step {s['progress']['step']})" if s["story_source"] == CURVES_FILE else "")
        )
        print(f"best     train acc {fmt_num(s['best_train_acc'], '.1%')} | test acc {fmt_num(s['best_test_acc'], '.1%')}")
    if s["outcome"] is not None:
        print(f"outcome  {s['outcome']['describe']}")
    print_story(s["train_acc_99_step"], s["test_acc_99_step"], s["phases"], s["paper_phases"],
                s["story_provenance"] if s["story_source"] == CURVES_FILE else None)
    print_keys(s["keys"])
    if run.config.model.kind != "transformer":  # measures that do not apply, in one line
        from grokkit.measures.registry import not_for_model_line

        print(f"skipped  {not_for_model_line(run.config.model.kind)}")
    print_tasks(s["tasks"])


def print_tasks(tasks: list[dict[str, Any]] | None) -> None:
    """One line per task of a mixture: what it is, its frequency and rows, last accuracies, milestones, keys."""
    from grokkit.data.mixture import task_name

    for t in tasks or []:
        name = task_name(t["op"], t["p"], t["offset"])
        keys = "" if t.get("key_freqs") is None else f" | keys {t['key_freqs']}"
        print(f"task{t['task']:<4} {name:<14} π {t['pi']:.3f}, {t['n_train']} train rows | last acc train "
              f"{fmt_num(t['train_acc'], '.1%')} test {fmt_num(t['test_acc'], '.1%')} | 99% train "
              f"{_step(t['train_acc_99_step'])}, test {_step(t['test_acc_99_step'])}{keys}")


def print_story(memorised: int | None, grokked: int | None, phases: dict[str, Any] | None,
                paper: dict[str, Any] | None, provenance: str | None = None) -> None:
    """The ``99%`` and ``phases`` lines that ``info``, ``measure`` and ``run`` print alike (and, for an
    imported run's own records, a ``from`` line saying which numbers are the source's and which grokkit's)."""
    print(f"99%      train acc: {_step(memorised)} | test acc: {_step(grokked)}")
    _print_phases(phases)
    _print_phases(paper, "  (paper)")
    if provenance is not None:
        print(f"from     {provenance}")


def print_keys(keys: dict[str, Any] | None, warn: bool = True) -> None:
    """The ``keys`` line of ``info`` and ``measure``: the set, the share of the logit table it explains, the
    rule; and a warning line when the self-check fails there (``grokkit.measures.keycheck``)."""
    if keys is None:
        return
    explained = "" if keys["explained"] is None else f", explain {keys['explained']:.3f} of the logit table"
    how = ("given by the user" if keys["source"] == "user" else
           f"{keys['rule']} rule, {keys['source']}" if keys["rule"] else f"source: {keys['source']}")
    print(f"keys     {keys['key_freqs']}{explained} at step {keys['step']} ({how})")
    if warn and keys["self_check_failed"]:
        print(f"warning: grokked, but restricted loss {keys['restricted_loss']:.3g} > test loss "
              f"{keys['test_loss']:.3g} with keys {keys['key_freqs']}: they miss part of the circuit; "
              f"`grokkit measure` names a better set")


def fmt_num(value: float | None, spec: str) -> str:
    """A logged number, or "n/a" for one that was not finite (logged as null)."""
    return "n/a" if value is None or not math.isfinite(value) else format(value, spec)


def _step(value: int | None) -> str:
    return "not yet" if value is None else f"step {value}"


def _print_phases(ph: dict[str, Any] | None, label: str = "phases  ") -> None:
    if ph is not None:
        print(
            f"{label} memorisation ends {_step(ph['memorisation_end'])} | circuit formation ends "
            f"{_step(ph['circuit_formation_end'])} | cleanup ends {_step(ph['cleanup_end'])}"
        )


def print_phases(run: Any) -> None:
    """The ``phases`` lines of ``grokkit info`` (``run_phases``: the same for every view)."""
    story = story_of(run)
    _print_phases(asdict(story.phases))
    _print_phases(None if story.paper is None else asdict(story.paper), "  (paper)")


def run(args: argparse.Namespace) -> int:
    from grokkit.run import Run

    run_ = Run(args.run)
    if args.json:
        from grokkit.files.jsonl import json_safe  # a run logged by an older grokkit may hold NaN

        print(json.dumps(json_safe(summarise(run_)), indent=2, allow_nan=False))
    else:
        print_summary(run_, with_header=True)
        if args.config:
            print(f"config   {json.dumps(run_.config.to_dict(), indent=2)}")
        else:
            print(f"config   {run_.path / 'config.json'} (the full config: `grokkit info {run_.path} --config`)")
    return 0
