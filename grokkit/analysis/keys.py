"""The key components of a model (Nanda et al. 2023), in its task's group: the rules that pick them, and
the share of the logit table they explain.

Every rule goes through ``select_keys``, the one place a rule name is dispatched; the
measures (``grokkit.measures.base.detect_keys``) and the TransformerLens entry point
(``key_set`` / ``key_frequencies``) both call it. Over Z_p (add, sub) a component is a
frequency; over Z_p* (mul, div) a frequency over discrete logarithms; over S5 an irrep
(components 1 … 6, ``grokkit.analysis.groups.s5``).

Whatever the rule, the keys are scored the same way: ``explained`` is the share of the
centred logit table's squared norm that lies along their key directions
(``component_logit_shares``). Restricted loss keeps exactly that part of the logits, so a
set that explains ≈ 1 of the table has a restricted loss ≈ the model's own loss, and a set
that explains little cannot predict anything.
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

import torch
from torch import Tensor

from grokkit.analysis.fourier import FourierBasis, FourierNotApplicable, key_freqs_from_embedding, key_freqs_from_neurons
from grokkit.analysis.groups import group_for
from grokkit.analysis.groups.base import component_logit_shares, group_grid
from grokkit.analysis.groups.base import kept_logits, label_sums
from grokkit.data.dataset import AlgorithmicDataset
from grokkit.model.loss import loss_and_acc

KEY_RULES = ("logits", "neurons", "embedding")
"""The key-component rules by name, the default first (see ``select_keys`` for each formula)."""
DEFAULT_RULE = "logits"
EXPLAIN = 0.95
"""The ``logits`` rule keeps components until they explain at least this share of the centred logit table.

Not 0.9: a share is not a margin. On add, p = 31 (``tests/fixtures/keys``) the largest frequency
alone explains 0.908 of the table and its restricted loss is 0.80 (test loss 1e-6): one circle
cannot tell neighbouring answers apart, and the second frequency's 0.079 is what does. After
cleanup the components outside the circuit hold ~0.001 each, so 0.95 adds none of them. (The
rule's loss check, ``carrying_keys``, catches what a share misses either way.)"""
MIN_SHARE = 0.01
"""… and its share stage never keeps a component holding less than this share (only the loss check
may add one, when the keys need it): noise at the scale of the logits (mul,
p = 59: k = 2, 14, 1 hold 0.744, 0.162, 0.041 and the next ones 0.002; they are left out). The shares
of all components sum to less than 1 (the rest of the table is no function of the answer: what is
still memorised, noise), so the target may be out of reach: div, p = 31 (``tests/fixtures/keys``) has
0.942 in all, and its keys 14, 13, 8 explain 0.927 with restricted loss 8e-4 (test loss 0.014)."""


class KeySet(NamedTuple):
    """Key components and how much of the logit table they carry."""

    keys: list[int]  # components k in 1 … n_freqs, ascending
    rule: str  # the rule that chose them ("user" when given)
    explained: float  # Σ_{k∈keys} share_k: their share of the centred logit table's squared norm


def explained_share(shares: Tensor, keys: list[int]) -> float:
    """Σ_{k ∈ keys} ``shares[k − 1]``: the components' directions are orthogonal, so shares add."""
    return float(shares[[k - 1 for k in keys]].sum()) if keys else 0.0


def keys_by_share(shares: Tensor, explain: float = EXPLAIN, min_share: float = MIN_SHARE) -> list[int]:
    """The fewest components, largest share first, whose shares sum to at least ``explain``, leaving out
    those below ``min_share`` (so the sum may stay short of ``explain``); ascending."""
    order = torch.argsort(shares, descending=True, stable=True).tolist()
    total, kept = 0.0, []
    for i in order:
        if total >= explain or not shares[i] >= min_share or not shares[i] > 0:
            break
        kept.append(i + 1)
        total += float(shares[i])
    return sorted(kept)


def restricted_logits(L: Tensor, kept: Tensor) -> Tensor:
    """L_r = kept + mean_inputs(L − kept): the logits ``L`` ``[n*n, classes]`` kept along the key directions
    (``kept`` = Σ_k P_k(L)), with each class's mean over inputs restored (the constant term)."""
    return kept + (L - kept).mean(dim=0, keepdim=True)


class Carrying(NamedTuple):
    """Components that carry the logits: the set, its restricted loss."""

    keys: list[int]  # ascending
    restricted_loss: float  # cross-entropy of restricted_logits over every row of the grid


def carrying_keys(basis: FourierBasis, labels: Tensor, grid_logits: Tensor, targets: Tensor, target: float,
                  start: list[int] = (), shares: Tensor | None = None) -> Carrying:
    """``start``, then the other components largest logit share first, until the restricted loss ≤ ``target``.

    ``targets`` ``[n*n]`` are the grid rows' answers as output classes (the labels the losses score);
    every component when no smaller set reaches ``target``.
    """
    L = grid_logits.double()
    shares = component_logit_shares(basis, labels, L) if shares is None else shares
    rest = [int(i) + 1 for i in torch.argsort(shares, descending=True, stable=True) if int(i) + 1 not in start]
    order = list(start) + rest
    C = label_sums(basis, labels, L)  # [n, classes]: the coordinates along every direction, once
    n = len(start)
    while True:
        kept = kept_logits(basis, labels, C, order[:n])  # [n*n, classes], without the [n*n, m] directions
        loss = loss_and_acc(restricted_logits(L, kept), targets)[0].item()
        if loss <= target or n == len(order):
            return Carrying(sorted(order[:n]), loss)
        n += 1


def select_keys(
    rule: str,
    basis: FourierBasis,
    labels: Tensor,
    grid_logits: Tensor,
    *,
    targets: Tensor | None = None,
    acts: Callable[[], Tensor] | None = None,
    W_E: Callable[[], Tensor] | None = None,
    explain: float = EXPLAIN,
) -> KeySet:
    """The key components of one checkpoint by ``rule``, with the share of the logit table they explain.

    ``grid_logits`` ``[n*n, classes]`` and ``labels`` ``[n*n]`` are the group grid's logits and label
    elements, ``targets`` ``[n*n]`` the rows' answers as output classes (the logits rule's loss check);
    ``acts()`` gives the post-ReLU activations at '=' over the grid ``[n*n, d_mlp]`` (rule
    ``neurons``), ``W_E()`` the embedding of the group's symbols ``[n, d_model]`` (rule ``embedding``);
    both are only called by the rule that needs them. ``share_k`` = ‖D_kᵀ (L − mean_inputs L)‖² /
    ‖L − mean_inputs L‖², with D_k the key directions of component k (``component_logit_shares``).

    - ``logits`` (default): sort the components by share_k and keep the largest until Σ share_k ≥
      ``explain`` (``EXPLAIN``, 0.95), leaving out those with share_k < ``MIN_SHARE`` (0.01); then,
      with ``targets``, go on adding components in the same order while the restricted loss of the
      set (over the whole grid) is above the model's own loss there (``carrying_keys``), because a
      share is not a margin: on the quickstart (add, p = 59) k = 15 and 21 explain 0.981 of the
      table but give restricted loss 2e-3 against test loss 4e-5; k = 19, with 0.009 of the table,
      brings it to 6e-8. It reads what restricted loss reads, so it finds a component whatever the
      neurons that write it look like: no clustering threshold, so neurons that split their mass
      between k and the harmonic 2k still count wherever their output lands. Fails: when the logit
      table is not yet structured (early checkpoints, a run that never generalises) the shares are
      spread thin and the set is large, each component carrying noise or the memorised part; on a
      model whose restricted loss never reaches its own loss the loss check takes every component.
    - ``neurons`` (the paper's standard rule): cluster the neurons, a neuron's component is the k
      whose {const, k}² block holds the largest share of its centred 2-D transform, explained when
      that share exceeds 0.85; K = the components owning an explained neuron. Fails: neurons whose
      mass is split between k and its harmonic 2k never pass 0.85, so k is lost (mul, p = 59: the
      k = 14 neurons peak at 0.71), and a few explained neurons of a minor k add a component that
      carries ~nothing of the logits.
    - ``embedding``: K = the components whose W_E norm √(Σ rows²) exceeds max/4. Fails: W_E carries
      components that the MLP never turns into logits (and early on, noise), and a component that
      is large in the logits but small in W_E is missed.
    """
    if rule not in KEY_RULES:
        raise FourierNotApplicable(f"key-component rule {rule!r}: must be one of {', '.join(KEY_RULES)}")
    shares = component_logit_shares(basis, labels, grid_logits)
    if rule == "logits":
        keys = keys_by_share(shares, explain)
        if targets is not None:
            own = loss_and_acc(grid_logits.double(), targets)[0].item()
            keys = carrying_keys(basis, labels, grid_logits, targets, own, start=keys, shares=shares).keys
    elif rule == "neurons":
        keys = key_freqs_from_neurons(basis, acts().double())
    else:
        keys = key_freqs_from_embedding(basis, W_E().double())
    return KeySet(keys, rule, explained_share(shares, keys))


def key_set(model: Any, dataset: AlgorithmicDataset, rule: str = DEFAULT_RULE, explain: float = EXPLAIN) -> KeySet:
    """The key components of a TransformerLens ``model`` on ``dataset``'s task by ``rule`` (``select_keys``).

    Raises FourierNotApplicable for ops without a group circuit.
    """
    group = group_for(dataset.cfg).to(model.W_E.device)
    group.require_circuit("key frequencies")
    from grokkit.model.run_weights import neuron_hook

    hook = neuron_hook(model)  # blocks.0.mlp.hook_post, or an MLP's hook_post
    with torch.no_grad():
        logits, cache = model.run_with_cache(dataset.tokens.to(model.W_E.device),
                                             names_filter=lambda name: name == hook)
    grid = group_grid(group, dataset)
    rows = grid.rows.to(model.W_E.device)
    return select_keys(rule, group.basis, grid.labels.to(rows.device), logits[rows, -1, : dataset.cfg.n_symbols],
                       targets=dataset.labels.to(rows.device)[rows], acts=lambda: cache[hook][rows, -1], W_E=lambda: model.W_E.detach()[group.symbols],
                       explain=explain)


def key_frequencies(model: Any, dataset: AlgorithmicDataset, rule: str = DEFAULT_RULE) -> list[int]:
    """The key frequencies (components) of ``model`` on ``dataset``'s task by ``rule``: ``key_set(...).keys``."""
    return key_set(model, dataset, rule).keys
