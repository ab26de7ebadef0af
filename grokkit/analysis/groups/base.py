"""What a group gives the measures: a harmonic basis over its elements, and the task's grid in its coordinates.

A task's symbols are tokens (residues 0 … p−1, or the 120 permutations). Its group
is a set of n of those symbols, listed in the group's own order (``symbols[i]`` is the
token of element i; for Z_p* it is g^i, so position = discrete logarithm). Over those
n elements the group has an orthonormal basis ``F`` (``FourierBasis``): row 0 is the
constant, and each other row belongs to one *component* k (a frequency over Z_n, an
irreducible representation over S5), whose rows span the matrix coefficients of that
real representation.

The measures read the task through ``GroupGrid``: the dataset rows whose two operands
are group elements, in element-major order (``rows``), and, when the operation is a
word in the group (``circuit``), the group element of each label. From these two,
one implementation serves every group:

- key directions over the grid for component k: ``D[(a, b), r] = F[r, label(a, b)] / √n``
  for the rows r of k. Over Z_p with add they are the c_k, s_k ∝ cos, sin(ω_k(a + b)) of
  the paper; in general they span the functions (a, b) ↦ ρ_k(a·b)_ij, orthonormal by
  Schur orthogonality because b ↦ label(a, b) is a bijection for each a.
- the character kernel ``K_k = F_kᵀ F_k`` (``[n, n]``), ∝ χ_k(g h⁻¹): over Z_p it is
  (2/p)·cos(ω_k(g − h)), the cosine of the cos-cube.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import torch
from torch import Tensor

from grokkit.analysis.fourier import FourierBasis, FourierNotApplicable, check_components
from grokkit.data.dataset import AlgorithmicDataset


@dataclass(frozen=True)
class TaskGroup:
    """The group behind a task, as the measures use it."""

    name: str  # e.g. "Z_59", "Z_59* ≅ Z_58 (exponents of 2)", "S5"
    kind: str  # the op's declared group: cyclic | multiplicative | s5 | generic
    basis: FourierBasis  # over the n elements, in the order of ``symbols``
    symbols: Tensor  # [n] int64: the token of each group element
    component_names: tuple[str, ...]  # name of component k = 1 … n_freqs, at index k − 1
    circuit: bool  # labels are group elements (the op is a word in a and b): key directions exist
    note: str  # one line for the reader: what this view is, what it leaves out

    @property
    def n(self) -> int:
        return len(self.symbols)

    @property
    def n_freqs(self) -> int:
        return self.basis.n_freqs

    def component_name(self, k: int) -> str:
        return self.component_names[k - 1]

    def check_keys(self, key_freqs: list[int]) -> list[int]:
        """Sorted, de-duplicated key components, each in 1 … n_freqs; raise naming the group otherwise."""
        return check_components(self.n_freqs, key_freqs, f"for {self.name}")

    def require_circuit(self, what: str) -> None:
        """Raise a one-line FourierNotApplicable when the task's labels are not group elements."""
        if not self.circuit:
            raise FourierNotApplicable(f"{what}: {self.note}")

    def to(self, device: str | torch.device) -> "TaskGroup":
        basis = FourierBasis(self.basis.F.to(device), self.basis.names, self.basis.freqs)
        return TaskGroup(self.name, self.kind, basis, self.symbols.to(device), self.component_names,
                         self.circuit, self.note)


class GroupGrid(NamedTuple):
    """A dataset in group coordinates: the rows whose operands are both group elements."""

    rows: Tensor  # [n*n] int64: dataset row of (element i, element j), i-major
    labels: Tensor | None  # [n*n] int64: group element of each row's label (None without a circuit)
    train: Tensor  # positions into ``rows`` (not dataset rows) that are train rows, ascending
    test: Tensor  # … that are test rows


def group_grid(group: TaskGroup, dataset: AlgorithmicDataset) -> GroupGrid:
    """Locate every (element i, element j) pair in ``dataset`` and, with a circuit, each label's element.

    For add and sub ``rows`` is 0 … p²−1 and ``labels`` the dataset's labels, so the measures
    read the same numbers as before groups existed.
    """
    n_sym = dataset.cfg.n_symbols
    row_of = torch.full((n_sym, n_sym), -1, dtype=torch.long)
    row_of[dataset.x, dataset.y] = torch.arange(len(dataset))
    sym = group.symbols.cpu()
    rows = row_of[sym[:, None], sym[None, :]].reshape(-1)  # [n*n]
    if bool((rows < 0).any()):
        raise FourierNotApplicable(f"{group.name}: some pairs of group elements are missing from the input grid")
    labels = None
    if group.circuit:
        element_of = torch.full((n_sym,), -1, dtype=torch.long)
        element_of[sym] = torch.arange(group.n)
        labels = element_of[dataset.labels[rows]]
        if bool((labels < 0).any()):
            raise FourierNotApplicable(f"{group.name}: op {dataset.cfg.op!r} leaves the group on some pairs")
    in_train = dataset.is_train_mask()[rows]
    positions = torch.arange(len(rows))
    return GroupGrid(rows, labels, positions[in_train], positions[~in_train])


class KeyDirections(NamedTuple):
    """Orthonormal columns over the grid, grouped by key component."""

    D: Tensor  # [n*n, m] float64
    slices: list[slice]  # the columns of each key component, in the order of the keys


def key_directions(basis: FourierBasis, labels: Tensor, key_freqs: list[int]) -> KeyDirections:
    """``D[(a, b), r] = F[r, label(a, b)] / √n`` for the rows r of each key component (module docstring)."""
    rows = [basis.rows_of(k) for k in key_freqs]
    flat = [r for rs in rows for r in rs]
    D = basis.F[flat][:, labels].T / basis.p**0.5  # [n*n, m]
    bounds = torch.tensor([0] + [len(rs) for rs in rows]).cumsum(0).tolist()
    return KeyDirections(D.double(), [slice(lo, hi) for lo, hi in zip(bounds[:-1], bounds[1:])])


def character_kernel(basis: FourierBasis, k: int) -> Tensor:
    """``K_k = F_kᵀ F_k``, ``[n, n]``: the projector onto component k, ∝ χ_k(g h⁻¹)."""
    F_k = basis.F[basis.rows_of(k)].double()
    return F_k.T @ F_k


def label_sums(basis: FourierBasis, labels: Tensor, grid_logits: Tensor) -> Tensor:
    """``C = Dᵀ L`` for every basis row at once, ``[n, classes]``, without forming D.

    D[(a, b), r] = F[r, label(a, b)]/√n, so (Dᵀ L)[r, c] = Σ_g F[r, g]·S[g, c]/√n with
    S[g, c] = Σ_{label(a, b) = g} L[(a, b), c]: n²·classes additions and one n × n product instead of an
    [n², n] matrix (3 GB for S6). Row 0 (the constant) is the logits' mean part.
    """
    L = grid_logits.double()
    S = torch.zeros(basis.p, L.shape[1], dtype=L.dtype, device=L.device).index_add_(0, labels, L)
    return basis.F.to(L) @ S / basis.p**0.5


def kept_logits(basis: FourierBasis, labels: Tensor, C: Tensor, components: list[int]) -> Tensor:
    """``D_K D_Kᵀ L``, ``[n*n, classes]``: the logits along the key directions of ``components``, from ``C = Dᵀ L``
    (``label_sums``): Σ_{r ∈ K} F[r, label(a, b)]·C[r, c]/√n, a lookup of one [n, classes] table by label."""
    rows = [r for k in components for r in basis.rows_of(k)]
    if not rows:
        return torch.zeros(len(labels), C.shape[1], dtype=C.dtype, device=C.device)
    table = basis.F.to(C)[rows].T @ C[rows] / basis.p**0.5  # [n, classes]
    return table[labels]


def component_logit_shares(basis: FourierBasis, labels: Tensor, grid_logits: Tensor) -> Tensor:
    """``[n_freqs]``: the share of the centred logit table's squared norm along each component's key directions.

    ``grid_logits`` is ``[n*n, classes]`` over the group grid, ``labels`` its rows' group
    elements. The per-class mean over inputs is removed first (it lies along no direction).
    Computed through ``label_sums`` (the same numbers as Dᵀ L with every direction, in n³ work).
    """
    L = grid_logits.double() - grid_logits.double().mean(0)
    C = label_sums(basis, labels, L)  # [n, classes]
    total = L.square().sum().clamp_min(1e-30)
    freqs = torch.tensor(basis.freqs, device=C.device)
    mass = torch.zeros(basis.n_freqs + 1, dtype=C.dtype, device=C.device).index_add_(0, freqs, C.square().sum(1))
    return mass[1:] / total
