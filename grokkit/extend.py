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
"""

from __future__ import annotations

import datetime
from typing import Any

from grokkit.errors import RunError
from grokkit.spec import config_from_dict, parse_override

EXTENDABLE = ("steps", "early_stop_after")  # the train keys an extension may change


def extension_changes(overrides: list[str], steps: int | None = None) -> dict[str, Any]:
    """``--steps N`` and ``--set train.KEY=VALUE`` as ``{key: value}`` over EXTENDABLE (others refused)."""
    changes: dict[str, Any] = {} if steps is None else {"steps": steps}
    for text in overrides:
        section, key, value = parse_override(text)
        if section != "train" or key not in EXTENDABLE:
            raise RunError(f"resume --set {text}: only train.steps and train.early_stop_after can change when a run "
                           "is extended (its other settings are fixed by its checkpoints)")
        if key in changes and changes[key] != value:
            raise RunError(f"resume: train.{key} is given twice ({changes[key]!r} and {value!r})")
        changes[key] = value
    return changes


def extend_run(run: Any, changes: dict[str, Any]) -> dict[str, Any] | None:
    """Record new ``train`` values for ``run`` (see the module docstring); None when nothing changes.

    Raises ``RunError`` (one line, nothing written) when the run cannot be extended bit-identically.
    """
    from grokkit.files.lock import locked

    old = run.config.to_dict()
    new = {**old, "train": {**old["train"], **changes}}
    config = config_from_dict(new, source="resume")  # validates the values: one line naming the field
    changed = {f"train.{k}": [old["train"][k], v] for k, v in changes.items() if old["train"][k] != v}
    if not changed:
        return None
    train = config.train
    status = run.status() or {}
    if status.get("diverged") or status.get("imported"):
        what = "diverged" if status.get("diverged") else "was imported (no optimiser state)"
        raise RunError(f"{run.path}: cannot be extended: it {what}")
    if "train.steps" in changed and train.schedule != "constant":
        raise RunError(f"train.steps: this run's train.schedule = {train.schedule} decays to 0 at train.steps, so a "
                       f"longer run is not this run continued; start a new run with train.steps = {train.steps}")
    rows = run.metrics()
    reached = max([row["step"] for row in rows] + run.checkpoint_steps() + [0])
    if train.steps < reached:
        raise RunError(f"train.steps: {train.steps} is below step {reached}, which {run.path} already reached")
    # the rows a run started with the new config logs too (the engine's grok step reads only these)
    eval_grid = [row for row in rows if row["step"] % train.eval_every == 0 or row["step"] == train.steps]
    grok = next((row["step"] for row in eval_grid
                 if row.get("test_acc") is not None and row["test_acc"] >= train.early_stop_acc), None)
    if train.early_stop_after is not None and grok is not None and grok + train.early_stop_after < reached:
        raise RunError(f"train.early_stop_after: {train.early_stop_after} would have stopped {run.path} at step "
                       f"{grok + train.early_stop_after}, before step {reached}, which it reached")
    if status.get("stopped_early") and train.early_stop_after is not None and grok + train.early_stop_after <= reached:
        raise RunError(f"{run.path}: stopped early at step {reached} ({train.early_stop_after} steps after test "
                       f"accuracy reached {train.early_stop_acc:g}); a run started with these settings stops there "
                       "too: also pass a larger --set train.early_stop_after=STEPS")
    with locked(run.path):
        entry = {"from_step": reached, "changed": changed, "previous": old,
                 "at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}
        run.folder.record_extension(config.to_dict(), entry)  # removes the status first: a kill leaves it unfinished
    run.config, run.extended = config, [*run.extended, entry]  # as Run(run.path) now reads them
    return entry
