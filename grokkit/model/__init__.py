"""The one-layer transformer: config, TransformerLens construction, fast forward."""

from grokkit.model.build import build_model, model_state, trainable_parameters
from grokkit.model.config import ModelConfig
from grokkit.model.fast import Weights, last_logits, weights_of

__all__ = ["ModelConfig", "Weights", "build_model", "last_logits", "model_state", "trainable_parameters", "weights_of"]
