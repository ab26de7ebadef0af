"""Task configuration and the algorithmic dataset: tokens ``[x, y, =]`` and labels."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import torch

from grokkit.data.ops import OPERATIONS, S5_ORDER, Operation, is_prime
from grokkit.errors import ConfigError

SPLITS = ("randperm", "paper")
MAX_P = 3_037_000_499  # the largest p with p² < 2⁶³; it also keeps the primality test quick


@dataclass
class TaskConfig:
    """Which operation to learn, and how the input grid is split into train and test."""

    op: str = "add"
    """Binary operation; one of ``grokkit.data.OPERATIONS`` (e.g. add, sub, mul, div, s5_compose)."""
    p: int = 113
    """Modulus for the modular operations; ignored by the S5 operations (120 symbols)."""
    frac_train: float = 0.3
    """Fraction of the input grid used for training, in (0, 1)."""
    seed: int = 598
    """Seed of the train/test permutation (598 is the TransformerLens demo's; the paper's is 0)."""
    split: str = "randperm"
    """How the rows are shuffled: randperm (the demo's ``torch.randperm`` under a seeded generator) or
    paper (the paper's ``gen_train_test``: Python's ``random.seed(seed)``, ``random.shuffle``)."""

    def __post_init__(self) -> None:
        if not isinstance(self.op, str) or self.op not in OPERATIONS:
            raise ConfigError(f"task.op: unknown operation {self.op!r}; allowed: {', '.join(OPERATIONS)}")
        if isinstance(self.p, bool) or not isinstance(self.p, int) or not 3 <= self.p <= MAX_P:
            raise ConfigError(f"task.p: must be an integer in 3 … {MAX_P} (row x·p + y must fit int64), "
                              f"got {self.p!r}")
        if self.operation.needs_prime and not is_prime(self.p):
            raise ConfigError(
                f"task.p: op {self.op!r} needs modular inverses, so p must be prime; got {self.p}"
            )
        if isinstance(self.frac_train, bool) or not isinstance(self.frac_train, (int, float)) or not (
            0.0 < self.frac_train < 1.0
        ):
            raise ConfigError(f"task.frac_train: must be a number in (0, 1), got {self.frac_train!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            raise ConfigError(f"task.seed: must be an integer, got {self.seed!r}")
        check_split_sizes(self.n_rows, self.frac_train)  # here, so an empty split is refused before any file
        if self.split not in SPLITS:
            raise ConfigError(f"task.split: must be one of {', '.join(SPLITS)}, got {self.split!r}")

    @property
    def operation(self) -> Operation:
        return OPERATIONS[self.op]

    @property
    def n_rows(self) -> int:
        """Input pairs of the grid: n_symbols², or n_symbols·(n_symbols − 1) when y = 0 is excluded."""
        n = self.n_symbols
        return n * (n - 1) if self.operation.y_nonzero else n * n

    @property
    def n_symbols(self) -> int:
        """Number of operand/result symbols: p, or 120 for S5."""
        return S5_ORDER if self.operation.group == "s5" else self.p

    @property
    def eq_token(self) -> int:
        """Token id of ``=``: the token after the operands."""
        return self.n_symbols

    @property
    def d_vocab(self) -> int:
        """Input vocabulary: the symbols plus ``=``."""
        return self.n_symbols + 1

    @property
    def d_vocab_out(self) -> int:
        """Output classes: the symbols only (``=`` is never a label)."""
        return self.n_symbols

    @property
    def n_ctx(self) -> int:
        return 3


class Split(NamedTuple):
    """Row indices into the full input grid."""

    train: torch.Tensor  # [n_train] int64
    test: torch.Tensor  # [n_test] int64


class AlgorithmicDataset:
    """Every input pair of a task, in x-major order, with its deterministic split.

    ``tokens[r] = [x, y, =]`` and ``labels[r] = op(x, y)``. For operations defined on
    every pair, row ``r = x * n + y`` (the a-major grid the Fourier analysis needs);
    division drops ``y = 0`` and its rows are ``x * (n - 1) + (y - 1)``.
    """

    def __init__(self, cfg: TaskConfig):
        self.cfg = cfg
        n = cfg.n_symbols
        ys = np.arange(1, n) if cfg.operation.y_nonzero else np.arange(n)
        x, y = np.meshgrid(np.arange(n), ys, indexing="ij")  # x-major
        x, y = x.ravel(), y.ravel()
        labels = cfg.operation.fn(x, y, cfg.p)
        self.x = torch.from_numpy(x)
        self.y = torch.from_numpy(y)
        self.tokens = torch.stack([self.x, self.y, torch.full_like(self.x, cfg.eq_token)], dim=1)  # [N, 3]
        self.labels = torch.from_numpy(np.asarray(labels, dtype=np.int64))  # [N]
        self.split = make_split(len(self.labels), cfg.frac_train, cfg.seed, cfg.split)

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def is_full_grid(self) -> bool:
        """True when row r = x*n + y covers all n×n pairs (needed by 2-D Fourier analysis)."""
        return len(self) == self.cfg.n_symbols**2

    @property
    def train_tokens(self) -> torch.Tensor:
        return self.tokens[self.split.train]

    @property
    def train_labels(self) -> torch.Tensor:
        return self.labels[self.split.train]

    @property
    def test_tokens(self) -> torch.Tensor:
        return self.tokens[self.split.test]

    @property
    def test_labels(self) -> torch.Tensor:
        return self.labels[self.split.test]

    def is_train_mask(self) -> torch.Tensor:
        """Boolean mask over grid rows: True where the row is in the training set."""
        mask = torch.zeros(len(self), dtype=torch.bool)
        mask[self.split.train] = True
        return mask


def check_split_sizes(n_rows: int, frac_train: float) -> None:
    """Both the train and the test split of ``n_rows`` rows must hold at least one row."""
    n_train = int(frac_train * n_rows)
    if n_train < 1 or n_train >= n_rows:
        raise ConfigError(
            f"task.frac_train: {frac_train} leaves {n_train} of {n_rows} rows for training; "
            "both train and test need at least one row"
        )


def make_split(n_rows: int, frac_train: float, seed: int, method: str = "randperm") -> Split:
    """Shuffle the rows and take the first ``⌊frac·N⌋`` for training (3830 / 8939 at p = 113, frac 0.3).

    The split is *nested* in ``frac``: for one ``seed`` and ``method`` the permutation is fixed, so
    the training rows at a smaller fraction are a prefix of those at a larger one. A run whose data
    changes (``grokkit resume RUN --set task.frac_train=F``, ``grokkit.extend``) therefore trains on
    a subset of its own training rows when F is smaller, and on a superset drawn from its test rows,
    in the permutation's order, when F is larger.

    ``randperm``: ``torch.randperm(N)`` from a generator seeded with ``seed`` (the demo's
    ``torch.manual_seed(598)``, CPU). ``paper``: ``random.seed(seed); random.shuffle(rows)`` on the
    rows in x-major order, as the paper's ``gen_train_test`` shuffles its (x, y) pairs (a shuffle
    depends only on the RNG and the length, so shuffling row numbers gives the same order).
    """
    if method == "paper":
        rows = list(range(n_rows))
        random.Random(seed).shuffle(rows)
        perm = torch.tensor(rows, dtype=torch.int64)
    else:
        perm = torch.randperm(n_rows, generator=torch.Generator().manual_seed(seed))
    n_train = int(frac_train * n_rows)
    if n_train < 1 or n_train >= n_rows:
        raise ConfigError(
            f"task.frac_train: {frac_train} leaves {n_train} of {n_rows} rows for training; "
            "both train and test need at least one row"
        )
    return Split(train=perm[:n_train].sort().values, test=perm[n_train:].sort().values)


def classes_without_train_rows(cfg: TaskConfig) -> list[int]:
    """The labels (output classes) that no training row of ``cfg``'s split carries, ascending."""
    ds = AlgorithmicDataset(cfg)
    seen = torch.zeros(cfg.d_vocab_out, dtype=torch.bool)
    seen[ds.train_labels] = True
    present = torch.zeros(cfg.d_vocab_out, dtype=torch.bool)
    present[ds.labels] = True  # a class no row of the grid has (none for the current ops) is not missing
    return (present & ~seen).nonzero().squeeze(1).tolist()
