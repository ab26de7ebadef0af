"""The training progress bar, as an engine callback (``grokkit.terminal.progress_bar``)."""

from __future__ import annotations

from typing import Any

from grokkit.terminal import progress_bar
from grokkit.train.callbacks import Callback


class ProgressBar(Callback):
    """Step, and the last evaluation's losses and accuracies (of the first run, when several train)."""

    def __init__(self) -> None:
        self.bar = None
        self.first = None

    def on_train_start(self, runs: list[Any], start_step: int) -> None:
        self.close()
        self.first = runs[0].path
        total = max(r.config.train.steps for r in runs)
        desc = None if len(runs) == 1 else f"{len(runs)} runs"
        self.bar = progress_bar(total=total, initial=start_step, unit="step", desc=desc)

    def on_step(self, step: int, n_active: int) -> None:
        if self.bar is not None:
            self.bar.update(1)

    def on_eval(self, run: Any, row: dict[str, Any]) -> None:
        if self.bar is not None and run.path == self.first:
            self.bar.set_postfix_str(f"train {row['train_loss']:.2e} ({row['train_acc']:.0%}) "
                                     f"test {row['test_loss']:.2e} ({row['test_acc']:.0%})", refresh=False)

    def on_train_end(self) -> None:
        self.close()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
