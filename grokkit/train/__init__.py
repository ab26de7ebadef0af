"""Training: the config (``config``), the engine that trains one or many runs as one stack
(``engine``, over ``stack``), its callbacks (``callbacks``, ``progress``) and device settings (``device``)."""

from grokkit.train.config import TrainConfig

__all__ = ["TrainConfig"]
