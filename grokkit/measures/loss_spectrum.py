"""The spectral signature of the training-loss curve so far (Notsawo et al. 2023): an early warning, no test data.

Notsawo, Zhou, Pezeshki, Rish & Dumas ("Predicting grokking long before it happens: a look into
the loss landscape of models which grok", 2023) observe that runs which later grok show
oscillations in their training loss during the first epochs (spikes as the optimiser slings
out of sharp regions), and detect them with the Fourier transform of the early learning curve:
the amplitude of its low-frequency components is large for runs that grok, small for those
that do not. What is implemented here (from the paper's abstract and summary; grokkit's own
choices are marked)::

    ℓ_j = training loss at n evenly spaced steps from 0 to the checkpoint's step
          (grokkit: the metrics rows, linearly interpolated onto n = their count points, so a
          log-spaced evaluation schedule reads the same curve)
    F_k = Σ_j (ℓ_j − mean ℓ) e^{−2πi jk/n}           (the DFT, its constant term removed)
    loss_spectrum_low = Σ_{k=1}^{K} |F_k| / n,   K = ⌈n / 10⌉   (grokkit: the lowest tenth of the frequencies)
    loss_hjorth_activity = Σ_{k=1}^{n−1} |F_k|² / n² = Var(ℓ)   (Hjorth activity, by Parseval)

Each checkpoint's row holds the signature of the curve up to that step, so the early rows are the
early warning; compare them between runs of one setting (a threshold is the paper's, per setting).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch

from grokkit.measures.base import Context, Measure

MIN_POINTS = 4  # fewer logged losses than this: no spectrum (None)


class LossSpectrum(NamedTuple):
    loss_spectrum_low: float | None  # Σ of the lowest tenth of |F_k| / n of the loss so far (None: too few rows)
    loss_hjorth_activity: float | None  # its variance


def spectrum(steps: list[int], losses: list[float]) -> LossSpectrum:
    """The signature of the curve ``losses`` logged at ``steps`` (ascending), see the module docstring."""
    if len(steps) < MIN_POINTS or steps[-1] <= steps[0]:
        return LossSpectrum(None, None)
    x = torch.tensor(steps, dtype=torch.float64)
    y = torch.tensor(losses, dtype=torch.float64)
    n = len(steps)
    grid = torch.linspace(float(x[0]), float(x[-1]), n, dtype=torch.float64)
    right = torch.searchsorted(x, grid).clamp(1, n - 1)  # each grid point between x[right-1] and x[right]
    w = (grid - x[right - 1]) / (x[right] - x[right - 1])
    curve = y[right - 1] + w * (y[right] - y[right - 1])
    amp = torch.fft.fft(curve - curve.mean()).abs()
    k = math.ceil(n / 10)
    return LossSpectrum(float(amp[1:k + 1].sum() / n), float(amp[1:].square().sum() / n**2))


def loss_spectrum(ctx: Context) -> LossSpectrum:
    """Low-frequency amplitude and Hjorth activity of the training loss up to this step (Notsawo et al.)."""
    rows = [row for row in ctx.run.metrics() if row["step"] <= ctx.step and row.get("train_loss") is not None]
    return spectrum([row["step"] for row in rows], [row["train_loss"] for row in rows])


LOSS_SPECTRUM = Measure("loss_spectrum", loss_spectrum, LossSpectrum)
