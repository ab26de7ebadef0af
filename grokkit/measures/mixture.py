"""Measures of a task mixture (``task.op = "mixture"``, ``grokkit.data.mixture``).

Each task is measured in its own group: task k's rows of the mixture grid form an ordinary
single-task dataset (``AlgorithmicDataset.task_view(k)``: its op and p, its split, its labels
with their offset), and every measure that applies to its op runs on it as on a run of that
task alone, reading the mixture model's activations on those rows. Its columns are prefixed
``task{k}_`` (``task0_excluded_loss``, ``task0_key_freqs`` …); key components are detected
per task at the final checkpoint by the run's rule. Task k's logits are scored on its own
``p_k`` classes (as a single task's measures score ``p`` classes), and its attention pattern over
``[a, b, =]`` (the task token's column left out) as a single task's. ``weight_norm`` reads no
task: it is computed once, unprefixed.

Two measures belong to the mixture itself:

- ``neuron_tasks``: a neuron belongs to task k when the larger part (> 1/2) of its activation
  variance over the mixture lies on task k's inputs,
  ``share_k(n) = S_k / Σ_j S_j``, ``S_k = mean_{r ∈ task k} (a_r(n) − m(n))²``, ``m(n)`` the mean of
  the per-task means (each task weighs the same, whatever its grid size); ``neurons_shared``
  counts the live neurons no task owns, ``neurons_dead`` those constant over the mixture.
  A neuron of task k then belongs to the component of task k's group holding the largest
  share of its centred activation over task k's grid (the neuron clustering of
  ``grokkit.analysis.fourier``): ``task{k}_neurons`` counts them, ``task{k}_neuron_components``
  per component, ``task{k}_key_neurons`` those on task k's key components.
- ``grad_interference``: ``g_k`` = the gradient of task k's training loss (mean softmax
  cross-entropy over its training rows) with respect to the shared weights (every trained
  tensor; the task tokens' rows of W_E, which only their own task reaches, left out);
  ``grad_cos = {"i-j": cos(g_i, g_j)}`` for every pair, ``grad_cos_mean`` their mean and
  ``grad_norm = {"k": ‖g_k‖}``. A negative cosine means that a step for task i undoes task j.
"""

from __future__ import annotations

import itertools
from typing import Any, Callable, NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor

from grokkit.analysis.fourier import FourierNotApplicable, neuron_freq_clusters
from grokkit.measures.base import Context, Measure, MeasureError, RunContext, compute_row, detect_keys
from grokkit.measures.milestones import task_column, task_rows
from grokkit.model.run_weights import LastPosition, Weights, last_position

SHARED = ("weight_norm",)
"""Measures that read no task: once per checkpoint, without a prefix."""
NOT_IN_MIXTURE = ("gradient_symmetricity", "distance_irrelevance")
"""Measures that build their own [a, b, =] inputs: not defined on ``[task, a, b, =]``."""
OWN = ("neuron_tasks", "grad_interference")
"""The mixture's own measures (module docstring)."""
OWNER_SHARE = 0.5


def mixture_keys(task: Any) -> set[str]:
    """Every column a full measure of a mixture run writes in each row (``grokkit run`` checks for them)."""
    from grokkit.measures.registry import resolve

    keys = {"neurons_shared", "neurons_dead", "grad_cos", "grad_cos_mean", "grad_norm"}
    for k in range(len(task.mixture)):
        for m in resolve(None, task.task_config(k).op):
            if m.name in SHARED:
                keys |= set(m.keys)
            elif m.name not in NOT_IN_MIXTURE:
                keys |= {task_column(k, key) for key in m.keys}
    return keys


class NeuronTasks(NamedTuple):
    """Each neuron's task (−1: shared, −2: dead) and the share of its variance that task holds."""

    task: Tensor  # [d_mlp] int64
    share: Tensor  # [d_mlp] float64
    shares: Tensor  # [n_tasks, d_mlp] float64


def neuron_tasks(post: Tensor, task_of: Tensor, n_tasks: int) -> NeuronTasks:
    """``post`` ``[N, d_mlp]`` over the mixture grid, ``task_of`` ``[N]``: the owner of each neuron (module docstring)."""
    post = post.double()
    means = torch.stack([post[task_of == k].mean(0) for k in range(n_tasks)])  # [K, d_mlp]
    m = means.mean(0)  # each task weighs the same
    S = torch.stack([(post[task_of == k] - m).square().mean(0) for k in range(n_tasks)])  # [K, d_mlp]
    total = S.sum(0)
    shares = S / total.clamp_min(1e-300)
    best, arg = shares.max(0)
    owner = torch.where(best > OWNER_SHARE, arg, torch.full_like(arg, -1))
    owner = torch.where(total > 1e-24, owner, torch.full_like(arg, -2))
    return NeuronTasks(owner, best, shares)


def task_gradients(w: Weights, tokens: Tensor, labels: Tensor, train: list[Tensor], p: list[int],
                   shared_rows: Tensor) -> Tensor:
    """``[K, n_shared]``: each task's training-loss gradient over the shared weights, flattened (module docstring).

    ``shared_rows``: the rows of W_E that count as shared (the symbols and '=').
    """
    names = [n for n, v in w._asdict().items() if isinstance(v, Tensor) and v.requires_grad]
    tensors = [getattr(w, n) for n in names]
    out = []
    with torch.enable_grad():
        for rows, p_k in zip(train, p):
            logits = last_position(w, tokens[rows]).logits[:, :p_k]
            loss = F.cross_entropy(logits.double(), labels[rows])
            grads = torch.autograd.grad(loss, tensors)
            flat = [g[shared_rows] if n == "W_E" else g for n, g in zip(names, grads)]
            out.append(torch.cat([g.reshape(-1).double() for g in flat]))
    return torch.stack(out)


def interference(grads: Tensor) -> dict[str, Any]:
    """``grad_cos`` per pair "i-j", their mean, and each task's gradient norm, from ``[K, n]`` gradients."""
    unit = grads / grads.norm(dim=1, keepdim=True).clamp_min(1e-300)
    cos = {f"{i}-{j}": (unit[i] @ unit[j]).item() for i, j in itertools.combinations(range(len(grads)), 2)}
    return {"grad_cos": cos, "grad_cos_mean": sum(cos.values()) / len(cos),
            "grad_norm": {str(k): g.norm().item() for k, g in enumerate(grads)}}


class MixtureMeasures:
    """What the measures of one mixture run share across its checkpoints: each task's context and measures."""

    def __init__(self, dataset: Any, device: torch.device, names: list[str] | None, cfg: Any = None, *,
                 rule: str | None = None, explain: float | None = None, per_checkpoint: bool = False,
                 metrics: Callable[[], list[dict[str, Any]]] = lambda: []):
        from grokkit.measures.registry import MEASURES, resolve

        self.dataset, self.device = dataset, device
        task = dataset.cfg
        self.n_tasks = len(task.mixture)
        unknown = [n for n in names or () if n not in MEASURES and n not in OWN and n != "all"]
        if unknown:
            raise MeasureError(f"unknown measure(s) {', '.join(unknown)}; available: "
                               f"{', '.join([*MEASURES, *OWN])}")
        refused = [n for n in names or () if n in NOT_IN_MIXTURE]
        if refused:
            raise MeasureError(f"measure(s) {', '.join(refused)}: build their own [a, b, =] inputs, so they are not "
                               "defined on a mixture's [task, a, b, =]")
        every = names is None or "all" in names
        self.own = [n for n in OWN if every or n in names]
        plain = None if names is None else [n for n in names if n not in OWN] or None
        if plain is None and names is not None and not every:
            plain = []
        self.shared: list[Measure] = []
        self.per_task: list[list[Measure]] = []
        self.contexts: list[RunContext] = []
        for k in range(self.n_tasks):
            view = dataset.task_view(k)
            if plain == []:
                chosen = []
            elif plain is None or plain == ["all"]:
                chosen = [m for m in resolve(None, view.cfg.op) if m.name not in NOT_IN_MIXTURE]
            else:
                chosen = resolve(plain, view.cfg.op)
            self.shared = [m for m in chosen if m.name in SHARED] if k == 0 else self.shared
            self.per_task.append([m for m in chosen if m.name not in SHARED])
            self.contexts.append(RunContext.of(view, device, cfg, per_checkpoint=per_checkpoint, rule=rule,
                                               explain=explain, metrics=lambda k=k: task_rows(metrics(), k)))
        self.tokens = dataset.tokens.to(device)
        self.labels = dataset.labels.to(device)
        self.task_of = dataset.mixture.task_of.to(device)
        self.rows = [torch.arange(lo, hi, device=device)
                     for lo, hi in zip(dataset.mixture.starts[:-1], dataset.mixture.starts[1:])]
        self.train = [tr.to(device) for tr in dataset.mixture.train]
        self.p = [t.p for t in task.mixture]
        shared = [i for i in range(task.d_vocab) if i < task.p or i == task.eq_token]
        self.shared_rows = torch.tensor(shared, device=device)

    @property
    def needs_keys(self) -> bool:
        return any(m.needs == "circuit" for ms in self.per_task for m in ms) or "neuron_tasks" in self.own

    def _task_context(self, k: int, step: int, weights: Weights, full: LastPosition) -> Context:
        rows = self.rows[k]
        # the pattern over [a, b, =] as a single task's: the task token's position is left out
        act = LastPosition(full.logits[rows], full.post[rows], full.pattern[rows][:, :, 1:])
        return Context(self.contexts[k], step, weights, activations=lambda: act)

    def detect_keys(self, step: int, weights: Weights) -> None:
        """Each task's key components at this (the final) checkpoint, for every checkpoint's rows."""
        with torch.no_grad():
            full = last_position(weights, self.tokens)
            for k, ctx_run in enumerate(self.contexts):
                if not ctx_run.group.circuit:
                    continue
                ctx_run.key_freqs = detect_keys(self._task_context(k, step, weights, full), ctx_run.key_freq_rule,
                                                ctx_run.key_explain).keys
                ctx_run.final_W_E = weights.W_E.detach().clone()

    def row(self, step: int, weights: Weights) -> tuple[dict[str, Any], list[tuple[int, Context, dict]]]:
        """One measures row of checkpoint ``step``, and each task's context and unprefixed row (for the key check)."""
        with torch.no_grad():
            full = last_position(weights, self.tokens)
        row: dict[str, Any] = {"step": step}
        per_task = []
        for k, chosen in enumerate(self.per_task):
            ctx = self._task_context(k, step, weights, full)
            if k == 0 and self.shared:
                row.update({key: v for key, v in compute_row(ctx, self.shared).items() if key != "step"})
            if not chosen:
                continue
            if ctx.run.key_freqs is None and any(m.needs == "circuit" for m in chosen):
                ctx.run.key_freqs_source = "per_checkpoint"  # no final checkpoint was read: detect here
            task_row = compute_row(ctx, chosen)
            per_task.append((k, ctx, task_row))
            row.update({task_column(k, key): v for key, v in task_row.items() if key != "step"})
        if "neuron_tasks" in self.own:
            row.update(self._neurons(step, weights, full))
        if "grad_interference" in self.own:
            grads = task_gradients(weights, self.tokens, self.labels, self.train, self.p, self.shared_rows)
            row.update(interference(grads))
        return row, per_task

    def _neurons(self, step: int, weights: Weights, full: LastPosition) -> dict[str, Any]:
        owners = neuron_tasks(full.post, self.task_of, self.n_tasks)
        out: dict[str, Any] = {"neurons_shared": int((owners.task == -1).sum()),
                               "neurons_dead": int((owners.task == -2).sum())}
        for k, ctx_run in enumerate(self.contexts):
            mine = (owners.task == k).nonzero().squeeze(1)
            out[task_column(k, "neurons")] = len(mine)
            try:
                group, grid = ctx_run.group, ctx_run.grid
            except FourierNotApplicable:
                continue
            if len(mine) == 0:
                out[task_column(k, "neuron_components")], out[task_column(k, "key_neurons")] = {}, 0
                continue
            acts = full.post[self.rows[k]][grid.rows][:, mine].float()  # [n*n, mine] over task k's group grid
            comp = neuron_freq_clusters(group.basis, acts).freq.tolist()
            counts: dict[str, int] = {}
            for c in comp:
                name = group.component_name(c)
                counts[name] = counts.get(name, 0) + 1
            out[task_column(k, "neuron_components")] = counts
            keys = ctx_run.key_freqs or []
            out[task_column(k, "key_neurons")] = sum(1 for c in comp if c in keys)
        return out
