"""What a measure is, and the per-checkpoint context every measure reads.

A measure is a function ``fn(ctx) -> NamedTuple``; the tuple's field names are the
keys it adds to a row of the run's measures table. ``RunContext`` holds everything that is
fixed across checkpoints (the input grid on the device, the task's group with its
basis and grid, the key frequencies); ``Context`` is one checkpoint: its weights and,
computed once on first use and shared by every measure, its last-position activations.

The group (``grokkit.analysis.groups``) is picked from the task, so a measure written
against ``ctx.run.group`` / ``ctx.run.grid`` / ``ctx.directions`` works for add and sub
(Z_p), mul and div (Z_p* through the discrete log), the S5 ops (irreps) alike; a
"key frequency" is a component of that group's basis (a frequency, an irrep).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, NamedTuple

import torch
from torch import Tensor

from grokkit.analysis.fourier import FourierBasis
from grokkit.analysis.groups import group_for
from grokkit.analysis.groups.base import GroupGrid, KeyDirections, TaskGroup, group_grid, key_directions
from grokkit.analysis.keys import DEFAULT_RULE, EXPLAIN, KeySet, select_keys
from grokkit.data.dataset import AlgorithmicDataset
from grokkit.errors import GrokkitError
from grokkit.measures.activations import from_weights
from grokkit.model.run_weights import LastPosition
from grokkit.measures.sgld import SGLD
from grokkit.model.run_weights import Weights

NEEDS = ("", "basis", "circuit")
"""What a measure needs of the task's group: nothing; its basis (any op, the generic 2-D view
included); or a circuit (labels that are group elements: key directions, key frequencies)."""


class MeasureError(GrokkitError):
    """An unknown measure name, or a measure that cannot run in this setting."""


@dataclass(frozen=True)
class Measure:
    """A named progress measure (see the module docstring)."""

    name: str
    fn: Callable[["Context"], NamedTuple]
    result: type  # the NamedTuple fn returns; its fields are the row keys
    needs: str = ""  # what it needs of the task's group: "", "basis" or "circuit" (see NEEDS)
    needs_final: bool = False  # reads the final checkpoint (offline only)
    kinds: tuple[str, ...] = ()  # the only group kinds it is defined for (analysis.groups.GROUPS); () = any
    opt_in: bool = False  # costly: computed only when named, never by "all"
    model_kinds: tuple[str, ...] = ()  # the only model kinds (model.kind) it is defined for; () = any
    act_fns: tuple[str, ...] = ()  # the only activation functions (model.act_fn) it is defined for; () = any
    why_not: str = ""  # for a measure with model_kinds or act_fns: what the others lack, in a few words

    def applies_to(self, kind: str) -> bool:
        """Whether the measure is defined for an op whose declared group is ``kind``."""
        return (self.needs != "circuit" or kind != "generic") and (not self.kinds or kind in self.kinds)

    def reads(self, model_kind: str, act_fn: str | None = None) -> bool:
        """Whether the measure is defined for a model of ``model.kind`` ``model_kind`` and ``model.act_fn``
        ``act_fn`` (None: any activation)."""
        return ((not self.model_kinds or model_kind in self.model_kinds)
                and (act_fn is None or not self.act_fns or act_fn in self.act_fns))

    def __post_init__(self) -> None:
        if self.needs not in NEEDS:
            raise ValueError(f"Measure.needs: must be one of {NEEDS}, got {self.needs!r}")

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
    key_freq_rule: str = DEFAULT_RULE  # grokkit.analysis.keys.KEY_RULES
    key_explain: float = EXPLAIN  # the logits rule's target share of the logit table
    gini_over: str = "freqs"
    sgld: SGLD = SGLD()  # the local learning coefficient's sampler
    metrics: Callable[[], list[dict[str, Any]]] = field(default=lambda: [])  # the run's metrics rows, read on demand
    final_W_E: Tensor | None = None  # [d_vocab, d_model], for measures that compare with the end of training
    tokens: Tensor = field(init=False)  # [N, 3]
    labels: Tensor = field(init=False)  # [N]
    train: Tensor = field(init=False)  # [n_train] row indices
    test: Tensor = field(init=False)

    @classmethod
    def of(cls, dataset: AlgorithmicDataset, device: str | torch.device, cfg: Any = None, *,
           key_freqs: list[int] | None = None, per_checkpoint: bool = False, rule: str | None = None,
           explain: float | None = None, metrics: Callable[[], list[dict[str, Any]]] | None = None) -> "RunContext":
        """The one way the drivers make a run's context: the run's ``[measures]`` settings ``cfg``
        (``grokkit.measures.config.MeasuresConfig``; None: its defaults, which are this class's), a caller's
        ``rule`` and ``explain`` over the config's. Key source: "user" when ``key_freqs`` are given, else
        "per_checkpoint" (``per_checkpoint``: detected at each checkpoint) or "final" (the caller detects
        them once and sets ``key_freqs``)."""
        settings: dict[str, Any] = {} if cfg is None else dict(
            key_freq_rule=cfg.key_freq_rule, key_explain=cfg.key_explain, gini_over=cfg.gini_over, sgld=cfg.sgld)
        if rule:
            settings["key_freq_rule"] = rule
        if explain is not None:
            settings["key_explain"] = explain
        source = "user" if key_freqs is not None else "per_checkpoint" if per_checkpoint else "final"
        return cls(dataset, torch.device(device), key_freqs=key_freqs, key_freqs_source=source,
                   metrics=metrics or (lambda: []), **settings)

    def __post_init__(self) -> None:
        ds = self.dataset
        self.tokens, self.labels = ds.tokens.to(self.device), ds.labels.to(self.device)
        self.train, self.test = ds.split.train.to(self.device), ds.split.test.to(self.device)
        self._memo: dict[Any, Any] = {}
        if self.key_freqs is not None:
            self.key_freqs = self.group.check_keys(self.key_freqs)

    @property
    def task(self):
        return self.dataset.cfg

    @property
    def p(self) -> int:
        """Number of symbols (output classes the measures score): p, or 120 for S5."""
        return self.task.n_symbols

    @property
    def group(self) -> TaskGroup:
        """The task's group on the device (raises a one-line error when it cannot be built)."""
        return self.memo("group", lambda: group_for(self.task).to(self.device))

    @property
    def basis(self) -> FourierBasis:
        """The orthonormal basis over the group's elements, in the order of ``group.symbols``."""
        return self.group.basis

    @property
    def grid(self) -> GroupGrid:
        """The dataset rows whose operands are group elements (all p² rows for add and sub)."""
        return self.memo("grid", lambda: GroupGrid(*(t if t is None else t.to(self.device)
                                                     for t in group_grid(self.group, self.dataset))))

    def memo(self, key: Any, compute: Callable[[], Any]) -> Any:
        """``compute()`` once per run (for values every checkpoint shares), then from the cache."""
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]

    def directions(self, key_freqs: list[int]) -> KeyDirections:
        """Unit vectors over the grid carrying the key components, ``[n*n, m]`` float64, cached per set.

        Over Z_p with add: c_k, s_k ∝ cos, sin(ω_k(a ± b)) (Nanda et al. 2023); in general
        F[r, label(a, b)]/√n for the rows r of each key component (``analysis.groups.base``).
        """
        self.group.require_circuit("key directions")
        return self.memo(("directions", tuple(key_freqs)),
                         lambda: key_directions(self.basis, self.grid.labels, list(key_freqs)))


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
        self._grid_logits: Tensor | None = None
        self._keys: KeySet | None = None
        self._coeffs: Tensor | None = None

    @property
    def act(self) -> LastPosition:
        """Last-position activations over the whole grid, computed once."""
        if self._act is None:
            self._act = self._produce()
        return self._act

    @property
    def logits(self) -> Tensor:
        """``[N, n_symbols]`` in float64: the losses are taken in float64.

        Only the symbols' columns are kept: a model with an extra '=' output class (the paper's
        p + 1 classes) is scored on the classes a label can take, as in the paper's analysis.
        """
        if self._logits is None:
            self._logits = self.act.logits[:, : self.run.p].double()
        return self._logits

    @property
    def grid_logits(self) -> Tensor:
        """``[n*n, n_symbols]``: the logits of the group grid's rows (every output column kept)."""
        if self._grid_logits is None:
            self._grid_logits = self.logits[self.run.grid.rows]
        return self._grid_logits

    @property
    def key_freqs(self) -> list[int]:
        """The run's key frequencies, or this checkpoint's own when detecting per checkpoint."""
        if self.run.key_freqs is not None:
            return self.run.key_freqs
        if self._keys is None:
            self._keys = detect_keys(self, self.run.key_freq_rule, self.run.key_explain)
        return self._keys.keys

    @property
    def key_rule(self) -> str:
        """The rule that chose ``key_freqs``: the run's rule, or "user" when they were given."""
        return "user" if self.run.key_freqs_source == "user" else self.run.key_freq_rule

    @property
    def keys_explained(self) -> float:
        """‖Dᵀ L‖² / ‖L − mean_inputs L‖²: this checkpoint's logit table's share along the key directions.

        The key directions are orthogonal to the constant over the grid, so Dᵀ L = Dᵀ (L − mean).
        """
        centred = self.grid_logits - self.grid_logits.mean(0)
        return (self.key_coeffs.square().sum() / centred.square().sum().clamp_min(1e-30)).item()

    @property
    def directions(self) -> KeyDirections:
        """The unit vectors of the key components over the grid (``D [n*n, m]`` and each key's columns)."""
        return self.run.directions(self.key_freqs)

    @property
    def key_coeffs(self) -> Tensor:
        """Dᵀ L, ``[m, n_symbols]``: the grid logits' coordinates along the key directions (Σ P_k(L) = D·Dᵀ L)."""
        if self._coeffs is None:
            self._coeffs = self.directions.D.T @ self.grid_logits
        return self._coeffs


def detect_keys(ctx: Context, rule: str = DEFAULT_RULE, explain: float = EXPLAIN) -> KeySet:
    """Key components of one checkpoint by ``rule`` (``grokkit.analysis.keys.select_keys``), in the task's group."""
    run = ctx.run
    run.group.require_circuit("key frequencies")
    return select_keys(rule, run.basis, run.grid.labels, ctx.grid_logits, targets=run.labels[run.grid.rows],
                       explain=explain,
                       acts=lambda: ctx.act.post[run.grid.rows],
                       W_E=lambda: ctx.weights.W_E.detach()[run.group.symbols])


def compute_row(ctx: Context, measures: list[Measure]) -> dict[str, Any]:
    """One row of the measures table: ``step``, each measure's keys, the group and the key components used.

    With a circuit measure the row records ``key_freqs``, ``key_freqs_source`` (final / per_checkpoint /
    user), ``key_rule`` (the rule that chose them, or "user") and ``keys_explained`` (their share of
    this checkpoint's centred logit table).
    """
    row: dict[str, Any] = {"step": ctx.step}
    with torch.no_grad():
        for measure in measures:
            row.update(measure.fn(ctx)._asdict())
    if any(m.needs for m in measures):
        row["group"] = ctx.run.group.name
    if any(m.needs == "circuit" for m in measures):
        row["key_freqs"] = list(ctx.key_freqs)
        row["key_freqs_source"] = ctx.run.key_freqs_source
        row["key_rule"] = ctx.key_rule
        row["keys_explained"] = ctx.keys_explained
    return row
