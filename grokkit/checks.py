"""Field checks shared by the study configs (the toy model, the capacity study): each raises one
``ConfigError`` line naming the field, what is allowed and what it got."""

from __future__ import annotations

import math
from typing import Any, Callable

from grokkit.errors import ConfigError


def is_int(value: object) -> bool:
    """An integer that is not a bool (TOML's ``true`` is not a count)."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_num(value: object) -> bool:
    """A finite int or float that is not a bool."""
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and (isinstance(value, int) or math.isfinite(value)))


def check_int(name: str, value: object, minimum: int) -> None:
    if not is_int(value) or value < minimum:
        raise ConfigError(f"{name}: must be an integer >= {minimum}, got {value!r}")


def check_positive(name: str, value: object) -> None:
    if not is_num(value) or value <= 0:
        raise ConfigError(f"{name}: must be a finite number > 0, got {value!r}")


def check_nonneg(name: str, value: object) -> None:
    if not is_num(value) or value < 0:
        raise ConfigError(f"{name}: must be a finite number >= 0, got {value!r}")


def check_unit(name: str, value: object) -> None:
    """Probability-like values: [0, 1)."""
    if not is_num(value) or not 0.0 <= value < 1.0:
        raise ConfigError(f"{name}: must be in [0, 1), got {value!r}")


def check_choice(name: str, value: object, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ConfigError(f"{name}: must be one of {', '.join(allowed)}, got {value!r}")


def check_list(name: str, values: object, check: Callable[..., None], *args: Any) -> None:
    """A non-empty list of distinct values, each passing ``check(name[i], value, *args)``."""
    if not isinstance(values, list) or not values:
        raise ConfigError(f"{name}: must be a non-empty list, got {values!r}")
    for i, value in enumerate(values):
        check(f"{name}[{i}]", value, *args)
    if len(set(values)) != len(values):
        raise ConfigError(f"{name}: values must be distinct, got {values!r}")
