"""Distance of an MLP from Gromov's analytic solution (``grokkit.analysis.gromov``, ``grokkit.model.gromov``).

Reads the neurons' effective input weights over the symbols (the first-layer tables: W_E_a
itself when the embeddings feed the neurons directly, W_E_a·W_in_aᵀ otherwise) and their
output weights (W_U's columns). Defined for the MLP kind on Z_p (add, sub).
"""

from __future__ import annotations

from typing import NamedTuple

import torch

from grokkit.analysis.gromov import neuron_forms
from grokkit.measures.base import Context, Measure


class GromovForm(NamedTuple):
    gromov_ipr_in: float  # mean over neurons of (IPR(u) + IPR(v)) / 2: 1 = one frequency per neuron
    gromov_ipr_out: float  # mean over neurons of IPR(w)
    gromov_phase_error: float  # Σ_n weight_n |wrap(ψ − φ^a ∓ φ^b)| in radians: 0 at Gromov's form
    gromov_same_freq: float  # share of neurons whose u, v and w peak at the same frequency
    gromov_freqs: dict[str, int]  # neurons per frequency σ_n


def gromov_form(ctx: Context) -> GromovForm:
    """IPR_r=2 of each neuron's Fourier spectrum (input a, b; output), the phase relation ψ = φ^a ± φ^b at
    its frequency (weighted by ‖u‖‖v‖‖w‖), the share of neurons with one frequency on all three sides."""
    from grokkit.model.mlp_forward import first_layer_tables

    run, w = ctx.run, ctx.weights
    symbols = run.group.symbols
    A, B = first_layer_tables(w.params)  # [1, n_symbols, d_mlp]
    U, V = A[0].detach()[symbols], B[0].detach()[symbols]
    Wout = w.W_U.detach()[symbols]  # [n, d_mlp]
    n = run.group.n
    i = torch.arange(n, device=run.device).repeat_interleave(n)
    j = torch.arange(n, device=run.device).repeat(n)
    sign = 1 if torch.equal(run.grid.labels, (i + j) % n) else -1
    f = neuron_forms(U, V, Wout, sign)
    peaks = [torch.fft.rfft(x.double(), dim=0).abs()[1:].argmax(0) + 1 for x in (U, V, Wout)]
    same = ((peaks[0] == peaks[1]) & (peaks[1] == peaks[2])).double().mean().item()
    counts = torch.bincount(f.freq, minlength=n // 2 + 1)
    return GromovForm(((f.ipr_a + f.ipr_b) / 2).mean().item(), f.ipr_out.mean().item(),
                      (f.weight * f.phase_error.abs()).sum().item(), same,
                      {str(k): int(c) for k, c in enumerate(counts.tolist()) if c})


GROMOV = Measure("gromov_form", gromov_form, GromovForm, needs="basis", kinds=("cyclic",), model_kinds=("mlp",),
                 why_not="reads the MLP's neuron weights over Z_p")
