"""Extend a run: more steps (or a later early stop) for a run that finished, so that resuming it ends
bit-identical to a run started with the new settings.

Training is deterministic and a checkpoint holds the optimiser, filter and RNG state, so a
run that trained A steps and resumes to N takes the very updates a run started with
``train.steps = N`` takes, provided nothing it already did depended on A:

- the learning rate of a constant schedule does not (warm-up counts from step 0); a cosine
  decay ends at ``train.steps``, so such a run is refused;
- early stopping: a run that stopped early would stop at the same step again, so it needs a
  later ``train.early_stop_after``, and a new one must not fall before the step reached.

The change is recorded in ``config.json``: its ``config`` is the new one and ``extended`` lists
every change (the step it applies from, the changed keys' old and new values, the previous
config), so ``Run`` still accepts the checkpoints written under the previous config.
``status.json`` is removed, so an interrupted extension resumes like any unfinished run.
The run gains a metrics row and a checkpoint at the step it had stopped at, which a run
started with N would not have (eval and checkpoint intervals aside); weights are identical.

**A data change** (``grokkit resume RUN --set task.frac_train=F --steps N``) is recorded the same
way, with ``task.frac_train`` among the changed keys: from the step the run ended at, it trains on
the first ⌊F·rows⌋ rows of its own split permutation (``grokkit.data.dataset.make_split``), so a
smaller F is a subset of its training rows and a larger F adds test rows in the permutation's
order; the rows it no longer trains on are scored as test rows from then on. Weights, optimiser,
filter and batch-sampler state continue untouched from the checkpoint at that step. It is refused
(one line, nothing written) on a run that is still training (its lock is held) or that has not ended
(an interrupted run: finish it first), without more steps to train on the new data, when the new
fraction leaves a class without training rows, and for a task mixture (its tasks keep their own
fractions and splits).
"""

from __future__ import annotations

import datetime
from typing import Any

from grokkit.errors import RunError
from grokkit.files.run_folder import RunStatus
from grokkit.spec import config_from_dict, parse_override
from grokkit.train.cadence import evaluates_at

EXTENDABLE = ("steps", "early_stop_after")  # the train keys an extension may change
DATA_KEYS = ("frac_train",)  # the task keys a data change may set: the split stays nested (make_split)


def recordable(key: str) -> bool:
    """Whether an extension record may name ``key`` ("section.key") as changed (``grokkit.run.check_extensions``:
    any other difference between a run's configs is an edit, and refused)."""
    section, _, name = key.partition(".")
    return (section == "train" and name in EXTENDABLE) or (section == "task" and name in DATA_KEYS)


def extension_changes(overrides: list[str], steps: int | None = None) -> dict[str, Any]:
    """``--steps N`` and ``--set train.KEY=VALUE`` as ``{key: value}`` over EXTENDABLE (others refused)."""
    changes: dict[str, Any] = {} if steps is None else {"steps": steps}
    for text in overrides:
        section, key, value = parse_override(text)
        if section != "train" or key not in EXTENDABLE:
            raise RunError(f"resume --set {text}: only train.steps and train.early_stop_after (and task.frac_train, a "
                           "data change) can change when a run is extended (its other settings are fixed by its "
                           "checkpoints)")
        if key in changes and changes[key] != value:
            raise RunError(f"resume: train.{key} is given twice ({changes[key]!r} and {value!r})")
        changes[key] = value
    return changes


def data_changes(overrides: list[str]) -> tuple[dict[str, Any], list[str]]:
    """``--set task.frac_train=F`` taken out of ``overrides``: ``({task key: value}, the other overrides)``."""
    task: dict[str, Any] = {}
    rest = []
    for text in overrides:
        section, key, value = parse_override(text)
        if section != "task":
            rest.append(text)
            continue
        if key not in DATA_KEYS:
            raise RunError(f"resume --set {text}: of the task, only task.frac_train can change when a run is "
                           "continued (a nested subset or superset of its training rows)")
        if key in task and task[key] != value:
            raise RunError(f"resume: task.{key} is given twice ({task[key]!r} and {value!r})")
        task[key] = value
    return task, rest


def check_data_change(run: Any, config: Any, status: RunStatus | None, reached: int) -> None:
    """Refuse (one line) a data change ``run`` cannot take at step ``reached`` (see the module docstring)."""
    from grokkit.data.dataset import classes_without_train_rows

    # the caller (extend_run) holds the run's lock: a run still training refused there, in the lock's own words
    if config.task.is_mixture:  # each task keeps its own split and fraction: one task.frac_train is no data change
        raise RunError(f"task.frac_train: {run.path} is a task mixture, whose tasks carry their own fractions; "
                       "a data change is for one-task runs")
    if status is None or not status.finished:
        raise RunError(f"{run.path}: has not ended (interrupted?); finish it with `grokkit resume {run.path}` "
                       "first: its data can change only at the step where it ended")
    if reached not in run.checkpoint_steps():
        raise RunError(f"{run.path}: has no checkpoint at step {reached}, where it ended; its data cannot change there")
    if config.train.steps <= reached:
        raise RunError(f"train.steps: {run.path} ended at step {reached}; give --steps N with N > {reached} to "
                       "train on the new data")
    missing = classes_without_train_rows(config.task)
    if missing:
        shown = ", ".join(map(str, missing[:8])) + ("…" if len(missing) > 8 else "")
        raise RunError(f"task.frac_train: {config.task.frac_train:g} leaves {len(missing)} class(es) without "
                       f"training rows ({shown}); choose a larger fraction")


def extend_run(run: Any, changes: dict[str, Any], task: dict[str, Any] | None = None) -> dict[str, Any] | None:
    """Record new ``train`` values for ``run`` (see the module docstring); None when nothing changes.

    ``task``: new ``task`` values (``DATA_KEYS``, from ``data_changes``): a data change from the step
    the run ended at.

    Decided under the run's lock from what the folder holds then (config, status, logs, checkpoints),
    not from what ``run`` read before: two extensions, or one from a stale handle, never lose each
    other's record. ``run`` is updated to the recorded config.
    Raises ``RunError`` (one line, nothing written) when the run cannot be extended bit-identically.
    """
    from grokkit.files.lock import locked

    with locked(run.path):
        fresh = type(run)(run.path)  # re-read now that no other writer can change it
        entry = _extend_locked(fresh, changes, task)
    run.config, run.extended = fresh.config, fresh.extended
    run.__dict__.pop("dataset", None)  # Run.dataset is cached: a data change makes the next read use the new split
    return entry


def _extend_locked(run: Any, changes: dict[str, Any], task: dict[str, Any] | None) -> dict[str, Any] | None:
    old = run.config.to_dict()
    new = {**old, "train": {**old["train"], **changes}, "task": {**old["task"], **(task or {})}}
    config = config_from_dict(new, source="resume")  # validates the values: one line naming the field
    changed = {f"train.{k}": [old["train"][k], v] for k, v in changes.items() if old["train"][k] != v}
    changed.update({f"task.{k}": [old["task"][k], v] for k, v in (task or {}).items() if old["task"][k] != v})
    if not changed:
        return None
    train = config.train
    status = run.status()
    if status is not None and (status.diverged or status.imported):
        what = "diverged" if status.diverged else "was imported (no optimiser state)"
        raise RunError(f"{run.path}: cannot be extended: it {what}")
    if "train.steps" in changed and train.schedule != "constant":
        raise RunError(f"train.steps: this run's train.schedule = {train.schedule} decays to 0 at train.steps, so a "
                       f"longer run is not this run continued; start a new run with train.steps = {train.steps}")
    rows = run.metrics()
    reached = max([row["step"] for row in rows] + run.checkpoint_steps() + [0])
    if train.steps < reached:
        raise RunError(f"train.steps: {train.steps} is below step {reached}, which {run.path} already reached")
    if any(key.startswith("task.") for key in changed):
        check_data_change(run, config, status, reached)
    # the rows a run started with the new config logs too (the engine's grok step reads only these)
    eval_grid = [row for row in rows if evaluates_at(train, row["step"])]
    grok = next((row["step"] for row in eval_grid
                 if row.get("test_acc") is not None and row["test_acc"] >= train.early_stop_acc), None)
    if train.early_stop_after is not None and grok is not None and grok + train.early_stop_after < reached:
        raise RunError(f"train.early_stop_after: {train.early_stop_after} would have stopped {run.path} at step "
                       f"{grok + train.early_stop_after}, before step {reached}, which it reached")
    if status is not None and status.stopped_early and train.early_stop_after is not None and grok is not None \
            and grok + train.early_stop_after <= reached:
        raise RunError(f"{run.path}: stopped early at step {reached} ({train.early_stop_after} steps after test "
                       f"accuracy reached {train.early_stop_acc:g}); a run started with these settings stops there "
                       "too: also pass a larger --set train.early_stop_after=STEPS")
    entry = {"from_step": reached, "changed": changed, "previous": old,
             "at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}
    run.folder.record_extension(config.to_dict(), entry)  # removes the status first: a kill leaves it unfinished
    run.config, run.extended = config, [*run.extended, entry]  # as Run(run.path) now reads them
    return entry
