"""Training as a researcher calls it: the engine plus the spec's live measures.

``train_run(run)`` and ``train_many(runs)`` are the training engine
(``grokkit.engine.loop``) with the callbacks a spec asks for added: its
``[measures] live`` rows after every checkpoint, and the progress bar. They sit above
both the engine and the measures, so neither imports the other.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

from grokkit.measures.live import live_measures
from grokkit.engine import loop
from grokkit.engine.loop import TrainResult


def train_many(runs: Sequence[Any], resume: bool = False, progress: bool = True,
               callbacks: Sequence[Any] = ()) -> list[TrainResult]:
    """Train runs of one shape as one stack (see ``grokkit.engine.loop.train_runs``), with their live measures."""
    runs = list(runs)
    return loop.train_runs(runs, resume=resume, progress=progress, callbacks=[*live_measures(runs), *callbacks])


def train_run(run: Any, resume: bool = False, progress: bool = True,
              on_checkpoint: Callable[[int, Any], None] | None = None, callbacks: Sequence[Any] = ()) -> TrainResult:
    """Train one run from scratch (or from its latest checkpoint with ``resume``), with its live measures.

    ``on_checkpoint(step, model)`` is called after each checkpoint with a TransformerLens
    bridge holding that checkpoint's weights.
    """
    return loop.train(run, resume=resume, progress=progress, on_checkpoint=on_checkpoint,
                        callbacks=[*live_measures([run]), *callbacks])
