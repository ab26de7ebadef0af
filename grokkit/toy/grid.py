"""A toy sweep's grid: every model the spec names (``expand_grid``), then the chunks trained together.

Instances are sorted by T before chunking, so a chunk holds models of equal or similar T
(bucketing) and padding rows stay few; the dense reconstruction is further cut into row
blocks (``train.block_elements``), so memory is bounded whatever T. A chunk is the unit of
resumption and the sweep executor's unit of work (``grokkit.toy.unit``).
"""

from __future__ import annotations

from itertools import product

from grokkit.toy.config import ToyInstance, ToySpec

PAD_ALLOWANCE = 4096  # padding rows tolerated in a chunk: cheaper than another pass of per-step overhead


def expand_grid(spec: ToySpec) -> list[ToyInstance]:
    """Every model of the sweep, sorted by T (then the other settings), best_of inits adjacent."""
    toy, sweep = spec.toy, spec.sweep
    grid = product(
        sweep.T,
        sweep.m or [toy.m],
        sweep.S or [toy.S],
        sweep.R or [toy.R],
        sweep.weight_decay or [spec.train.weight_decay],
        range(sweep.seeds),
        range(spec.train.best_of),
    )
    limit = spec.train.best_of_max_T
    instances = [
        ToyInstance(
            n=toy.n, m=m, S=float(S), T=T, R=R, weight_decay=float(wd), data_seed=seed, init_seed=init,
            normalise=toy.normalise, test_points=toy.test_points,
        )
        for T, m, S, R, wd, seed, init in grid
        if init == 0 or limit == 0 or T <= limit
    ]
    return sorted(instances, key=lambda inst: (inst.T, inst.m, inst.S, inst.R, inst.weight_decay, inst.data_seed, inst.init_seed))


def chunk_instances(instances: list[ToyInstance], size: int) -> list[list[ToyInstance]]:
    """Consecutive chunks of at most ``size`` models, never splitting the best_of inits of one model.

    Instances arrive sorted by T; a chunk is closed early when adding a larger T would
    pad it by more than a quarter of its real rows (plus PAD_ALLOWANCE rows, below
    which the per-step overhead dominates and merging small sets pays).
    """
    chunks: list[list[ToyInstance]] = []
    current: list[ToyInstance] = []
    for inst in instances:
        starts_group = inst.init_seed == 0
        real = sum(i.T for i in current) + inst.T
        padding = (len(current) + 1) * inst.T - real  # every model padded to the newcomer's (largest) T
        too_padded = padding > 0.25 * real + PAD_ALLOWANCE
        if current and starts_group and (len(current) >= size or too_padded):
            chunks.append(current)
            current = []
        current.append(inst)
    if current:
        chunks.append(current)
    return chunks
