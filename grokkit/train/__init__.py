"""Training: the config (here), the loop (``grokkit.train.trainer``), checkpoints (``.checkpoint``)."""

from grokkit.train.config import TrainConfig

__all__ = ["TrainConfig"]
