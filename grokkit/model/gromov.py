"""Gromov's analytic solution of modular addition (Gromov 2023, "Grokking modular arithmetic").

A two-layer network on the one-hot pair (a, b) with the square activation solves
(a + b) mod p with no training when each hidden neuron n carries one frequency σ_n and
phases φ_n^a, φ_n^b::

    W_E_a[k, n] = cos(2π σ_n k / p + φ_n^a)        (the first layer's a half)
    W_E_b[k, n] = cos(2π σ_n k / p + φ_n^b)        (its b half)
    W_U[q, n]   = (2/N) cos(2π σ_n q / p + φ_n^a + φ_n^b)

(cos θ_a + cos θ_b)² holds 2 cos θ_a cos θ_b = cos(θ_a + θ_b) + cos(θ_a − θ_b); against the
output weights the first term gives ½ cos(2π σ_n (a + b − q)/p), which summed over the
frequencies peaks at q = a + b; every other term carries a phase that cancels over the
neurons: on average with random phases (Gromov's construction, exact as N grows), exactly
with ``phases = "grid"`` (per frequency, every (φ^a, φ^b) on a 4 × 4 grid of multiples of
π/2, which cancels every sum Σ e^{i(mφ^a + nφ^b)} the other terms carry). The 2/N puts the
correct logit near 1, as the MSE on one-hot targets wants.

It is an MLP of grokkit's own kind (``combine = "direct"``, ``act_fn = "square"``, no biases),
so it can be hooked, measured (``grokkit.measures.gromov`` measures how far any MLP is
from this form) or written as a run's initial weights.
"""

from __future__ import annotations

import math
from typing import NamedTuple, Sequence

import torch
from torch import Tensor

from grokkit.errors import ConfigError

PHASES = ("random", "grid")


class Assignment(NamedTuple):
    """Each neuron's frequency and input phases."""

    freqs: Tensor  # [N] int, in 1 … (p−1)/2
    phi_a: Tensor  # [N] float64
    phi_b: Tensor  # [N]


def assignment(p: int, d_mlp: int, freqs: Sequence[int] | None = None, phases: str = "random",
               seed: int = 0) -> Assignment:
    """Frequencies (default: 1 … (p−1)/2 in turn, neuron n gets n mod ((p−1)/2) + 1) and phases
    (``random``: uniform on [0, 2π) from ``seed``; ``grid``: see the module docstring)."""
    half = (p - 1) // 2
    if phases not in PHASES:
        raise ConfigError(f"phases: must be one of {', '.join(PHASES)}, got {phases!r}")
    if freqs is None:
        f = torch.arange(d_mlp) % half + 1
    else:
        f = torch.as_tensor(list(freqs), dtype=torch.long)
        if f.shape != (d_mlp,) or bool(((f < 1) | (f > half)).any()):
            raise ConfigError(f"freqs: need {d_mlp} frequencies in 1 … {half}")
    if phases == "random":
        g = torch.Generator().manual_seed(seed)
        phi = torch.rand(2, d_mlp, generator=g, dtype=torch.float64) * 2 * math.pi
        return Assignment(f, phi[0], phi[1])
    phi_a, phi_b = torch.empty(d_mlp, dtype=torch.float64), torch.empty(d_mlp, dtype=torch.float64)
    for k in f.unique().tolist():  # the j-th neuron of frequency k takes grid point j mod 16
        idx = (f == k).nonzero().squeeze(1)
        if len(idx) % 16:
            raise ConfigError(f"phases = grid: every frequency needs a multiple of 16 neurons; {k} has {len(idx)}")
        j = torch.arange(len(idx)) % 16
        phi_a[idx], phi_b[idx] = (j // 4).double() * math.pi / 2, (j % 4).double() * math.pi / 2
    return Assignment(f, phi_a, phi_b)


def analytic_state(p: int, a: Assignment) -> dict[str, Tensor]:
    """The state dict (``grokkit.model.mlp`` names) of Gromov's solution for assignment ``a``."""
    k = torch.arange(p, dtype=torch.float64).unsqueeze(1)  # [p, 1]
    omega = 2 * math.pi * a.freqs.double().unsqueeze(0) / p  # [1, N]
    n = len(a.freqs)
    state = {
        "embed_a.weight": torch.cos(omega * k + a.phi_a),  # [p, N]
        "embed_b.weight": torch.cos(omega * k + a.phi_b),
        "hidden.bias": torch.zeros(n, dtype=torch.float64),
        "unembed.weight": (2 / n) * torch.cos(omega * k + a.phi_a + a.phi_b),  # [p (q), N]
        "unembed.bias": torch.zeros(p, dtype=torch.float64),
    }
    return {name: t.float() for name, t in state.items()}


def gromov_solution(p: int, d_mlp: int, freqs: Sequence[int] | None = None, phases: str = "random",
                    seed: int = 0):
    """A ``HookedMLP`` holding Gromov's analytic weights for (a + b) mod p (see the module docstring).

    ``freqs``: each neuron's frequency (default: every frequency in turn); ``phases``: random
    (seeded) or grid (exact cancellation; needs 16 neurons per frequency).
    """
    from grokkit.data.dataset import TaskConfig
    from grokkit.model.config import ModelConfig
    from grokkit.model.mlp import build_mlp

    task = TaskConfig(op="add", p=p, frac_train=0.5)
    cfg = ModelConfig(kind="mlp", d_mlp=d_mlp, combine="direct", act_fn="square", mlp_init="gromov")
    model = build_mlp(cfg, task)
    state = analytic_state(p, assignment(p, d_mlp, freqs, phases, seed))
    with torch.no_grad():
        for name, param in model.named_parameters():
            param.copy_(state[name])
    return model
