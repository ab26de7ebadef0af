"""Run a sweep's runs: in stacks where shapes allow, here ("local") or on Ray ("ray").

The unit of work is a *batch*: a list of run directories that share
``grokkit.engine.loop.stack_key`` (at most ``max_stack`` of them): runs that differ
in optimiser, batch size, learning rate, weight decay, seeds or data fraction share a
stack; a different task or model shape makes another batch. ``train_batch`` trains one batch from whatever is on disk:
finished runs (``status.json``) are skipped, started ones resume from their
checkpoints, new ones start. So a restarted sweep redoes nothing that finished.

With Ray every batch is one task (``num_cpus=1``); run directories must be on a
file system the Ray workers see (true for a local Ray instance).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Sequence

EXECUTORS = ("local", "ray")


def plan_batches(configs: Sequence[tuple[Path, Any]], max_stack: int) -> list[list[str]]:
    """Group (run directory, RunConfig) pairs into batches of stackable runs, at most ``max_stack`` each."""
    from grokkit.engine.loop import stack_key

    groups: dict[Any, list[str]] = {}
    for path, config in configs:
        groups.setdefault(stack_key(config), []).append(str(path))
    return [paths[i : i + max_stack] for paths in groups.values() for i in range(0, len(paths), max_stack)]


def train_batch(paths: Sequence[str], progress: bool = False) -> list[str]:
    """Train the unfinished runs of one batch as one stack; return the paths trained.

    A run that diverges leaves the stack (the others go on), is reported on stderr, and counts
    as done: a diverged run is a result of the sweep (its row says at which step), and training
    it again would diverge again.
    """
    import sys

    from grokkit.run import Run
    from grokkit.engine.loop import DivergedError
    from grokkit.workflow import train_many

    runs = [Run(p) for p in paths]
    todo = [r for r in runs if not ((s := r.status() or {}).get("finished") or s.get("diverged"))]
    fresh = [r for r in todo if not r.checkpoint_steps()]
    started = [r for r in todo if r.checkpoint_steps()]
    for group, resume in ((fresh, False), (started, True)):  # started runs resume from their own checkpoints
        if not group:
            continue
        try:
            train_many(group, resume=resume, progress=progress)
        except DivergedError as exc:
            for line in exc.lines:
                print(f"note: {line}", file=sys.stderr)
    return [str(r.path) for r in todo]


def run_local(batches: list[list[str]], progress: bool, report: Callable[[str], None] = print) -> None:
    for i, batch in enumerate(batches, 1):
        report(f"batch {i}/{len(batches)}: {len(batch)} run(s)")
        train_batch(batch, progress)


def run_ray(batches: list[list[str]], address: str | None, num_cpus: int | None,
            report: Callable[[str], None] = print) -> None:
    """One Ray task per batch; starts a local Ray instance unless ``address`` names a cluster."""
    try:
        import ray
    except ImportError:
        from grokkit.errors import ConfigError

        raise ConfigError("--executor ray: Ray is not installed; pip install 'grokkit[ray]'") from None
    started_here = not ray.is_initialized()
    if started_here:
        if address:
            ray.init(address=address, log_to_driver=False)
        else:
            ray.init(num_cpus=num_cpus, include_dashboard=False, log_to_driver=False)
    try:
        task = ray.remote(num_cpus=1)(train_batch)
        pending = {task.remote(batch, False): batch for batch in batches}
        done = 0
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1)
            batch = pending.pop(ready[0])
            ray.get(ready[0])  # re-raises a worker's error here
            done += 1
            report(f"ray: batch {done}/{len(batches)} done ({len(batch)} run(s))")
    finally:
        if started_here:
            ray.shutdown()
