"""The step loop of a stacked study (the toy model's ``grokkit.toy.train``, the capacity study's
``grokkit.capacity.train``): steps ``first`` … ``last`` with a progress bar when asked, and the loop's wall time.

The transformer trainer keeps its own loop (evaluations, checkpoints, callbacks); these studies train
full stacks for a fixed number of steps and only need to show and time it.
"""

from __future__ import annotations

import time
from typing import Iterator

import torch

from grokkit.terminal import progress_bar


class StepLoop:
    """``for step in StepLoop(last, desc, progress, device)``: 1-based steps ``first`` … ``last``.

    ``seconds`` is the loop's wall time once it has run to its end, taken after the device's queued
    work is done (CUDA runs asynchronously); the bar, drawn only with ``progress``, counts from
    ``first - 1`` so a loop that goes on from a saved step shows where it stands.
    """

    def __init__(self, last: int, desc: str, progress: bool, device: str, first: int = 1):
        self.first, self.last, self.desc, self.progress, self.device = first, last, desc, progress, device
        self.seconds = 0.0

    def __iter__(self) -> Iterator[int]:
        bar = None
        if self.progress:
            bar = progress_bar(total=self.last, initial=self.first - 1, desc=self.desc, leave=False)
        start = time.perf_counter()
        try:
            for step in range(self.first, self.last + 1):
                yield step
                if bar is not None:
                    bar.update(1)
            if self.device == "cuda":
                torch.cuda.synchronize()
            self.seconds = time.perf_counter() - start
        finally:
            if bar is not None:
                bar.close()
