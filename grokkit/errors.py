"""User-facing errors: each one is printed by the CLI as a single, bounded line.

A message echoes what the user gave (``task.op: unknown operation 'xyz'``), and a file can
give anything: a 10 MB string, a list of a million numbers. Every ``GrokkitError`` is
shortened here, once, so no caller needs to: a long run of characters keeps its start and
end, and a message that is still long keeps its head (the field) and its tail (what is
allowed), each cut saying how many characters it removed.
"""

from __future__ import annotations

import re

MAX_MESSAGE = 1_000  # characters of an error message
MAX_WORD = 160  # characters of one unbroken value inside it


def _cut(text: str, head: int, tail: int) -> str:
    return f"{text[:head]}…[{len(text) - head - tail} characters]…{text[len(text) - tail:]}"


def bounded(message: str, limit: int = MAX_MESSAGE, word: int = MAX_WORD) -> str:
    """``message`` with every unbroken run over ``word`` characters shortened, then the whole within ``limit``."""
    if len(message) <= word:
        return message
    message = re.sub(rf"\S{{{word + 1},}}", lambda m: _cut(m.group(0), word // 2, word // 4), message)
    if len(message) > limit:
        message = _cut(message, limit * 3 // 5, limit // 4)
    return message


class GrokkitError(Exception):
    """Base class for errors caused by the user's input, not by a bug (its message is ``bounded``)."""

    def __init__(self, *args: object) -> None:
        if len(args) == 1 and isinstance(args[0], str):
            args = (bounded(args[0]),)
        super().__init__(*args)

    def _render_traceback_(self) -> list[str]:
        """In IPython and Jupyter: the one line the CLI prints (the field and what is allowed), not a traceback
        through grokkit's internals; a bug (any other exception) keeps its traceback."""
        return [f"{type(self).__name__}: {' '.join(str(self).split())}"]


class ConfigError(GrokkitError, ValueError):
    """A configuration value is out of range, unknown, or inconsistent."""


class SpecError(GrokkitError):
    """A task spec file is missing, malformed, or names an unknown key."""


class RunError(GrokkitError):
    """A run directory is missing, foreign, or clashes with another run."""


class CheckpointError(RunError):
    """A checkpoint is truncated, tampered with, or not a grokkit checkpoint."""
