"""One writer per run directory: an OS-level lock held for the whole command.

``fcntl.flock`` on ``RUN/.lock``: the kernel releases it when the holder exits, however
it exits (kill -9 included), so a lock file left by a killed process is stale by
construction and the next writer simply takes it. The holder's pid is written into
the file only to name it in the refusal.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from grokkit.errors import RunError
from grokkit.files.layout import LOCK_FILE


class RunLock:
    """An exclusive, non-blocking lock on one directory."""

    def __init__(self, directory: str | Path):
        self.path = Path(directory) / LOCK_FILE
        self._fd: int | None = None

    def acquire(self) -> "RunLock":
        import fcntl

        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode("ascii", "replace").strip() or "unknown"
            os.close(fd)
            raise RunError(f"{self.path.parent}: another grokkit process (pid {holder}) is writing this run; "
                           "wait for it to finish") from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            import fcntl

            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


@contextmanager
def locked(*directories: str | Path) -> Iterator[None]:
    """Hold the lock of every directory for the ``with`` block (all or none)."""
    held: list[RunLock] = []
    try:
        for directory in directories:
            held.append(RunLock(directory).acquire())
        yield
    finally:
        for lock in reversed(held):
            lock.release()
