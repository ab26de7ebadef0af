"""Z_p*, the group of mul and div, reached through the discrete logarithm (Power et al. 2022's x·y and x/y tasks).

For prime p the non-zero residues form a cyclic group of order p − 1: with a primitive
root g, x = g^i and y = g^j give x·y = g^(i+j) and x/y = g^(i−j) (exponents mod p − 1).
So the group's elements are listed as ``symbols[i] = g^i mod p`` and its basis is the
Fourier basis of Z_(p−1) over the exponents i: the add/sub measures apply after this
re-indexing.

**0 is handled explicitly**: it is not in Z_p*. The pairs with a = 0 (or b = 0) always
answer 0, by a rule of their own, so the group measures (excluded and restricted loss,
neuron clusters, …) read only the (p − 1)² pairs of non-zero operands, and the 0 token's
embedding is left out of the embedding's Fourier norms. Every output column, the class
0 included, stays in the logits the losses are taken over.
"""

from __future__ import annotations

import torch

from grokkit.analysis.fourier import FourierNotApplicable, fourier_basis
from grokkit.analysis.groups.base import TaskGroup
from grokkit.data.dataset import TaskConfig
from grokkit.data.ops import is_prime


def prime_factors(n: int) -> list[int]:
    """The distinct primes dividing ``n``, ascending."""
    out, d = [], 2
    while d * d <= n:
        if n % d == 0:
            out.append(d)
            while n % d == 0:
                n //= d
        d += 1
    return out + ([n] if n > 1 else [])


def primitive_root(p: int) -> int:
    """The smallest g whose powers run through every non-zero residue mod prime ``p``.

    g generates Z_p* exactly when g^((p−1)/q) ≠ 1 for every prime q dividing p − 1.
    """
    factors = prime_factors(p - 1)
    return next(g for g in range(1, p) if all(pow(g, (p - 1) // q, p) != 1 for q in factors))


def powers(g: int, p: int) -> torch.Tensor:
    """``[p − 1]``: g^i mod p for i = 0 … p − 2 (the residue of exponent i)."""
    return torch.tensor([pow(g, i, p) for i in range(p - 1)], dtype=torch.long)


def discrete_log(g: int, p: int) -> torch.Tensor:
    """``[p]``: log_g(x) for each residue x, and −1 for x = 0 (which has none)."""
    log = torch.full((p,), -1, dtype=torch.long)
    log[powers(g, p)] = torch.arange(p - 1)
    return log


def multiplicative_group(task: TaskConfig) -> TaskGroup:
    """Z_p* ≅ Z_(p−1): the non-zero residues in the order g^0, g^1, …, with the Fourier basis of Z_(p−1)."""
    p = task.p
    if not is_prime(p):
        raise FourierNotApplicable(f"op {task.op!r} with p = {p}: the non-zero residues form a group "
                                   "(Z_p*) only for prime p; use a prime p for the group measures")
    g = primitive_root(p)
    basis = fourier_basis(p - 1)
    return TaskGroup(
        name=f"Z_{p}* ≅ Z_{p - 1} (exponents of {g})", kind="multiplicative", basis=basis, symbols=powers(g, p),
        component_names=tuple(f"k={k}" for k in range(1, basis.n_freqs + 1)), circuit=True,
        note=(f"Z_{p}* ≅ Z_{p - 1}: the Fourier basis over discrete logarithms base {g}; "
              "pairs with a 0 operand are left out"),
    )
