"""The orthonormal real Fourier basis over Z_p and 1-D / 2-D transforms.

The transforms, norms, neuron clusters and key-frequency rules here take any
``FourierBasis``: the groups of ``grokkit.analysis.groups`` (Z_p*, S5, …) hand them their
own basis in the same form.

Row 0 is the constant ``1/√p``; for k = 1 … (p−1)/2, row ``2k−1`` is ``cos(2πk·x/p)``
and row ``2k`` is ``sin(2πk·x/p)``, each divided by its norm ``√(p/2)``. This is the
paper's order (cos first); every row is also named (``const``, ``cos 1``, ``sin 1``, …)
so code never relies on position alone. For even p the last row is the Nyquist
``cos(πx)`` and has no sine partner.
"""

from __future__ import annotations

import math
from typing import Any, Iterable, NamedTuple

import torch
from torch import Tensor

from grokkit.data.dataset import AlgorithmicDataset, TaskConfig
from grokkit.errors import GrokkitError


class FourierBasis(NamedTuple):
    """``F`` with ``F @ F.T = I``; ``names[i]`` and ``freqs[i]`` describe row i.

    The same type carries the basis of every group in ``grokkit.analysis.groups``: row 0
    is the constant, and ``freqs[i]`` is the component (the frequency k over Z_n, the
    irreducible representation over S5) that row i belongs to.
    """

    F: Tensor  # [p, p]
    names: list[str]
    freqs: list[int]  # frequency k (component) of each row (0 for const)

    @property
    def p(self) -> int:
        return self.F.shape[0]

    @property
    def n_freqs(self) -> int:
        """Number of non-constant components (p // 2 over Z_p)."""
        return max(self.freqs)

    def rows_of(self, k: int) -> list[int]:
        """The basis rows of component ``k``, in order (``cos k``, ``sin k`` over Z_p)."""
        return [i for i, f in enumerate(self.freqs) if f == k]

    def row(self, name: str) -> int:
        return self.names.index(name)

    def cos_row(self, k: int) -> int:
        return 2 * k - 1

    def sin_row(self, k: int) -> int:
        return 2 * k


def fourier_basis(p: int, dtype: torch.dtype = torch.float64, device: str | torch.device = "cpu") -> FourierBasis:
    """The orthonormal basis over Z_p (see module docstring)."""
    x = torch.arange(p, dtype=torch.float64)
    rows, names, freqs = [torch.ones(p, dtype=torch.float64)], ["const"], [0]
    for k in range(1, p // 2 + 1):
        rows.append(torch.cos(2 * math.pi * k * x / p))
        names.append(f"cos {k}")
        freqs.append(k)
        if 2 * k != p:  # Nyquist row has no sine partner
            rows.append(torch.sin(2 * math.pi * k * x / p))
            names.append(f"sin {k}")
            freqs.append(k)
    F = torch.stack(rows)
    F = F / F.norm(dim=1, keepdim=True)
    return FourierBasis(F.to(dtype=dtype, device=device), names, freqs)


def fft1d(basis: FourierBasis, x: Tensor, dim: int = 0) -> Tensor:
    """Transform ``x`` along ``dim`` (indexed by a token 0…p−1): ``F @ x``."""
    x = x.movedim(dim, 0)
    out = torch.tensordot(basis.F.to(x.dtype), x, dims=([1], [0]))
    return out.movedim(0, dim)


def fft2d(basis: FourierBasis, grid: Tensor) -> Tensor:
    """2-D transform of ``[p, p, *channels]`` (or ``[p*p, *channels]``, a-major): ``F M Fᵀ`` per channel."""
    p = basis.p
    if grid.shape[0] == p * p:  # a-major rows → [p, p, ...]
        grid = grid.reshape(p, p, *grid.shape[1:])
    F = basis.F.to(grid.dtype)
    return torch.einsum("ia,jb,ab...->ij...", F, F, grid)


# --- which tasks the Fourier story covers ------------------------------------------

FOURIER_OPS = {"add": 1, "sub": -1}
"""Operations whose circuit lives in the (a + b) or (a − b) directions, and the sign of b."""


class FourierNotApplicable(GrokkitError):
    """A Fourier measure was asked of a task whose circuit is not a cyclic-group one."""


def fourier_sign(task: TaskConfig) -> int:
    """+1 for ``add`` (directions in a + b), −1 for ``sub`` (a − b); raise for any other op."""
    if task.op not in FOURIER_OPS:
        raise FourierNotApplicable(
            f"op {task.op!r}: the Fourier measures assume the modular add/sub circuit "
            f"(directions in a±b over Z_p); they apply to {' and '.join(FOURIER_OPS)} only"
        )
    return FOURIER_OPS[task.op]


def check_key_freqs(p: int, key_freqs: Iterable[int]) -> list[int]:
    """Sorted, de-duplicated key frequencies; each must be an integer in 1 … p//2."""
    return check_components(p // 2, key_freqs, f"for p = {p}")


def check_components(n_freqs: int, key_freqs: Iterable[int], where: str) -> list[int]:
    """Sorted, de-duplicated key components; each must be an integer in 1 … ``n_freqs`` (``where`` says whose)."""
    freqs = sorted(set(key_freqs))
    bad = [k for k in freqs if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= n_freqs]
    if bad:
        raise FourierNotApplicable(f"key frequencies {bad}: each must be an integer in 1 … {n_freqs} {where}")
    return freqs


# --- weights in the Fourier basis --------------------------------------------------


def embedding_fourier_norms(basis: FourierBasis, W_E: Tensor) -> Tensor:
    """‖(F·W_E[:p])_f‖ for each basis row f → ``[p]``.

    ``W_E`` is ``[d_vocab, d_model]``; only its first p rows (the residues) are used,
    so the caller may pass the full embedding including the ``=`` row.
    """
    return fft1d(basis, W_E[: basis.p].to(basis.F.dtype), dim=0).norm(dim=1)


def neuron_logit_map(model: Any) -> Tensor:
    """W_L = W_out·W_U → ``[d_mlp, d_vocab_out]``: the direct effect of each neuron on each logit.

    ``model`` is a TransformerLens bridge (``blocks[0].mlp.W_out``, ``W_U``) or the
    ``Weights`` of ``grokkit.model.run_weights.weights_of``.
    """
    from grokkit.model.run_weights import Weights

    W_L = getattr(model, "W_L", None)  # an MLP's (run_weights.MLPWeights, model.mlp.HookedMLP): W_Uᵀ
    if isinstance(W_L, Tensor):
        return W_L
    if isinstance(model, Weights):  # nn.Linear layout: (out, in)
        return model.W_out.T @ model.W_U.T
    return model.blocks[0].mlp.W_out @ model.W_U


def logit_map_fourier_norms(basis: FourierBasis, W_L: Tensor) -> Tensor:
    """Norm over neurons of W_L transformed along its output axis: ``[d_mlp, p]`` → ``[p]``."""
    return fft1d(basis, W_L.to(basis.F.dtype), dim=1).norm(dim=0)


def per_frequency(basis: FourierBasis, row_values: Tensor) -> Tensor:
    """Combine a per-basis-row norm ``[p]`` into one per frequency k = 1 … p//2: √(cos² + sin²).

    Over any group basis: one value per component, the root of the sum of its rows' squares.
    """
    freqs = torch.tensor(basis.freqs, device=row_values.device)
    sq = torch.zeros(basis.n_freqs + 1, dtype=row_values.dtype, device=row_values.device)
    sq.index_add_(0, freqs, row_values**2)
    return sq[1:].sqrt()  # drop the constant


# --- the input grid ---------------------------------------------------------------


def grid_directions(p: int, freqs: Iterable[int], sign: int = 1, dtype: torch.dtype = torch.float64,
                    device: str | torch.device = "cpu") -> Tensor:
    """Unit vectors over the a-major input grid, ``[p*p, 2·|freqs|]``: c_k ∝ cos(ω_k(a ± b)), s_k ∝ sin(…).

    Columns come in pairs (c_k, s_k) in the order of ``freqs``; they are mutually
    orthonormal for distinct k in 1 … p//2 (a Nyquist k = p/2 has s_k ≡ 0, kept as a
    zero column so columns stay paired). ``sign`` is −1 for subtraction.
    """
    a = torch.arange(p, dtype=torch.float64, device=device)
    phase_unit = (a[:, None] + sign * a[None, :]).reshape(-1) * (2 * math.pi / p)  # [p*p]
    cols = []
    for k in freqs:
        for trig in (torch.cos, torch.sin):
            v = trig(k * phase_unit)
            norm = v.norm()
            cols.append(v / norm if norm > 1e-9 else torch.zeros_like(v))
    if not cols:
        return torch.zeros(p * p, 0, dtype=dtype, device=device)
    return torch.stack(cols, dim=1).to(dtype)


def project(directions: Tensor, x: Tensor) -> Tensor:
    """Σ_k P_k(x): every column of ``x [p*p, n]`` projected onto the span of ``directions [p*p, m]``."""
    return directions @ (directions.T @ x)


# --- neurons ----------------------------------------------------------------------


class NeuronClusters(NamedTuple):
    """Each neuron's dominant frequency and how much of its variance that frequency holds."""

    freq: Tensor  # [d_mlp] int64, k in 1 … p//2
    frac_explained: Tensor  # [d_mlp] float, share of the neuron's centred squared mass in its block
    explained: Tensor  # [d_mlp] bool, frac_explained > EXPLAINED_SHARE


EXPLAINED_SHARE = 0.85
"""A neuron is explained by one frequency when that frequency's block holds more than this share."""


def frequency_block_shares(basis: FourierBasis, acts: Tensor) -> Tensor:
    """Share of each neuron's centred squared mass in the {const, cos k, sin k}² block, ``[n_freqs, d_mlp]``.

    ``acts`` is ``[p*p, d_mlp]`` over the a-major grid. Only the block entries of F·N·Fᵀ are
    formed: the transform over a is one matmul, then each row f of it is transformed over b
    against just the columns {const} ∪ rows of its component (and row const against all) —
    about p³·d_mlp multiply-adds over Z_p, half of the full 2-D transform, and BLAS-fast (an
    FFT of prime length is slower here). Centring changes only the (const, const) entry,
    which the block excludes, so it is applied to the total alone. Over any group basis the
    block of component k is ({const} ∪ rows of k)² without (const, const).
    """
    p, F = basis.p, basis.F.to(acts.dtype)
    d = acts.shape[1]
    T = (F @ acts.reshape(p, p * d)).view(p, p, d)  # [f_a, b, neuron]: transformed over a
    freqs = torch.tensor(basis.freqs, device=acts.device)  # [p] component of each basis row
    # For each row f ≠ const: the basis rows const and those of f's component, zero-padded to
    # the largest component (over Z_p: const, cos k_f, sin k_f; a Nyquist k = p/2 has no sine: 0).
    members = {k: basis.rows_of(k) for k in range(1, basis.n_freqs + 1)}
    width = 1 + max(len(rows) for rows in members.values())
    index = torch.zeros(p - 1, width, dtype=torch.long, device=acts.device)
    present = torch.zeros(p - 1, width, 1, dtype=F.dtype, device=acts.device)
    for f, k in enumerate(basis.freqs[1:]):
        index[f, : 1 + len(members[k])] = torch.tensor([0] + members[k])
        present[f, : 1 + len(members[k])] = 1
    partner = F[index] * present  # [p-1, width, p]
    block = torch.bmm(partner, T[1:]).square().sum(1)  # [p-1, neuron]: (f_a ≠ const, its partner columns)
    top = (F @ T[0])[1:].square()  # [p-1, neuron]: (const, f_b ≠ const)
    mass = torch.zeros(basis.n_freqs + 1, d, dtype=F.dtype, device=acts.device)
    mass.index_add_(0, freqs[1:], block + top)
    total = acts.square().sum(0) - acts.sum(0).square() / (p * p)  # Σ (N − mean)²
    mass = mass[1:]
    return torch.where(total > 0, mass / total.clamp_min(1e-30), torch.zeros_like(mass))


def neuron_freq_clusters(basis: FourierBasis, acts: Tensor) -> NeuronClusters:
    """Cluster neurons by frequency (Nanda et al. 2023's neuron clustering, the standard rule).

    ``acts`` is ``[p*p, d_mlp]`` (post-ReLU activations at the last position over the
    a-major grid). A neuron's frequency is the k whose block holds the largest share of
    its centred squared mass; it is explained when that share exceeds 0.85. A dead or
    constant neuron has share 0 and is never explained.
    """
    shares = frequency_block_shares(basis, acts)
    best, arg = shares.max(dim=0)
    return NeuronClusters(freq=arg + 1, frac_explained=best, explained=best > EXPLAINED_SHARE)


# --- key frequencies --------------------------------------------------------------

def key_freqs_from_neurons(basis: FourierBasis, acts: Tensor) -> list[int]:
    """K = the frequencies that own at least one explained neuron (the ``neurons`` rule of ``grokkit.analysis.keys``)."""
    clusters = neuron_freq_clusters(basis, acts)
    return sorted({int(k) for k in clusters.freq[clusters.explained].tolist()})


def key_freqs_from_embedding(basis: FourierBasis, W_E: Tensor, threshold: float = 0.25) -> list[int]:
    """K = the frequencies whose W_E Fourier norm (√(cos² + sin²)) exceeds ``threshold`` × max (the ``embedding`` rule)."""
    norms = per_frequency(basis, embedding_fourier_norms(basis, W_E))
    return [k + 1 for k in torch.nonzero(norms > threshold * norms.max()).flatten().tolist()]
