"""The capacity trainer's hooks: what a callback may see, and when (the trainer calls out; nobody reaches in).

Measures (``grokkit.capacity.measures.StudyRecorder``) implement this contract; the trainer
(``grokkit.capacity.train``) calls it, so neither imports the other.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from torch import Tensor

if TYPE_CHECKING:
    from grokkit.capacity.model import CapacityModels


class StackCallback:
    """Hooks of the capacity trainer (override what you need)."""

    def on_start(self, models: "CapacityModels", step: int = 0) -> None:
        """Before the first step taken now: ``step`` steps are behind (0 for a new study, n when resuming)."""

    def before_step(self, step: int, models: "CapacityModels") -> None:
        """Before the 1-based ``step`` is taken (the weights after step − 1)."""

    def after_step(self, step: int, models: "CapacityModels", loss: Tensor) -> None:
        """After ``step``; ``loss``: ``[I]`` each member's training loss of that step."""
