"""TensorBoard logging: one event folder per run (``RUN/tensorboard`` by default).

Uses ``torch.utils.tensorboard.SummaryWriter``, which needs the ``tensorboard`` package
(``pip install 'grokkit[tensorboard]'``). Every scalar is written at the run's step.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from grokkit.files.run_folder import RunStatus
from grokkit.track.base import Tracker


class TensorBoardTracker(Tracker):
    """Metrics and measures as TensorBoard scalars (``train_loss``, ``measures/excluded_loss``…)."""

    name = "tensorboard"

    def open(self, run: Any, folder: Path, start_step: int) -> Any:
        from torch.utils.tensorboard import SummaryWriter

        # purge_step: a resumed run drops the events it logged after its checkpoint
        return SummaryWriter(log_dir=str(folder), purge_step=start_step or None)

    def write(self, handle: Any, step: int, values: dict[str, float]) -> None:
        for tag, value in values.items():
            handle.add_scalar(tag, value, global_step=step)

    def close(self, handle: Any, status: RunStatus | None) -> None:
        if status is not None and status.grok_step is not None:
            handle.add_text("status", f"grokked at step {status.grok_step}")
        handle.flush()
        handle.close()
