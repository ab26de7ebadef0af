"""Hidden work folders tagged with their writer's pid (``.NAME.import-PID``).

A command that assembles something in such a folder and renames it into place removes it
when it fails, and, with ``sigterm_exits``, when it is sent SIGTERM (``kill PID``, a job
scheduler's time limit): the signal then raises ``SystemExit(143)`` so the command's own
clean-up runs. A folder left by SIGKILL or a power cut is removed by the next run of the
command (``remove_stale``), but only when its name is exactly the pattern, it is a real
folder (not a link) and its pid is no running process: a live writer's folder, or anything
else beside it, is never touched.
"""

from __future__ import annotations

import os
import shutil
import signal
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


def pid_alive(pid: int) -> bool:
    """Whether a process with this pid exists (someone else's counts: it may be writing)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except (OverflowError, ValueError):
        return False
    return True


def remove_stale(folder: Path, prefix: str) -> list[Path]:
    """Remove the folders ``folder/PREFIX<pid>`` whose writer is dead; returns those removed."""
    removed = []
    if not folder.is_dir():
        return removed
    for entry in folder.iterdir():
        digits = entry.name[len(prefix):]
        if (entry.name.startswith(prefix) and digits.isascii() and digits.isdigit() and not entry.is_symlink()
                and entry.is_dir() and not pid_alive(int(digits))):
            shutil.rmtree(entry, ignore_errors=True)
            if not os.path.lexists(entry):
                removed.append(entry)
    return removed


def clear(path: Path) -> None:
    """Remove whatever sits under our own temporary's name: a link itself (never its target), or our folder."""
    if path.is_symlink() or (os.path.lexists(path) and not path.is_dir()):
        path.unlink()
    elif path.exists():
        shutil.rmtree(path)


@contextmanager
def sigterm_exits() -> Iterator[None]:
    """Within the block, SIGTERM raises ``SystemExit(128 + SIGTERM)`` (so ``except``/``finally`` clean up);
    the previous handler is restored after. Signals reach only the main thread: elsewhere a no-op."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def exit_now(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, exit_now)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
