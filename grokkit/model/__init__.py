"""The one-layer transformer: config, TransformerLens construction, one run's weights and their forward."""

from grokkit.model.build import build_model, model_state, trainable_parameters
from grokkit.model.config import ModelConfig
from grokkit.model.run_weights import LastPosition, Weights, last_logits, last_position, weights_of

__all__ = ["LastPosition", "ModelConfig", "Weights", "last_position", "build_model", "last_logits", "model_state", "trainable_parameters", "weights_of"]
