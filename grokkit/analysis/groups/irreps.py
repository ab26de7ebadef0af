"""The real irreducible representations of any finite group, computed from its multiplication table.

Nothing here is written by hand for a particular group: C_n, D_n, A4, S4, A5, S5, S6, Q_8 and
their direct products all go through the same three steps, in float64, with a fixed seed, so
the same table gives the same numbers on every call.

1. **Characters** (Burnside's algorithm, numerically). The class sums C_j span the centre of
   the group algebra; multiplying by a random central element Z = Σ_i c_i C_i acts on that
   basis by the matrix ``A[k, j] = (1/|C_k|)·Σ c_cls(x) over pairs (x, y) with y ∈ C_j and
   x∘y ∈ C_k`` (one pass over the table). Its eigenvectors are the central idempotents
   e_χ = (χ(1)/|G|) Σ_j conj(χ(C_j)) C_j, so each eigenvector is a conjugate character up to
   scale; χ(1) follows from Σ_j |C_j| |χ_j|² = |G|. The table is checked (integer degrees,
   Σ χ(1)² = |G|, row orthogonality) and recomputed with another seed if two eigenvalues
   happened to coincide.
2. **Real types** by the Frobenius–Schur indicator ν(χ) = (1/|G|) Σ_g χ(g²): ν = 1, χ is the
   character of a real representation of dimension χ(1) ("real"); ν = 0, χ ≠ conj(χ), and χ
   and conj(χ) together are one real irrep of dimension 2·χ(1) ("complex"); ν = −1, χ is real
   but its representation is not, and 2χ is a real irrep of dimension 2·χ(1)
   ("quaternionic"). A real irrep σ of dimension m has commutant R, C or H (e = 1, 2, 4) and
   its matrix coefficients span m²/e dimensions of functions on G; these add up to |G|.
   ``group_irreps`` does steps 1–3 up to the basis (all the measures read);
   ``real_irreps`` adds the matrices.
3. **The basis and the matrices.** The projector onto the functions of real irrep k is
   P_k[g, h] = (1/|G|)·Σ_{χ in k} χ(1)·χ(g h⁻¹) (a pair χ, conj(χ) for a complex one); one
   eigendecomposition of Σ_k k·P_k (eigenvalues exactly 0, 1, 2, …) gives an orthonormal
   basis W_k of every component at once: these are the rows of the ``FourierBasis`` the
   measures read (component k = irrep k, the trivial one is row 0). The matrices
   σ_k(g) = Qᵀ L(g) Q restrict the left-regular action (L(g)f)(x) = f(g⁻¹x) to one
   irreducible left-invariant subspace Q ⊂ W_k: the eigenspace of the lowest eigenvalue of a
   random symmetric element of the commutant (the right action Σ_h c_h R(h), symmetrised, on
   W_k), which is exactly m-dimensional for each of the three types. σ_k(g) is orthogonal
   and σ_k(g∘h) = σ_k(g)σ_k(h).

Components are ordered trivial first, then by their normalised real character
ψ/ψ(1) at the classes of elements 1, 2, … (largest first): over C_n this is k = 1, 2, … (and
the components are named ``k=1`` …, as over Z_p); otherwise they are named by real
dimension and a letter (``1b``, ``2a``, ``4a`` …), with the type when it is not real.
"""

from __future__ import annotations

import functools
import re
from typing import NamedTuple

import numpy as np
import torch

from grokkit.analysis.fourier import FourierBasis
from grokkit.data.groups import FiniteGroup
from grokkit.errors import GrokkitError

KINDS = {1: "real", 0: "complex", -1: "quaternionic"}
COMMUTANT = {"real": 1, "complex": 2, "quaternionic": 4}  # dim_R of End_G(σ): R, C, H
TOL = 1e-8


class IrrepsFailed(GrokkitError):
    """The numerical decomposition did not converge (it has not happened on any group tried)."""


class CharacterTable(NamedTuple):
    """The complex characters of a group, one row per irreducible character."""

    classes: list[np.ndarray]  # the elements of each conjugacy class, class 0 = {identity}, by least element
    class_of: np.ndarray  # [n] int64: the class of each element
    chars: np.ndarray  # [r, r] complex128: χ_t(C_j)
    degrees: np.ndarray  # [r] int64: χ_t(1)
    indicators: np.ndarray  # [r] int64: Frobenius–Schur ν(χ_t) in {1, 0, −1}


class RealIrrep(NamedTuple):
    """One real irreducible representation."""

    name: str  # e.g. "k=3", "2a", "4a (quaternionic)"
    kind: str  # real | complex | quaternionic
    matrices: np.ndarray  # [n, m, m] float64: σ(g), orthogonal
    character: np.ndarray  # [n] float64: ψ(g) = tr σ(g)

    @property
    def dim(self) -> int:
        """m, the real dimension."""
        return self.matrices.shape[1]

    @property
    def span(self) -> int:
        """m²/e: the dimension of the functions on G its matrix coefficients span (its rows of the basis)."""
        return self.dim * self.dim // COMMUTANT[self.kind]


class GroupIrreps(NamedTuple):
    """A group's character table, its real components (trivial first) and the orthonormal basis they define."""

    table: CharacterTable
    names: tuple[str, ...]  # of each real irrep, "trivial" first
    kinds: tuple[str, ...]  # real | complex | quaternionic
    dims: tuple[int, ...]  # real dimension m of each
    spans: tuple[np.ndarray, ...]  # W_k [n, m²/e]: orthonormal basis of irrep k's matrix coefficients
    basis: FourierBasis  # [n, n]: the rows of W_k (transposed) for component k; row 0 the constant

# --- classes and characters ---------------------------------------------------------------


def conjugacy_classes(group: FiniteGroup) -> tuple[list[np.ndarray], np.ndarray]:
    """The classes {h g h⁻¹}, ordered by least element (class 0 = {identity}), and each element's class."""
    t, inv = group.table, group.inverse
    conj = t[t, inv[:, None]]  # [h, g] → h∘g∘h⁻¹
    class_of = np.full(group.n, -1, dtype=np.int64)
    classes = []
    for g in range(group.n):
        if class_of[g] < 0:
            members = np.unique(conj[:, g])
            class_of[members] = len(classes)
            classes.append(members)
    return classes, class_of


def _central_matrix(group: FiniteGroup, classes: list[np.ndarray], class_of: np.ndarray,
                    c: np.ndarray) -> np.ndarray:
    """``A[k, j]``: multiplication by Z = Σ_i c_i C_i on the class sums (module docstring, step 1)."""
    r = len(classes)
    x_class = np.broadcast_to(class_of[:, None], group.table.shape)  # [x, y]
    y_class = np.broadcast_to(class_of[None, :], group.table.shape)
    xy_class = class_of[group.table]
    A = np.bincount((xy_class * r + y_class).ravel(), weights=c[x_class].ravel(), minlength=r * r).reshape(r, r)
    return A / np.array([len(cl) for cl in classes], dtype=np.float64)[:, None]


def character_table(group: FiniteGroup) -> CharacterTable:
    """The complex character table by Burnside's algorithm (module docstring, step 1), checked."""
    classes, class_of = conjugacy_classes(group)
    n, r = group.n, len(classes)
    sizes = np.array([len(cl) for cl in classes], dtype=np.float64)
    for seed in range(5):
        c = np.random.default_rng(seed).standard_normal(r)
        _, V = np.linalg.eig(_central_matrix(group, classes, class_of, c))
        V = V.T / V.T[:, :1]  # [r, r]: row t ∝ conj(χ_t), scaled to 1 at the identity
        degrees_f = np.sqrt(n / (sizes * np.abs(V) ** 2).sum(1))
        chars = np.conj(V) * degrees_f[:, None]
        degrees = np.rint(degrees_f).astype(np.int64)
        gram = (chars * sizes) @ chars.conj().T / n  # ⟨χ_s, χ_t⟩ = δ_st
        if (np.abs(degrees_f - degrees).max() < 1e-6 and int((degrees**2).sum()) == n
                and np.abs(gram - np.eye(r)).max() < 1e-6):
            break
    else:
        raise IrrepsFailed(f"{group.name}: the character table did not converge")
    chars[:, 0] = degrees  # exact at the identity
    squares = class_of[group.table[np.arange(n), np.arange(n)]]  # class of g²
    nu = (chars[:, squares].sum(1) / n).real
    indicators = np.rint(nu).astype(np.int64)
    if np.abs(nu - indicators).max() > 1e-6:
        raise IrrepsFailed(f"{group.name}: a Frobenius–Schur indicator is not an integer")
    return CharacterTable(classes, class_of, chars, degrees, indicators)


# --- real components ----------------------------------------------------------------------


class _Component(NamedTuple):
    kind: str
    members: list[int]  # rows of the character table: one, or χ and conj(χ)
    psi: np.ndarray  # [r] float64: the real character at each class (χ, χ + conj χ, or 2χ)
    dim: int


def _components(table: CharacterTable) -> list[_Component]:
    """One per real irrep: a real χ (ν = ±1), or a pair χ, conj(χ) (ν = 0); trivial first, then ordered."""
    out, used = [], set()
    conj = table.chars.conj()
    for t in range(len(table.chars)):
        if t in used:
            continue
        kind = KINDS[int(table.indicators[t])]
        d = int(table.degrees[t])
        if kind == "complex":
            partner = int(np.argmin(np.abs(table.chars - conj[t]).max(1)))
            used |= {t, partner}
            out.append(_Component(kind, [t, partner], 2 * table.chars[t].real, 2 * d))
        else:
            used.add(t)
            out.append(_Component(kind, [t], (1 if kind == "real" else 2) * table.chars[t].real,
                                  d if kind == "real" else 2 * d))
    # the class of element 1, 2, … in turn: normalised characters, largest first (the trivial one is all 1)
    firsts = np.argsort([int(cl.min()) for cl in table.classes])
    return sorted(out, key=lambda comp: tuple(-np.round(comp.psi[firsts] / comp.dim, 9)))


def _names(group: FiniteGroup, comps: list[_Component], table: CharacterTable) -> list[str]:
    """``k=j`` over a cyclic group named C_n (the frequency of the character at element 1); otherwise the
    real dimension, a letter by order among that dimension, and the type when it is not real."""
    if re.fullmatch(r"C_\d+", group.name):
        n = group.n
        one = table.class_of[1]
        freqs = [round(abs(np.angle(table.chars[comp.members[0], one])) * n / (2 * np.pi)) for comp in comps]
        return ["trivial" if k == 0 else f"k={k}" for k in freqs]
    seen: dict[int, int] = {}
    names = []
    for i, comp in enumerate(comps):
        letter = seen.get(comp.dim, 0)
        seen[comp.dim] = letter + 1
        tag = "" if comp.kind == "real" else f" ({comp.kind})"
        names.append("trivial" if i == 0 else f"{comp.dim}{chr(ord('a') + letter) if letter < 26 else letter}{tag}")
    return names


def _component_bases(group: FiniteGroup, table: CharacterTable, comps: list[_Component]) -> list[np.ndarray]:
    """Orthonormal ``W_k [n, span_k]`` of each component's functions: eigenvectors of Σ_k k·P_k (step 3)."""
    n = group.n
    f = np.zeros(len(table.classes))  # the class function of Σ_k k·P_k: k/|G| · Σ_{χ in k} χ(1)χ
    for k, comp in enumerate(comps):
        for t in comp.members:
            f += k * table.degrees[t] * table.chars[t].real / n  # χ + conj χ is real: imaginary parts cancel
    M = f[table.class_of[group.table[:, group.inverse]]]  # [g, h] → f(g h⁻¹)
    values, vectors = np.linalg.eigh((M + M.T) / 2)
    labels = np.rint(values).astype(np.int64)
    if np.abs(values - labels).max() > 1e-6:
        raise IrrepsFailed(f"{group.name}: the isotypic projectors did not separate")
    return [vectors[:, labels == k] for k in range(len(comps))]


def _irreducible_subspace(group: FiniteGroup, W: np.ndarray, m: int, name: str) -> np.ndarray:
    """``Q [n, m]``: one left-invariant irreducible subspace of span(W), via a random commutant element."""
    if W.shape[1] == m:
        return W
    for seed in range(5):
        c = np.random.default_rng(100 + seed).standard_normal(group.n)
        S = c[group.table[group.inverse]]  # [x, y] = c_h for the h with x∘h = y: Σ_h c_h R(h) as a matrix
        B = W.T @ (S @ W)
        values, vectors = np.linalg.eigh((B + B.T) / 2)
        scale = max(1.0, float(np.abs(values).max()))
        if values[m - 1] - values[0] < TOL * scale and values[m] - values[m - 1] > 1e-6 * scale:
            return W @ vectors[:, :m]
    raise IrrepsFailed(f"{group.name}: could not split component {name} into irreducible pieces")


@functools.lru_cache(maxsize=8)
def group_irreps(group: FiniteGroup) -> GroupIrreps:
    """The character table, real components and basis of ``group`` (steps 1–3 but the matrices); cached per
    group object. The basis is what the measures read; ``real_irreps`` adds the matrices."""
    table = character_table(group)
    comps = _components(table)
    names = _names(group, comps, table)
    spans = _component_bases(group, table, comps)
    rows, row_names, freqs = [np.full(group.n, group.n**-0.5)], ["const"], [0]
    for k, (comp, name, W) in enumerate(zip(comps, names, spans)):
        if W.shape[1] != comp.dim**2 // COMMUTANT[comp.kind]:
            raise IrrepsFailed(f"{group.name}: component {name} spans {W.shape[1]} functions, expected "
                               f"{comp.dim**2 // COMMUTANT[comp.kind]}")
        if k == 0:
            continue  # the constant row
        rows += list(W.T)
        row_names += [f"{name}[{i}]" if W.shape[1] > 1 else name for i in range(W.shape[1])]
        freqs += [k] * W.shape[1]
    basis = FourierBasis(torch.tensor(np.stack(rows), dtype=torch.float64), row_names, freqs)
    return GroupIrreps(table, tuple(names), tuple(c.kind for c in comps), tuple(c.dim for c in comps),
                       tuple(spans), basis)


@functools.lru_cache(maxsize=8)
def real_irreps(group: FiniteGroup) -> tuple[RealIrrep, ...]:
    """Every real irrep of ``group`` as orthogonal matrices σ(g) (step 3), trivial first, in ``group_irreps``'s order."""
    info = group_irreps(group)
    left = group.table[group.inverse]  # [g, x] → g⁻¹∘x: (L(g)f)(x) = f(g⁻¹x)
    out = []
    for name, kind, m, W in zip(info.names, info.kinds, info.dims, info.spans):
        Q = _irreducible_subspace(group, W, m, name)
        sigma = np.concatenate([Q.T @ Q[left[lo:lo + 64]] for lo in range(0, group.n, 64)])  # σ(g) = Qᵀ L(g) Q
        out.append(RealIrrep(name, kind, sigma, np.trace(sigma, axis1=1, axis2=2)))
    return tuple(out)
