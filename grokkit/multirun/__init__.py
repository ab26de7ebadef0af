"""Vectorised multi-run training: many runs of one shape as one stack of parameters.

``model.py`` (stacked weights, the batched '=' forward) → ``optim.py`` (AdamW with a
learning rate and weight decay per run) → ``trainer.py`` (``train_many``: ordinary run
directories, resumable). ``stack_key`` says which runs can share a stack.
"""

from grokkit.multirun.trainer import stack_key, train_many

__all__ = ["stack_key", "train_many"]
