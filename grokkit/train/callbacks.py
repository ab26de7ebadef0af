"""What the training engine calls out to: live measures, progress bars, experiment loggers.

The engine knows nothing of measures or loggers; it calls every callback it was
given at fixed points. Each hook receives the ``Run`` it concerns (one engine call
may train many runs as one stack), so one callback object can serve a whole stack.
Subclass ``Callback`` and override the hooks you need; the defaults do nothing. Any
object with some of these methods works too (the engine calls only the hooks an
object has), so a layer above training, such as the live measures, need not import it.
"""

from __future__ import annotations

from typing import Any


class Callback:
    """Hooks of the training engine (override any; all are optional)."""

    def on_train_start(self, runs: list[Any], start_step: int) -> None:
        """Before the first step (``start_step`` > 0 when resuming)."""

    def on_eval(self, run: Any, row: dict[str, Any]) -> None:
        """After a metrics row (``step``, losses, accuracies, ``lr``…) was appended to ``run``'s log."""

    def on_checkpoint(self, run: Any, step: int, model: Any) -> None:
        """After ``run``'s checkpoint at ``step`` was written; ``model`` is a TransformerLens bridge
        holding exactly those weights (do not keep it: the engine reuses it)."""

    def on_step(self, step: int, n_active: int) -> None:
        """After every optimiser step of the stack (``n_active`` runs still training)."""

    def on_run_end(self, run: Any, status: Any) -> None:
        """When ``run`` leaves the stack: finished, stopped early or diverged (``status`` is the
        ``grokkit.files.run_folder.RunStatus`` just written)."""

    def on_train_end(self) -> None:
        """After the last run left the stack (also called when training raises)."""


def emit(callbacks: list[Any], hook: str, *args: Any) -> None:
    """Call ``hook(*args)`` on every callback that has it."""
    for callback in callbacks:
        method = getattr(callback, hook, None)
        if method is not None:
            method(*args)
