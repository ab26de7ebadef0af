"""The numbers of the comparison page, read from a toy sweep and a transformer sweep.

Toy side (``grokkit toy``; one trained model per T and dataset seed, the kept init):

- test loss against T;
- points with their own direction: training points whose data-point dimensionality
  D_t ≥ OWN_DIRECTION (the row's ``n_points_above_small``); features likewise
  (``n_features_above_small``). Dimensionalities of N vectors in m dimensions sum to
  at most m, so at most m / OWN_DIRECTION vectors pass the threshold, and a regular
  T-gon passes it only while m/T ≥ OWN_DIRECTION. (The sums Σ_t D_t and Σ_i D_i are no
  threshold-free substitute: they equal m whenever Σ_j v_j v_jᵀ ∝ I, and measured on a
  reduced tasks/toy_cpu.toml sweep (T 3 to 3 000) both stay within 4 % of m in every model.)

Transformer side (``grokkit sweep``; one run per setting, e.g. per ``task.frac_train``):

- test loss at each run's last evaluation against the number of training pairs
  n_train = ⌊frac_train · p²⌋;
- memorised examples at each checkpoint: the training examples the model still
  answers correctly once the key-frequency directions are removed from its logits,
  ``round(excluded_acc · n_train)`` (``excluded_acc`` is the mean over the training
  rows of argmax(L − Σ_{k∈K} P_k(L)) = label, grokkit.measures.excluded). It bounds the
  memorised examples from above: it also counts chance hits (n_train / p expected when
  nothing beyond K is known) and examples carried by frequencies the detection rule left
  out of K;
- test accuracy at every evaluation, for context.

Every problem with an input is a one-line ``RunError`` naming the argument.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grokkit.errors import RunError
from grokkit.files.layout import MEASURES_FILE, SWEEP_FILE, SWEEP_FORMAT, TOY_SWEEP_FORMAT
from grokkit.files.sweep_folder import SweepFolder, plain_name
from grokkit.measures.milestones import milestones, task_column, task_rows
from grokkit.measures.phases import story_of_run
from grokkit.toy.measures import SMALL_DIM
from grokkit.toy.reader import load_rows, load_spec_of
from grokkit.toy.summary import CURVE_KEYS, CurvePoint, curve_label, curves, kept, varying_keys

OWN_DIRECTION = SMALL_DIM  # 0.05: the toy report's "not represented" cut, so counts match the rows


# --- toy side ------------------------------------------------------------------------------


@dataclass
class ToyCurve:
    """One setting of (m, S, R, weight_decay) over T; every value is mean and range over dataset seeds."""

    label: str  # the varying settings, "all" when only T varies
    m: int
    test_loss: list[CurvePoint]
    points_own: list[CurvePoint]  # training points with D_t ≥ OWN_DIRECTION
    features_own: list[CurvePoint]  # features with D_i ≥ OWN_DIRECTION


@dataclass
class ToySide:
    path: Path
    n: int
    rows: list[dict[str, Any]]  # kept models only (the best of each model's best_of inits)
    curves: list[ToyCurve]

    @property
    def base(self) -> ToyCurve:
        """The curve the text discusses: m = 2 (the paper's headline setting) when present, else the first."""
        return next((c for c in self.curves if c.m == 2), self.curves[0])


def _check_kind(folder: SweepFolder, arg: str, expected: str, what: str) -> None:
    """``folder``'s sweep.json carries ``expected`` as its format tag: a one-line RunError naming ``arg`` otherwise."""
    if not folder.record_path.is_file():  # both sweeps name their record so
        raise RunError(f"{arg} {folder.path}: not a {what} (no {SWEEP_FILE})")
    try:
        found = folder.record_format()
    except RunError as exc:
        raise RunError(f"{arg} {exc}") from None
    if found != expected:
        other = {TOY_SWEEP_FORMAT: "a toy sweep", SWEEP_FORMAT: "a transformer sweep"}.get(found, "no grokkit sweep")
        raise RunError(f"{arg} {folder.path}: not a {what} (its {SWEEP_FILE} is {other}'s)")


def load_toy(path: str | Path, arg: str = "--toy") -> ToySide:
    """The toy sweep at ``path``: its kept rows and one curve per (m, S, R, weight_decay)."""
    path = Path(path)
    _check_kind(SweepFolder(path), arg, TOY_SWEEP_FORMAT, "grokkit toy sweep")
    rows = kept(load_rows(path))
    if not rows:
        raise RunError(f"{arg} {path}: no finished chunk yet; run `grokkit toy SPEC --out {path}` first")
    n = load_spec_of(path).toy.n
    varying = varying_keys(rows)
    by_value = {v: curves(rows, v) for v in ("test_loss", "n_points_above_small", "n_features_above_small")}
    toy_curves = [
        ToyCurve(curve_label(key, varying), int(key[CURVE_KEYS.index("m")]), by_value["test_loss"][key],
                 by_value["n_points_above_small"][key], by_value["n_features_above_small"][key])
        for key in by_value["test_loss"]
    ]
    return ToySide(path, n, rows, toy_curves)


# --- transformer side ----------------------------------------------------------------------


@dataclass
class TransformerRun:
    """One run of the transformer sweep, reduced to what the page compares."""

    name: str
    settings: dict[str, Any]  # the sweep's varied settings of this run
    p: int
    frac_train: float
    n_train: int
    steps: list[int]  # checkpoint steps that carry the excluded measure
    memorised: list[int]  # round(excluded_acc · n_train) at those steps
    excluded_acc: list[float]
    key_freqs: list[int]  # of the last measured row
    key_freqs_source: str  # final | user | per_checkpoint
    eval_steps: list[int]  # steps of the metrics rows
    test_acc: list[float]
    final_test_loss: float
    final_step: int
    grok_step: int | None  # first evaluation with test accuracy ≥ GROKKED_ACC

    @property
    def chance(self) -> float:
        """Training examples right by chance with nothing but K known: n_train / p."""
        return self.n_train / self.p

    @property
    def label(self) -> str:
        """``frac 0.4 (n_train 883)``, plus the run's other varied settings, if any."""
        others = "".join(f", {k}={v}" for k, v in self.settings.items() if k != "task.frac_train")
        return f"frac {self.frac_train:g} (n_train {self.n_train}{others})"


def _measures_needed(run: Any, rows: list[dict[str, Any]], arg: str, sweep: Path, measure: bool) -> bool:
    """True when ``rows`` (its measures) lack excluded_acc and ``measure`` allows computing them; else an error."""
    where = f"{arg} {sweep}: run {run.path.name}"
    # a mixture's excluded accuracy is per task, in each task's group (task0_excluded_acc …)
    key = task_column(0, "excluded_acc") if run.config.task.is_mixture else "excluded_acc"
    if any(key in row for row in rows):
        return False
    if rows and not (measure and run.config.task.is_mixture):  # a mixture sweep measured its own measures only
        raise RunError(f"{where}: {MEASURES_FILE} has no {key}; recompute it with `grokkit measure {run.path}`")
    if not measure:
        raise RunError(f"{where}: has no {MEASURES_FILE}; pass --measure (or run `grokkit measure {run.path} "
                       "--measures excluded`)")
    if not run.checkpoint_steps():
        raise RunError(f"{where}: has no checkpoints to measure")
    return True


def load_transformer(path: str | Path, measure: bool = False, arg: str = "--transformer",
                     log=print) -> list[TransformerRun]:
    """Every run of the transformer sweep at ``path``, sorted by n_train.

    With ``measure``, runs without measures first get the excluded measure offline
    (``grokkit.measures.offline.measure_run``, key frequencies from each run's final
    checkpoint, the paper's convention). Every run is checked before any is measured.
    """
    from grokkit.measures.offline import measure_run
    from grokkit.run import Run

    path = Path(path)
    folder = SweepFolder(path)
    _check_kind(folder, arg, SWEEP_FORMAT, "grokkit transformer sweep")
    try:
        listed = folder.recorded_runs()
    except RunError as exc:
        raise RunError(f"{arg} {exc}") from None
    if not listed:
        raise RunError(f"{arg} {path}: the sweep lists no runs")
    runs = []
    for name in listed:
        if not plain_name(name):  # a folder of runs/, never a path out of it
            raise RunError(f"{arg} {path}: {SWEEP_FILE} names run {name!r}, which is not a folder name")
        if not folder.run_path(name).is_dir():
            raise RunError(f"{arg} {path}: run {name} is missing")
        run = Run(folder.run_path(name))  # a damaged run: one line naming its file
        if not run.metrics():
            raise RunError(f"{arg} {path}: run {name} has no metrics yet; finish the sweep first")
        runs.append(run)
    measures = {run.path.name: run.measures() for run in runs}  # a value no figure can draw is refused as read
    todo = [run for run in runs if _measures_needed(run, measures[run.path.name], arg, path, measure)]
    for i, run in enumerate(todo, 1):
        log(f"measuring {run.path.name} ({i}/{len(todo)}): excluded accuracy at every checkpoint")
        measure_run(run, ["excluded"])
        measures[run.path.name] = run.measures()
    out = [r for run in runs for r in _reduce(run, listed[run.path.name], measures[run.path.name])]
    return sorted(out, key=lambda r: (r.n_train, r.name))


def _reduce(run: Any, settings: dict[str, Any], measures: list[dict[str, Any]]) -> list[TransformerRun]:
    """The run as the page compares it: one entry, or for a task mixture one per task (each task's own rows,
    group, split and milestones, side by side)."""
    metrics = run.metrics()
    task = run.config.task
    if not task.is_mixture:
        grok = story_of_run(run, metrics, measures).milestones.grokked_step  # an imported run's own records first
        return [_entry(run.path.name, settings, task.p, task.frac_train, len(run.dataset.split.train), measures,
                       metrics, grok)]
    from grokkit.data.mixture import task_name

    out = []
    for k, split in enumerate(run.dataset.task_splits):
        t, rows = task.mixture[k], task_rows(metrics, k)
        name = task_name(t.op, t.p, t.offset)
        out.append(_entry(f"{run.path.name} task{k}", {**settings, "task": f"{k} {name}"}, t.p, t.frac_train,
                          len(split.train), task_rows(measures, k), rows, milestones(rows).grokked_step))
    return out


def _entry(name: str, settings: dict[str, Any], p: int, frac_train: float, n_train: int,
           measures: list[dict[str, Any]], metrics: list[dict[str, Any]], grok: int | None) -> TransformerRun:
    rows = sorted((r for r in measures if "excluded_acc" in r), key=lambda r: r["step"])
    return TransformerRun(
        name=name, settings=settings, p=p, frac_train=frac_train,
        n_train=n_train, steps=[r["step"] for r in rows],
        memorised=[round(r["excluded_acc"] * n_train) for r in rows],
        excluded_acc=[r["excluded_acc"] for r in rows],
        key_freqs=list(rows[-1].get("key_freqs", [])), key_freqs_source=rows[-1].get("key_freqs_source", "?"),
        eval_steps=[r["step"] for r in metrics], test_acc=[r["test_acc"] for r in metrics],
        final_test_loss=metrics[-1]["test_loss"], final_step=metrics[-1]["step"], grok_step=grok,
    )
