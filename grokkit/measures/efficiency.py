"""Circuit efficiency: the logit each circuit puts on the right answer, per unit of parameter norm.

Varma, Shah, Kenton, Kramár, Kumar 2023, "Explaining grokking through circuit efficiency": a
generalising circuit (C_gen) produces more logit per unit of parameter norm than a memorising one
(C_mem), whose efficiency falls as the training set grows; where the two are equal lies the critical
dataset size D_crit. They compare networks that only memorise or only generalise; a trained network
holds both, so here each circuit is read off its logits:

- C_gen's logits: the key-direction part of the logit table, ``L_gen = Σ_{k∈K} P_k(L)`` (what the
  restricted loss keeps, Nanda et al. 2023);
- C_mem's logits: the rest once each class's mean over the inputs is taken away,
  ``L_mem = L − mean_inputs(L) − L_gen`` (the excluded logits, centred).

A circuit's *logit* is its mean margin over the training rows: the correct class's logit above the
row's mean logit, ``m_c = mean_train (L_c[r, y_r] − mean_j L_c[r, j])`` (the logits sum to the full
table's margin: m_gen + m_mem = the network's mean margin). Its *efficiency* is ``m_c / ‖θ‖``, ‖θ‖
the Euclidean norm of every trained parameter. The norm is the whole network's, not apportioned
between the circuits: in a run where one circuit carries the logits (memorised below D_crit, grokked
above) the ratio is that circuit's efficiency in Varma et al.'s sense. ``efficiency`` is the whole
network's margin per unit norm, (m_gen + m_mem) / ‖θ‖, which needs no key directions: across a sweep
over ``task.frac_train`` (``grokkit.sweep.critical``) the memorised runs' values show how memorisation's
efficiency changes with dataset size, the grokked runs' values generalisation's. The split needs key
frequencies that mean something: on a memorising network the logits rule keeps most components (no
few of them carry its table), so its ``efficiency_gen`` is no generalising circuit.
"""

from __future__ import annotations

import math
from typing import NamedTuple

from grokkit.measures.base import Context, Measure
from grokkit.measures.weight_norm import weight_norm


class Efficiency(NamedTuple):
    efficiency: float  # (m_gen + m_mem) / ‖θ‖: the whole network's margin per unit norm
    efficiency_gen: float  # m_gen / ‖θ‖
    efficiency_mem: float  # m_mem / ‖θ‖
    margin_gen: float  # mean train margin of the key-direction logits
    margin_mem: float  # mean train margin of the residual logits
    param_norm: float  # ‖θ‖ (the square root of weight_norm)


def efficiency(ctx: Context) -> Efficiency:
    """Logit per unit parameter norm of the generalising (key directions) and memorising (residual)
    circuits (Varma et al. 2023): m_c / ‖θ‖ with m_c the mean train margin of circuit c's logits."""
    run, L = ctx.run, ctx.grid_logits  # [n*n, n_symbols] float64
    rows = run.grid.train  # positions of the train rows in the grid
    y = run.labels[run.grid.rows[rows]]  # [n_train]
    gen = (ctx.directions.D[rows] @ ctx.key_coeffs)  # [n_train, n_symbols]: Σ P_k(L) on the train rows
    mem = L[rows] - L.mean(0) - gen  # the residual, each class's mean over all inputs taken away

    def margin(logits):  # the correct class above the row's mean, averaged over the train rows
        return (logits.gather(1, y[:, None]).squeeze(1) - logits.mean(1)).mean().item()

    norm = math.sqrt(weight_norm(ctx).weight_norm)
    m_gen, m_mem = margin(gen), margin(mem)
    return Efficiency((m_gen + m_mem) / norm, m_gen / norm, m_mem / norm, m_gen, m_mem, norm)


EFFICIENCY = Measure("efficiency", efficiency, Efficiency, needs="circuit")
