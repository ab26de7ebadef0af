"""Training as a researcher calls it: the engine plus what the spec asks for around it.

``train_run(run)`` and ``train_many(runs)`` are the training engine
(``grokkit.train.runs``) with the callbacks a spec asks for added: its
``[measures] live`` rows after every checkpoint, its ``[log]`` trackers (W&B,
TensorBoard; ``log`` overrides the backends, as ``--log`` does) and the progress bar.
They sit above the engine, the measures and the trackers, so none imports another.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

from grokkit.measures.live import live_measures
from grokkit.track import make_trackers
from grokkit.train.runs import train, train_runs
from grokkit.train.trainer import TrainResult


def _spec_callbacks(runs: list[Any], log: str | None) -> list[Any]:
    """Live measures, then trackers (the spec's [log] of the stack's first run, or ``log``)."""
    return [*live_measures(runs), *make_trackers(runs[0].config, log)]


def train_many(runs: Sequence[Any], resume: bool = False, progress: bool = True,
               callbacks: Sequence[Any] = (), log: str | None = None) -> list[TrainResult]:
    """Train runs of one shape as one stack (see ``grokkit.train.runs.train_runs``), with their spec's callbacks."""
    runs = list(runs)
    if not runs:
        return []
    return train_runs(runs, resume=resume, progress=progress,
                      callbacks=[*_spec_callbacks(runs, log), *callbacks])


def train_run(run: Any, resume: bool = False, progress: bool = True,
              on_checkpoint: Callable[[int, Any], None] | None = None, callbacks: Sequence[Any] = (),
              log: str | None = None, unfinished: bool = False) -> TrainResult:
    """Train one run from scratch (or from its latest checkpoint with ``resume``), with its spec's callbacks.

    ``on_checkpoint(step, model)`` is called after each checkpoint with a TransformerLens
    bridge holding that checkpoint's weights. ``log``: tracker backends instead of the
    spec's ``[log] backends`` (``"wandb"``, ``"tensorboard"``, both comma-separated, or ``""``).
    ``unfinished``: refuse, under the run's lock, a run that has ended (``grokkit.train.runs.train_runs``).
    """
    return train(run, resume=resume, progress=progress, on_checkpoint=on_checkpoint,
                 callbacks=[*_spec_callbacks([run], log), *callbacks], unfinished=unfinished)
