"""What a measure is, and the per-checkpoint context every measure reads.

A measure is a function ``fn(ctx) -> NamedTuple``; the tuple's field names are the
keys it adds to a row of ``measures.jsonl``. ``RunContext`` holds everything that is
fixed across checkpoints (the input grid on the device, the Fourier basis, the key
frequencies); ``Context`` is one checkpoint: its weights and, computed once on first
use and shared by every measure, its last-position activations.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, NamedTuple

import torch
from torch import Tensor

from grokkit.analysis.fourier import (
    FOURIER_OPS,
    FourierBasis,
    check_key_freqs,
    fourier_basis,
    fourier_sign,
    grid_directions,
    key_freqs_from_embedding,
    key_freqs_from_neurons,
)
from grokkit.data.dataset import AlgorithmicDataset
from grokkit.errors import GrokkitError
from grokkit.measures.activations import LastPosition, from_weights
from grokkit.model.fast import Weights

class MeasureError(GrokkitError):
    """An unknown measure name, or a measure that cannot run in this setting."""


@dataclass(frozen=True)
class Measure:
    """A named progress measure (see the module docstring)."""

    name: str
    fn: Callable[["Context"], NamedTuple]
    result: type  # the NamedTuple fn returns; its fields are the row keys
    fourier: bool = False  # needs the add/sub Fourier story (key frequencies, a±b directions)
    needs_final: bool = False  # reads the final checkpoint (offline only)

    @property
    def keys(self) -> tuple[str, ...]:
        return self.result._fields

    @property
    def summary(self) -> str:
        return (self.fn.__doc__ or "").strip().splitlines()[0]


@dataclass
class RunContext:
    """What every checkpoint of a run shares, on the device the measures run on."""

    dataset: AlgorithmicDataset
    device: torch.device
    key_freqs: list[int] | None = None  # None with source "per_checkpoint": detect at each checkpoint
    key_freqs_source: str = "final"  # final | per_checkpoint | user, recorded in every row
    key_freq_rule: str = "neurons"
    gini_over: str = "freqs"
    final_W_E: Tensor | None = None  # [d_vocab, d_model], for measures that compare with the end of training
    tokens: Tensor = field(init=False)  # [N, 3]
    labels: Tensor = field(init=False)  # [N]
    train: Tensor = field(init=False)  # [n_train] row indices
    test: Tensor = field(init=False)

    def __post_init__(self) -> None:
        ds = self.dataset
        self.tokens, self.labels = ds.tokens.to(self.device), ds.labels.to(self.device)
        self.train, self.test = ds.split.train.to(self.device), ds.split.test.to(self.device)
        self._memo: dict[Any, Any] = {}
        if self.key_freqs is not None:
            self.key_freqs = check_key_freqs(self.p, self.key_freqs)

    @property
    def task(self):
        return self.dataset.cfg

    @property
    def p(self) -> int:
        return self.task.n_symbols

    @property
    def fourier(self) -> bool:
        return self.task.op in FOURIER_OPS

    @property
    def basis(self) -> FourierBasis:
        fourier_sign(self.task)
        if not hasattr(self, "_basis"):
            self._basis = fourier_basis(self.p, device=self.device)
        return self._basis

    def memo(self, key: Any, compute: Callable[[], Any]) -> Any:
        """``compute()`` once per run (for values every checkpoint shares), then from the cache."""
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]

    def directions(self, key_freqs: list[int]) -> Tensor:
        """The (a ± b) unit vectors of ``key_freqs``, ``[p*p, 2|K|]`` float64, cached per set."""
        key = tuple(key_freqs)
        return self.memo(("directions", key),
                         lambda: grid_directions(self.p, key, fourier_sign(self.task), device=self.device))


class Context:
    """One checkpoint as the measures see it."""

    def __init__(self, run: RunContext, step: int, weights: Weights,
                 activations: Callable[[], LastPosition] | None = None):
        self.run = run
        self.step = step
        self.weights = weights
        self._produce = activations or (lambda: from_weights(weights, run.tokens))
        self._act: LastPosition | None = None
        self._logits: Tensor | None = None
        self._key_freqs: list[int] | None = None
        self._coeffs: Tensor | None = None

    @property
    def act(self) -> LastPosition:
        """Last-position activations over the whole grid, computed once."""
        if self._act is None:
            self._act = self._produce()
        return self._act

    @property
    def logits(self) -> Tensor:
        """``[N, d_vocab_out]`` in float64: the losses are taken in float64."""
        if self._logits is None:
            self._logits = self.act.logits.double()
        return self._logits

    @property
    def key_freqs(self) -> list[int]:
        """The run's key frequencies, or this checkpoint's own when detecting per checkpoint."""
        if self.run.key_freqs is not None:
            return self.run.key_freqs
        if self._key_freqs is None:
            self._key_freqs = detect_key_freqs(self, self.run.key_freq_rule)
        return self._key_freqs

    @property
    def directions(self) -> Tensor:
        """``[p*p, 2|K|]``: the unit vectors c_k, s_k of the key frequencies."""
        return self.run.directions(self.key_freqs)

    @property
    def key_coeffs(self) -> Tensor:
        """Dᵀ L, ``[2|K|, p]``: the logits' coordinates along the key directions (Σ P_k(L) = D·Dᵀ L)."""
        if self._coeffs is None:
            self._coeffs = self.directions.T @ self.logits
        return self._coeffs


def detect_key_freqs(ctx: Context, rule: str) -> list[int]:
    """Key frequencies of one checkpoint by ``rule`` (neurons / embedding, see grokking.md §3)."""
    if rule == "embedding":
        return key_freqs_from_embedding(ctx.run.basis, ctx.weights.W_E.detach())
    return key_freqs_from_neurons(ctx.run.basis, ctx.act.post.float())


def compute_row(ctx: Context, measures: list[Measure]) -> dict[str, Any]:
    """One row of measures.jsonl: ``step``, each measure's keys, and the key frequencies used."""
    row: dict[str, Any] = {"step": ctx.step}
    with torch.no_grad():
        for measure in measures:
            row.update(measure.fn(ctx)._asdict())
    if any(m.fourier for m in measures):
        row["key_freqs"] = list(ctx.key_freqs)
        row["key_freqs_source"] = ctx.run.key_freqs_source
    return row
