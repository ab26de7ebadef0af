"""How close an MLP's neurons are to Gromov's analytic form, neuron by neuron (``grokkit.model.gromov``).

For neuron n with input weights over the symbols u = U[:, n] (operand a), v = V[:, n]
(operand b) and output weights w = W[:, n] (its column of the unembedding), all ``[p]``
over Z_p in the symbols' order, with the DFT û_k = Σ_x u_x e^{−2πikx/p} (``rfft``,
k = 0 … ⌊p/2⌋):

- **inverse participation ratio** (Doshi, Das, Kumar, Gromov et al., d-doshi/Grokking's
  ``calculate_ipr`` with r = 2): IPR(u) = Σ_k (|û_k| / ‖û‖)⁴. 1 for a single frequency, about
  1/(p/2) for weights spread over all of them;
- **frequency** σ_n: the k ≥ 1 with the largest |û_k|² + |v̂_k|² + |ŵ_k|²;
- **phases** at σ_n: a neuron cos(2πσx/p + φ) has û_σ = (p/2) e^{iφ}, so φ^a = arg û_σ,
  φ^b = arg v̂_σ, ψ = arg ŵ_σ;
- **phase relation**: Gromov's solution has ψ = φ^a + φ^b for a + b (ψ = φ^a − φ^b for a − b);
  the error is that difference wrapped to (−π, π].

The per-neuron arrays are returned whole; ``grokkit.measures.gromov`` summarises them.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
from torch import Tensor


class NeuronForms(NamedTuple):
    """Per-neuron Fourier form of an MLP's weights, ``[N]`` each."""

    freq: Tensor  # int: σ_n
    phi_a: Tensor  # radians
    phi_b: Tensor
    psi: Tensor
    phase_error: Tensor  # wrap(ψ − (φ^a ± φ^b)) in (−π, π]
    ipr_a: Tensor
    ipr_b: Tensor
    ipr_out: Tensor
    weight: Tensor  # ‖u‖·‖v‖·‖w‖ / Σ: each neuron's share of the scale of its quadratic output


def ipr(spectrum: Tensor, r: int = 2) -> Tensor:
    """Σ_k (|s_k| / ‖s‖)^{2r} along the first axis: ``[K, N]`` magnitudes → ``[N]``."""
    mag = spectrum.abs()
    return (mag / mag.norm(dim=0).clamp_min(1e-30)).pow(2 * r).sum(0)


def wrap(angle: Tensor) -> Tensor:
    """An angle wrapped to (−π, π]."""
    return torch.remainder(angle + math.pi, 2 * math.pi) - math.pi


def neuron_forms(U: Tensor, V: Tensor, W: Tensor, sign: int = 1) -> NeuronForms:
    """The Fourier form of each neuron: U, V ``[p, N]`` input weights of a and b, W ``[p, N]`` output weights
    (symbols in Z_p order); ``sign`` = +1 for a + b, −1 for a − b (the expected ψ = φ^a ± φ^b)."""
    fu, fv, fw = (torch.fft.rfft(x.double(), dim=0) for x in (U, V, W))  # [p//2 + 1, N] complex
    power = (fu.abs().square() + fv.abs().square() + fw.abs().square())[1:]  # k ≥ 1
    freq = power.argmax(0) + 1  # [N]
    at = freq.unsqueeze(0)
    phi_a, phi_b, psi = (f.gather(0, at).squeeze(0).angle() for f in (fu, fv, fw))
    scale = U.double().norm(dim=0) * V.double().norm(dim=0) * W.double().norm(dim=0)
    return NeuronForms(freq, phi_a, phi_b, psi, wrap(psi - phi_a - sign * phi_b), ipr(fu), ipr(fv), ipr(fw),
                       scale / scale.sum().clamp_min(1e-30))
