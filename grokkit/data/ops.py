"""The algorithmic binary operations of Power et al. (2022).

Each operation maps a pair of symbols ``(x, y)`` to a result symbol. Modular
operations work on residues ``0 … p-1``; the S5 operations work on the 120
permutations of five elements, indexed in lexicographic order.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Callable

import numpy as np

S5_ORDER = 120


@dataclass(frozen=True)
class Operation:
    """One binary operation: its name, formula and how to evaluate it."""

    name: str
    formula: str
    fn: Callable[[np.ndarray, np.ndarray, int], np.ndarray]
    needs_prime: bool = False  # uses modular inverses, which exist for every y only if p is prime
    y_nonzero: bool = False  # y = 0 is excluded from the input grid (division)
    group: str = "modular"  # "modular" (residues mod p), "s5" (permutations) or "finite" (task.group's elements)
    analysis_group: str = "generic"  # the group the measures read it in (grokkit.analysis.groups.GROUPS):
    # cyclic (Z_p), multiplicative (Z_p* via discrete log), s5 (irreps), finite (computed irreps of task.group),
    # generic (2-D Fourier view, no circuit)


def _inverse(y: np.ndarray, p: int) -> np.ndarray:
    # Fermat: y^(p-2) = y^-1 mod p for prime p and y != 0.
    return np.array([pow(int(v), p - 2, p) for v in y.ravel()], dtype=np.int64).reshape(y.shape)


def _div(x: np.ndarray, y: np.ndarray, p: int) -> np.ndarray:
    return (x * _inverse(y, p)) % p


def _div_if_odd_else_sub(x: np.ndarray, y: np.ndarray, p: int) -> np.ndarray:
    odd = y % 2 == 1
    safe_y = np.where(odd, y, 1)  # y odd implies y != 0, so the inverse exists
    return np.where(odd, _div(x, safe_y, p), (x - y) % p)


def _s5_table() -> tuple[np.ndarray, np.ndarray]:
    """(composition table, inverse index) of S5, perms in lexicographic order."""
    perms = list(itertools.permutations(range(5)))
    index = {perm: i for i, perm in enumerate(perms)}
    compose = np.empty((S5_ORDER, S5_ORDER), dtype=np.int64)
    for i, x in enumerate(perms):
        for j, y in enumerate(perms):
            compose[i, j] = index[tuple(x[y[k]] for k in range(5))]  # (x∘y)(k) = x(y(k))
    inverse = np.array([index[tuple(np.argsort(perm))] for perm in perms], dtype=np.int64)
    return compose, inverse


_S5_CACHE: dict[str, np.ndarray] = {}


def _s5() -> tuple[np.ndarray, np.ndarray]:
    if not _S5_CACHE:
        _S5_CACHE["compose"], _S5_CACHE["inverse"] = _s5_table()
    return _S5_CACHE["compose"], _S5_CACHE["inverse"]


def _s5_compose(x: np.ndarray, y: np.ndarray, _: int) -> np.ndarray:
    compose, _inv = _s5()
    return compose[x, y]


def _s5_conjugate(x: np.ndarray, y: np.ndarray, _: int) -> np.ndarray:
    compose, inverse = _s5()
    return compose[compose[x, y], inverse[x]]


def _s5_xyx(x: np.ndarray, y: np.ndarray, _: int) -> np.ndarray:
    compose, _inv = _s5()
    return compose[compose[x, y], x]


def _needs_table(x: np.ndarray, y: np.ndarray, _: int) -> np.ndarray:
    raise TypeError("op 'compose' reads its group's table: use TaskConfig.apply")


_OPS = [
    Operation("add", "x+y", lambda x, y, p: (x + y) % p, analysis_group="cyclic"),
    Operation("sub", "x-y", lambda x, y, p: (x - y) % p, analysis_group="cyclic"),
    Operation("mul", "x*y", lambda x, y, p: (x * y) % p, analysis_group="multiplicative"),
    Operation("div", "x/y (y != 0)", _div, needs_prime=True, y_nonzero=True, analysis_group="multiplicative"),
    Operation("x2_plus_y", "x^2+y", lambda x, y, p: (x * x + y) % p),
    Operation("x3_plus_y", "x^3+y", lambda x, y, p: (x * x * x + y) % p),
    Operation("x2_plus_y2", "x^2+y^2", lambda x, y, p: (x * x + y * y) % p),
    Operation("x2_xy_y2", "x^2+xy+y^2", lambda x, y, p: (x * x + x * y + y * y) % p),
    Operation("x2_xy_y2_x", "x^2+xy+y^2+x", lambda x, y, p: (x * x + x * y + y * y + x) % p),
    Operation("x3_xy", "x^3+xy", lambda x, y, p: (x * x * x + x * y) % p),
    Operation("x3_xy2_y", "x^3+xy^2+y", lambda x, y, p: (x * x * x + x * y * y + y) % p),
    Operation("div_if_odd_else_sub", "x/y if y odd else x-y", _div_if_odd_else_sub, needs_prime=True),
    Operation(
        "add_if_even_else_mul",
        "x+y if x even else x*y",
        lambda x, y, p: np.where(x % 2 == 0, x + y, x * y) % p,
    ),
    Operation(
        "add_if_even_else_sub",
        "x+y if x even else x-y",
        lambda x, y, p: np.where(x % 2 == 0, x + y, x - y) % p,
    ),
    Operation("s5_compose", "x∘y in S5", _s5_compose, group="s5", analysis_group="s5"),
    Operation("s5_conjugate", "x∘y∘x⁻¹ in S5", _s5_conjugate, group="s5", analysis_group="s5"),
    Operation("s5_xyx", "x∘y∘x in S5", _s5_xyx, group="s5", analysis_group="s5"),
    # a ∘ b in the group of task.group / task.generators / task.table (grokkit.data.groups): the table is the
    # task's, so TaskConfig.apply looks it up; fn is never called
    Operation("compose", "x∘y in task.group", _needs_table, group="finite", analysis_group="finite"),
]

OPERATIONS: dict[str, Operation] = {op.name: op for op in _OPS}


def is_prime(n: int) -> bool:
    """Trial division; p is small (≤ a few thousand) for these tasks."""
    if n < 2:
        return False
    return all(n % d for d in range(2, int(n**0.5) + 1))
