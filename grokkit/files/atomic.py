"""Atomic file writes: write a hidden temporary beside the target, fsync, rename over it.

A reader (or a resumed run after a kill) sees the old file or the new one, never a
half-written one. Disk-full and permission errors surface as one-line ``RunError``s
naming the file, and the temporary is removed.

Nothing here writes through a symbolic link: a link planted under a temporary's name is
removed (the link, not what it points to) and the temporary created exclusively, and an
appended log that is a link is refused (``O_NOFOLLOW``). Replacing a file renames over the
name, so a link at the target itself is replaced, never followed.
"""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path
from typing import IO, Any, Callable, NoReturn

from grokkit.errors import RunError


def fsync_path(path: Path) -> None:
    """Flush a file (or a directory entry) to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def temporary_name(path: Path) -> Path:
    """The hidden temporary a write of ``path`` goes through (pid-tagged: writers never share one)."""
    return path.with_name(f".{path.name}.tmp-{os.getpid()}")


def os_error_message(path: Path, exc: OSError) -> str:
    """One line for a failed write: disk full and permission get plain words."""
    if exc.errno == errno.ENOSPC:
        return f"{path}: no space left on the device; nothing was replaced"
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return f"{path}: cannot write here ({exc.strerror})"
    return f"{path}: cannot write ({exc.strerror or exc})"


def refuse_link(path: Path, exc: OSError) -> NoReturn:
    """Turn the ``ELOOP`` of an ``O_NOFOLLOW`` open into a one-line refusal; re-raise anything else."""
    if exc.errno == errno.ELOOP:
        raise RunError(f"{path}: is a symbolic link; grokkit never writes through a link in a run folder") from None
    raise exc


def open_for_append(path: Path) -> IO[str]:
    """``path`` opened to append text (created if absent), never through a symbolic link."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o666)
    except OSError as exc:
        refuse_link(path, exc)
    return os.fdopen(fd, "a", encoding="utf-8")


def clear_temporary(tmp: Path) -> None:
    """Remove a leftover file or link under a temporary's name (a link itself, never its target)."""
    if os.path.lexists(tmp) and (tmp.is_symlink() or not tmp.is_dir()):
        tmp.unlink()


def write_atomic(path: Path, write: Callable[[Path], None]) -> None:
    """Call ``write(tmp)`` on a temporary beside ``path``, fsync it, and rename it over ``path``."""
    path = Path(path)
    tmp = temporary_name(path)
    try:
        clear_temporary(tmp)
        write(tmp)
        fsync_path(tmp)
        os.replace(tmp, path)
    except OSError as exc:
        _drop(tmp)
        raise RunError(os_error_message(path, exc)) from None
    except BaseException:
        _drop(tmp)
        raise


def _drop(tmp: Path) -> None:
    """Remove our failed temporary (a folder found under its name is not ours: left alone)."""
    try:
        clear_temporary(tmp)
    except OSError:
        pass


def write_new_text(path: Path, text: str) -> None:
    """Write a file that must not exist yet (``O_EXCL``: never an existing file or a link's target)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o666)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)


def write_text_atomic(path: Path, text: str) -> None:
    write_atomic(path, lambda tmp: write_new_text(tmp, text))


def write_json_atomic(path: Path, data: Any) -> None:
    """JSON (sorted keys, indented, finite numbers only) written atomically."""
    write_text_atomic(path, json.dumps(data, indent=2, sort_keys=True, allow_nan=False) + "\n")


def follow_umask(path: Path) -> None:
    """Give ``path`` the mode the umask gives any new file.

    safetensors writes its files 0600 whatever the umask, so a run shared on a cluster
    folder would be unreadable to the group; JSON and logs follow the umask.
    """
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, 0o666 & ~umask)


def save_tensors(path: Path, tensors: dict, metadata: dict[str, str] | None = None) -> None:
    """``safetensors.torch.save_file`` (not atomic by itself: callers write into a temporary)."""
    from safetensors.torch import save_file

    try:
        save_file(tensors, str(path), metadata=metadata)
    except OSError as exc:
        raise RunError(os_error_message(Path(path), exc)) from None
    except Exception as exc:  # SafetensorError wraps the OS error ("No space left on device")
        if "No space left" in str(exc):
            raise RunError(os_error_message(Path(path), OSError(errno.ENOSPC, "No space left on device"))) from None
        raise
    follow_umask(path)
