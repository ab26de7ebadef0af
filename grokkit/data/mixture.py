"""A task mixture: several modular tasks in one model, each input led by its task token.

Layout (``task.op = "mixture"``; ``task.p`` is the shared symbol vocabulary and each task's
default modulus). Task k (0-based, in the order listed) has inputs ``[t_k, a, b, =]`` with
operands ``a, b`` in ``0 … p_k − 1`` and label ``(op_k(a, b) + offset_k) mod p_k``:

- tokens ``0 … task.p − 1`` are the symbols (operands and answers, shared by every task);
- ``t_k`` (default ``task.p + k``) is task k's token; '=' is the token after the largest task
  token, so ``d_vocab = max t_k + 2``; the output classes are the ``task.p`` symbols;
- the mixture's grid is task 0's grid (x-major, as ``AlgorithmicDataset`` lays out one task),
  then task 1's, …; ``task_of[row]`` says whose row it is.

Each task keeps its own train/test split: ``make_split`` over its own grid with its own
``frac_train`` (default ``task.frac_train``) and seed (default ``task.seed + k``, so the tasks'
splits differ), shifted to its rows of the mixture grid.

Frequencies are Zipf: ``π_k ∝ (k + 1)^−β`` (``task.zipf_beta``; task 0 the most frequent).
``task.mixture_frequency`` says how the training set carries them:

- ``"weight"`` (default): every task keeps its split; a training row of task k weighs
  ``π_k / n_train_k`` in the full-batch loss, so task k is a share π_k of the objective, as if
  the training set held its rows π_k/n_train_k times as often;
- ``"rows"``: the training set holds ``round(π_k · T)`` distinct rows of task k (the first of its
  shuffled rows; ``T = Σ_k ⌊frac_k · n_k⌋``, the rows the tasks' fractions would give), each
  weighing 1/T: frequency in the data itself. A task rounded to no row is refused.

With mini-batches (``train.batch_size`` below the training rows) a batch holds exactly
``c_k`` rows of task k, ``c = B·π`` apportioned by largest remainders to sum to B, drawn
without replacement from its training rows, so each step's batch carries the frequencies.
A task given no row of a batch is refused.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from grokkit.data.ops import OPERATIONS, Operation
from grokkit.errors import ConfigError

MIXTURE_OP = "mixture"
MIXTURE_OPERATION = Operation(MIXTURE_OP, "[task, a, b, =]: task k's op on a, b", fn=lambda x, y, p: None,
                              analysis_group="mixture")
"""``task.operation`` of a mixture: its group is each task's own (``TaskConfig.task_config``)."""
FREQUENCIES = ("weight", "rows")
MAX_TASKS = 64
MAX_TOKEN_GAP = 256  # task tokens lie in p … p + 255: no vocabulary of unused rows


@dataclass
class MixtureTask:
    """One task of a mixture (``[[task.mixture]]`` in a spec); None takes the default named."""

    op: str = "add"
    """Its operation: a modular op of ``grokkit.data.ops.OPERATIONS`` (the S5 ops have 120 symbols: not in a mixture)."""
    p: int | None = None
    """Its modulus, ≤ ``task.p`` (default: ``task.p``)."""
    offset: int = 0
    """Added to the answer mod p (``(a + b + offset) mod p``): a task that differs only by it (add and sub only,
    where a shift stays in Z_p and the measures' group is unchanged)."""
    frac_train: float | None = None
    """Fraction of its grid used for training (default: ``task.frac_train``)."""
    seed: int | None = None
    """Seed of its split (default: ``task.seed + k`` for task k)."""
    token: int | None = None
    """Its task token, ≥ ``task.p`` (default: ``task.p + k``)."""


def zipf_weights(n_tasks: int, beta: float) -> list[float]:
    """``π_k = (k + 1)^−β / Σ_j (j + 1)^−β``, k = 0 … n_tasks − 1."""
    raw = [(k + 1) ** -float(beta) for k in range(n_tasks)]
    total = sum(raw)
    return [r / total for r in raw]


def apportion(total: int, shares: list[float]) -> list[int]:
    """``total`` split into integers ∝ ``shares``: floors, then +1 to the largest remainders (ties: lower k)."""
    exact = [total * s for s in shares]
    counts = [math.floor(e) for e in exact]
    order = sorted(range(len(shares)), key=lambda k: (-(exact[k] - counts[k]), k))
    for k in order[: total - sum(counts)]:
        counts[k] += 1
    return counts


def _where(k: int, key: str) -> str:
    return f"task.mixture[{k}].{key}"


def _int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_mixture(task: Any) -> list[MixtureTask]:
    """Validate ``task.mixture`` (dicts from a spec, or MixtureTasks) against ``task``; return the tasks
    with every default filled in (what config.json records). One-line ConfigError naming the field."""
    from grokkit.data.dataset import check_split_sizes

    raw = task.mixture
    if not isinstance(raw, (list, tuple)) or not 2 <= len(raw) <= MAX_TASKS:
        raise ConfigError(f"task.mixture: must list 2 … {MAX_TASKS} tasks ([[task.mixture]] tables), got "
                          f"{len(raw) if isinstance(raw, (list, tuple)) else type(raw).__name__}")
    allowed = [f.name for f in dataclasses.fields(MixtureTask)]
    tasks: list[MixtureTask] = []
    for k, item in enumerate(raw):
        if isinstance(item, MixtureTask):
            item = dataclasses.asdict(item)
        if not isinstance(item, dict):
            raise ConfigError(f"task.mixture[{k}]: must be a table of key = value pairs")
        unknown = [key for key in item if key not in allowed]
        if unknown:
            raise ConfigError(f"{_where(k, unknown[0])}: unknown key; allowed: {', '.join(allowed)}")
        t = MixtureTask(**{key: v for key, v in item.items() if v is not None})
        if not isinstance(t.op, str) or t.op not in OPERATIONS:
            raise ConfigError(f"{_where(k, 'op')}: unknown operation {t.op!r}; allowed: {', '.join(OPERATIONS)}")
        operation = OPERATIONS[t.op]
        if operation.group != "modular":
            raise ConfigError(f"{_where(k, 'op')}: {t.op!r} is not an operation on residues mod p; a mixture takes "
                              "modular operations only")
        t.p = task.p if t.p is None else t.p
        if not _int(t.p) or not 3 <= t.p <= task.p:
            raise ConfigError(f"{_where(k, 'p')}: must be an integer in 3 … task.p = {task.p} (the shared symbols), "
                              f"got {t.p!r}")
        if operation.needs_prime:
            from grokkit.data.ops import is_prime

            if not is_prime(t.p):
                raise ConfigError(f"{_where(k, 'p')}: op {t.op!r} needs modular inverses, so p must be prime; got {t.p}")
        if not _int(t.offset) or not 0 <= t.offset < t.p:
            raise ConfigError(f"{_where(k, 'offset')}: must be an integer in 0 … p − 1 = {t.p - 1}, got {t.offset!r}")
        if t.offset and operation.analysis_group != "cyclic":
            raise ConfigError(f"{_where(k, 'offset')}: only add and sub take an offset (a shift stays in Z_p); "
                              f"op {t.op!r} reads its answers in another group")
        t.frac_train = task.frac_train if t.frac_train is None else t.frac_train
        if isinstance(t.frac_train, bool) or not isinstance(t.frac_train, (int, float)) or not 0 < t.frac_train < 1:
            raise ConfigError(f"{_where(k, 'frac_train')}: must be a number in (0, 1), got {t.frac_train!r}")
        try:
            check_split_sizes(grid_size(t), t.frac_train)
        except ConfigError as exc:
            raise ConfigError(str(exc).replace("task.frac_train", _where(k, "frac_train"), 1)) from None
        t.seed = task.seed + k if t.seed is None else t.seed
        if not _int(t.seed):
            raise ConfigError(f"{_where(k, 'seed')}: must be an integer, got {t.seed!r}")
        t.token = task.p + k if t.token is None else t.token
        if not _int(t.token) or not task.p <= t.token < task.p + MAX_TOKEN_GAP:
            raise ConfigError(f"{_where(k, 'token')}: {t.token!r} clashes with the vocabulary: tokens 0 … "
                              f"{task.p - 1} are the symbols; allowed: {task.p} … {task.p + MAX_TOKEN_GAP - 1}")
        tasks.append(t)
    seen: dict[int, int] = {}
    for k, t in enumerate(tasks):
        if t.token in seen:
            raise ConfigError(f"{_where(k, 'token')}: {t.token} is already task {seen[t.token]}'s token; "
                              "each task needs its own")
        seen[t.token] = k
    same = {}
    for k, t in enumerate(tasks):
        key = (t.op, t.p, t.offset)
        if key in same:
            raise ConfigError(f"task.mixture[{k}]: the same task as task.mixture[{same[key]}] (op {t.op!r}, p {t.p}, "
                              f"offset {t.offset}); tasks must differ by op, p or offset")
        same[key] = k
    beta = task.zipf_beta
    if isinstance(beta, bool) or not isinstance(beta, (int, float)) or not 0 < beta < math.inf:
        raise ConfigError(f"task.zipf_beta: must be a finite number > 0 (π_k ∝ (k+1)^−β), got {beta!r}")
    if task.mixture_frequency not in FREQUENCIES:
        raise ConfigError(f"task.mixture_frequency: must be one of {', '.join(FREQUENCIES)}, "
                          f"got {task.mixture_frequency!r}")
    if task.mixture_frequency == "rows":
        _rows_counts(tasks, beta)  # refuses a task rounded to no training row
    return tasks


def grid_size(t: MixtureTask) -> int:
    return t.p * (t.p - 1) if OPERATIONS[t.op].y_nonzero else t.p * t.p


def _rows_counts(tasks: list[MixtureTask], beta: float) -> list[int]:
    """``mixture_frequency = "rows"``: training rows of each task, ``round(π_k · T)``; refused at 0 or the whole grid."""
    pi = zipf_weights(len(tasks), beta)
    total = sum(int(t.frac_train * grid_size(t)) for t in tasks)
    counts = apportion(total, pi)
    for k, c in enumerate(counts):
        if c < 1:
            raise ConfigError(f"task.zipf_beta: {beta} gives task {k} π = {pi[k]:.2g} of {total} training rows, "
                              f"which rounds to 0 rows; lower task.zipf_beta or raise task.frac_train")
    for k, (t, c) in enumerate(zip(tasks, counts)):
        if c >= grid_size(t):
            raise ConfigError(f"task.mixture[{k}]: its share π = {pi[k]:.2g} of {total} training rows is {c}, "
                              f"all {grid_size(t)} of its rows (no test row left); lower task.frac_train")
    return counts


def batch_counts(task: Any, batch_size: int) -> list[int]:
    """Rows of each task in a mini-batch of ``batch_size``: ``B·π`` by largest remainders."""
    return apportion(batch_size, zipf_weights(len(task.mixture), task.zipf_beta))


def check_batches(task: Any, batch_size: int | None) -> None:
    """A mini-batch must give every task at least one row, and no task more rows than it trains on."""
    if batch_size is None:
        return
    splits = task_splits_sizes(task)
    if batch_size >= sum(splits):
        return  # the full batch
    pi = zipf_weights(len(task.mixture), task.zipf_beta)
    for k, (c, n) in enumerate(zip(batch_counts(task, batch_size), splits)):
        if c < 1:
            raise ConfigError(f"train.batch_size: {batch_size} gives task {k} (π = {pi[k]:.2g}) 0 rows of a batch; "
                              "raise train.batch_size or lower task.zipf_beta")
        if c > n:
            raise ConfigError(f"train.batch_size: {batch_size} gives task {k} {c} rows of a batch but it trains on "
                              f"{n}; lower train.batch_size or task.zipf_beta")


def check_run(task: Any, batch_size: int | None, model_kind: str, live: Any) -> None:
    """What a mixture asks of the other sections: batches that give every task rows (``check_batches``), a
    transformer (its inputs are four tokens), and its measures computed offline."""
    if model_kind != "transformer":
        raise ConfigError(f"model.kind: a task mixture's inputs are [task, a, b, =]; it trains a transformer, "
                          f"got {model_kind!r}")
    if live:
        raise ConfigError("measures.live: a task mixture is measured per task after training (`grokkit measure RUN`); "
                          "leave measures.live out")
    check_batches(task, batch_size)


def task_splits_sizes(task: Any) -> list[int]:
    """Training rows of each task."""
    if task.mixture_frequency == "rows":
        return _rows_counts(task.mixture, task.zipf_beta)
    return [int(t.frac_train * grid_size(t)) for t in task.mixture]


@dataclass
class MixtureGrid:
    """The mixture's rows: what ``AlgorithmicDataset`` holds for a mixture (see the module docstring)."""

    tokens: torch.Tensor  # [N, 4] int64: [t_k, a, b, =]
    labels: torch.Tensor  # [N]
    x: torch.Tensor  # [N] operand a
    y: torch.Tensor  # [N] operand b
    task_of: torch.Tensor  # [N] int64: the task of each row
    starts: list[int]  # task k's rows are starts[k] … starts[k + 1] − 1
    train: list[torch.Tensor]  # task k's training rows (mixture-grid indices, ascending)
    test: list[torch.Tensor]


def build_grid(task: Any) -> MixtureGrid:
    """Every row of every task of ``task.mixture``, with each task's split (module docstring)."""
    from grokkit.data.dataset import make_split, permutation

    tasks = task.mixture
    eq = max(t.token for t in tasks) + 1
    toks, labels, xs, ys, owner, trains, tests, starts = [], [], [], [], [], [], [], [0]
    rows_counts = _rows_counts(tasks, task.zipf_beta) if task.mixture_frequency == "rows" else None
    for k, t in enumerate(tasks):
        op = OPERATIONS[t.op]
        ys_k = np.arange(1, t.p) if op.y_nonzero else np.arange(t.p)
        x, y = np.meshgrid(np.arange(t.p), ys_k, indexing="ij")  # x-major, as a single task
        x, y = x.ravel(), y.ravel()
        label = (np.asarray(op.fn(x, y, t.p), dtype=np.int64) + t.offset) % t.p
        n = len(x)
        x_t, y_t = torch.from_numpy(x), torch.from_numpy(y)
        toks.append(torch.stack([torch.full_like(x_t, t.token), x_t, y_t, torch.full_like(x_t, eq)], dim=1))
        labels.append(torch.from_numpy(label))
        xs.append(x_t)
        ys.append(y_t)
        owner.append(torch.full((n,), k, dtype=torch.int64))
        if rows_counts is None:
            train, test = make_split(n, t.frac_train, t.seed, task.split)
        else:  # the first round(π_k T) of its shuffled rows
            perm = permutation(n, t.seed, task.split)
            train, test = perm[: rows_counts[k]].sort().values, perm[rows_counts[k]:].sort().values
        trains.append(train + starts[-1])
        tests.append(test + starts[-1])
        starts.append(starts[-1] + n)
    return MixtureGrid(torch.cat(toks), torch.cat(labels), torch.cat(xs), torch.cat(ys), torch.cat(owner),
                       starts, trains, tests)


def train_weights(task: Any, grid: MixtureGrid, n_rows: int) -> torch.Tensor:
    """``[N]`` float64 row weights of the full-batch objective, summing to 1 (module docstring)."""
    w = torch.zeros(n_rows, dtype=torch.float64)
    if task.mixture_frequency == "rows":
        total = sum(len(tr) for tr in grid.train)
        for tr in grid.train:
            w[tr] = 1.0 / total
        return w
    for pi, tr in zip(zipf_weights(len(grid.train), task.zipf_beta), grid.train):
        w[tr] = pi / len(tr)
    return w


def sample_batch(task: Any, grid: MixtureGrid, batch_size: int, generator: torch.Generator) -> torch.Tensor:
    """A mini-batch's rows: ``c_k`` of task k's training rows without replacement, task by task."""
    parts = []
    for c, tr in zip(batch_counts(task, batch_size), grid.train):
        parts.append(tr[torch.randperm(len(tr), generator=generator)[:c]])
    return torch.cat(parts)


def describe(task: Any) -> list[dict[str, Any]]:
    """Each task of a mixture as a record: op, p, offset, token, frequency π, training and test rows."""
    pi = zipf_weights(len(task.mixture), task.zipf_beta)
    n_train = task_splits_sizes(task)
    return [{"task": k, "op": t.op, "p": t.p, "offset": t.offset, "token": t.token, "pi": pi[k],
             "n_train": n_train[k], "n_test": grid_size(t) - n_train[k], "seed": t.seed}
            for k, t in enumerate(task.mixture)]


def task_name(op: str, p: int, offset: int = 0) -> str:
    """``add p 13``, ``add+5 p 13``: a task as the views label it."""
    return f"{op}{'+' + str(offset) if offset else ''} p {p}"
