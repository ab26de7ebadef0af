"""A toy sweep: grid → chunks → trained where the executor places them → rows and weights in the folder.

``run_sweep`` ties the rooms together: the grid and its chunks (``grokkit.toy.grid``), the folder
and its files (``grokkit.toy.folder``), one chunk's training (``grokkit.toy.unit``) and the sweep
executor both sweeps share (``grokkit.executor``). A restarted sweep verifies and reuses every
finished chunk and trains the rest.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from grokkit.executor import Executor, ExecutorOptions
from grokkit.toy.config import ToySpec
from grokkit.toy.folder import ToySweepFolder
from grokkit.toy.grid import chunk_instances, expand_grid
from grokkit.toy.unit import TrainedChunk, train_unit


@dataclass
class SweepResult:
    """What a finished sweep left on disk."""

    path: Path
    """The sweep directory."""
    rows: list[dict]
    """One row per model (every init when best_of > 1; ``kept`` marks the best)."""
    trained_chunks: int
    """Chunks trained by this call (the others were already on disk)."""
    seconds: float
    """Wall time of this call."""


def run_sweep(spec: ToySpec, out: str | Path, progress: bool = False, log=print,
              executor: ExecutorOptions | None = None) -> SweepResult:
    """Train every chunk not yet on disk (finished ones are verified, then reused), then write results.jsonl.

    Chunks are the sweep executor's units (``grokkit.executor``, local unless ``executor`` says Ray):
    a chunk trains wherever it is placed and is written here, in chunk order of completion.
    """
    start = time.perf_counter()
    device = spec.train.resolve_device()  # 'cuda' without a GPU is refused before the directory exists
    folder = ToySweepFolder(out)
    folder.prepare(spec)
    chunks = chunk_instances(expand_grid(spec), spec.sweep.chunk_instances)
    todo = []
    for c in range(len(chunks)):
        if folder.chunk(c).is_done():
            folder.chunk(c).verify()
        else:
            todo.append(c)

    def land(i: int, result: TrainedChunk, node: str | None) -> None:
        c, (rows, tensors) = todo[i], result
        for row in rows:
            row["chunk"] = c
        folder.chunk(c).write(rows, tensors)
        Ts = sorted({inst.T for inst in chunks[c]})
        log(f"chunk {c + 1}/{len(chunks)}: {len(chunks[c])} models, T {Ts[0]}–{Ts[-1]}, "
            f"{rows[0]['seconds_chunk']:.1f} s")

    with Executor(executor or ExecutorOptions("local"), log) as ex:
        ex.run([(chunks[c], spec, device, progress) for c in todo], train_unit, land)
    rows = folder.rows()
    folder.write_results(rows)
    return SweepResult(folder.path, rows, len(todo), time.perf_counter() - start)
