"""Algorithmic datasets: the operations, the task config and the input grid."""

from grokkit.data.dataset import AlgorithmicDataset, Split, TaskConfig, make_split
from grokkit.data.ops import OPERATIONS, Operation

__all__ = ["AlgorithmicDataset", "OPERATIONS", "Operation", "Split", "TaskConfig", "make_split"]
