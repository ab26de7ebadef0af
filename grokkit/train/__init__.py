"""What a training run is: its config (``config``), its device settings (``device``) and the
hooks the engine calls (``callbacks``). The engine itself is ``grokkit.engine``."""

from grokkit.train.config import TrainConfig

__all__ = ["TrainConfig"]
