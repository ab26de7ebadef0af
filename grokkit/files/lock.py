"""One writer per run directory: an OS-level lock held for the whole command.

``fcntl.flock`` on ``RUN/.lock``: the kernel releases it when the holder exits, however
it exits (kill -9 included), so a lock file left by a killed process is stale by
construction and the next writer simply takes it. The holder's pid is written into
the file only to name it in the refusal.

The file is opened without following a link (``O_NOFOLLOW``) and must be a regular file
owned by this user: a ``.lock`` planted as a link to someone's file, or a folder, is refused
in one line, never truncated or written through (a dangling link never creates its target).
Once the lock is held, the run's own files are checked for links too (``grokkit.files.links``),
so no writer follows one.

**One rule for writers**: nothing writes or deletes inside a run folder without holding its lock
(``locked``), and a writer re-reads what it decides on (config, status, checkpoints) after taking it
(``grokkit.run.Run.locked``, ``Run.check_unchanged``). The lock file is deleted only as the last
act of removing a whole run folder (``RunFolder.remove``): a writer that deleted it and went on
writing would let the next one lock a new file beside it.
"""

from __future__ import annotations

import errno
import os
import stat
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from grokkit.errors import RunError
from grokkit.files.layout import LOCK_FILE
from grokkit.files.links import refuse_links


class RunLock:
    """An exclusive, non-blocking lock on one directory."""

    def __init__(self, directory: str | Path):
        self.path = Path(directory) / LOCK_FILE
        self._fd: int | None = None

    def acquire(self) -> "RunLock":
        import fcntl

        fd = self._open()
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
        try:
            refuse_links(self.path.parent)
        except BaseException:
            self.release()
            raise
        return self

    def _open(self) -> int:
        """The lock file, created if absent; refused when it is a link, not a regular file, or someone else's."""
        flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
        try:
            fd = os.open(self.path, flags, 0o666)
        except FileNotFoundError:
            raise RunError(f"{self.path.parent}: no longer exists (another process removed it); nothing was "
                           "written") from None
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise RunError(f"{self.path}: is a symbolic link; grokkit never writes through a link in a run "
                               "folder: remove it (the run is not locked by anyone)") from None
            if exc.errno == errno.EISDIR:
                raise RunError(f"{self.path}: not a regular file (a folder); remove it to run here") from None
            raise
        info = os.fstat(fd)
        problem = ("not a regular file" if not stat.S_ISREG(info.st_mode)
                   else "owned by another user" if info.st_uid != os.geteuid() else None)
        if problem is not None:
            os.close(fd)
            raise RunError(f"{self.path}: {problem}; grokkit writes only its own lock file: remove it to run here")
        return fd

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
