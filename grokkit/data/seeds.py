"""Stable seeds derived from settings, shared by every generator that must not depend on the process.

A model's data and init are drawn from generators seeded by its own settings only, so it
sees the same numbers whether it trains alone or stacked among others (the toy sweep, the
capacity study).
"""

from __future__ import annotations

import hashlib


def derive_seed(*key: object) -> int:
    """A stable 63-bit seed from any tuple of settings (Python's hash() is salted per process)."""
    digest = hashlib.sha256(repr(key).encode()).digest()
    return int.from_bytes(digest[:8], "little") >> 1
