"""Ship a run folder between machines as bytes, so a Ray worker needs no shared file system.

The driver ``pack``s each run folder of a batch (config, metrics, checkpoints: every regular
file, links and dot-named temporaries left out) and sends the bytes through Ray's object
store; the worker ``unpack``s them into its own temporary folder, trains there, and ``pack``s
the result with the SHA-256 of every file. Back on the driver, ``land`` checks every hash
before it writes anything, takes the run's lock (a folder another process is writing, a
``resume`` say, refuses the landing in one line) and checks that the folder still holds what was
sent (else another process changed it meanwhile, and the worker's result would overwrite that:
refused, nothing written), then mirrors the worker's folder into the run folder:

- a checkpoint folder is written under a hidden name and renamed into place (the engine's
  own ``.tmp-step_…`` convention, so an interrupted landing is cleaned up like an
  interrupted checkpoint), an existing one of the same step only replaced once complete;
- other files are written atomically, ``status.json`` last (it marks the run done);
- files the driver sent that the worker no longer has (an optimiser state pruned by
  ``train.optimizer_state = "latest"``, say) are removed; nothing else is touched.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from grokkit.errors import RunError
from grokkit.files.atomic import write_atomic
from grokkit.files.digest import sha256_bytes
from grokkit.files.layout import CHECKPOINTS_DIR, STATUS_FILE
from grokkit.files.links import refuse_links
from grokkit.files.lock import locked


@dataclass
class Bundle:
    """The files of one run folder: relative POSIX path → bytes, and → SHA-256 (hex)."""

    files: dict[str, bytes]
    sha256: dict[str, str]


def pack(folder: Path) -> Bundle:
    """Every regular file under ``folder``, links and dot-named entries (locks, temporaries) left out."""
    files: dict[str, bytes] = {}
    for root, dirs, names in os.walk(folder):  # os.walk does not descend into linked folders
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and not os.path.islink(os.path.join(root, d)))
        for name in sorted(names):
            path = Path(root) / name
            if not name.startswith(".") and path.is_file() and not path.is_symlink():
                files[path.relative_to(folder).as_posix()] = path.read_bytes()
    return Bundle(files, {rel: sha256_bytes(data) for rel, data in files.items()})


def _safe(rel: str) -> PurePosixPath:
    """A shipped path must stay inside its run folder: relative, no '..', no dot-named part."""
    path = PurePosixPath(rel)
    if path.is_absolute() or not path.parts or any(p in ("", ".", "..") or p.startswith(".") for p in path.parts):
        raise RunError(f"ray: a worker sent the file name {rel!r}, which is not a plain path inside a run folder")
    return path


def unpack(folder: Path, bundle: Bundle) -> None:
    """Write ``bundle`` into ``folder`` (a fresh folder of the worker's own)."""
    for rel, data in bundle.files.items():
        path = folder / _safe(rel)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def _no_link_on_the_way(folder: Path, rel: PurePosixPath) -> None:
    """Never write through a link: each existing folder between ``folder`` and the file must be a real one."""
    here = folder
    for part in rel.parts[:-1]:
        here = here / part
        if here.is_symlink():
            raise RunError(f"{here}: is a symbolic link; grokkit does not write through links (remove it)")


def land(folder: Path, bundle: Bundle, sent: Bundle) -> None:
    """Mirror a worker's ``bundle`` into the driver's run ``folder``; ``sent`` is what the driver shipped out."""
    for rel, data in bundle.files.items():  # every hash before any write: a damaged transfer changes nothing
        _safe(rel)
        if sha256_bytes(data) != bundle.sha256.get(rel):
            raise RunError(f"ray: {folder.name}/{rel} arrived with another SHA-256 than the worker sent; "
                           "nothing of this run was written; run the sweep again")
    if folder.is_symlink():
        raise RunError(f"{folder}: is a symbolic link; grokkit does not write through links (remove it)")
    with locked(folder):  # one rule for writers: the lock, then what the landing decides on, re-read
        if pack(folder).sha256 != sent.sha256:
            raise RunError(f"{folder}: changed since the sweep shipped it to a worker (another process wrote "
                           "there); the worker's result was not landed: run the sweep again")
        _land_locked(folder, bundle, sent)


def _land_locked(folder: Path, bundle: Bundle, sent: Bundle) -> None:
    refuse_links(folder)  # none of grokkit's own names in the run folder may be a link
    checkpoints: dict[str, dict[str, bytes]] = {}  # step folder name → its files
    others: dict[str, bytes] = {}
    for rel, data in bundle.files.items():
        parts = PurePosixPath(rel).parts
        if len(parts) >= 3 and parts[0] == CHECKPOINTS_DIR:
            checkpoints.setdefault(parts[1], {})[str(PurePosixPath(*parts[2:]))] = data
        else:
            others[rel] = data
    for name, files in sorted(checkpoints.items()):
        _land_checkpoint(folder / CHECKPOINTS_DIR, name, files)
    for rel in sorted(others, key=lambda r: r == STATUS_FILE):  # status.json last: it says the run is done
        path = folder / rel
        _no_link_on_the_way(folder, PurePosixPath(rel))
        if path.is_file() and not path.is_symlink() and sha256_bytes(path.read_bytes()) == bundle.sha256[rel]:
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, lambda tmp, data=others[rel]: tmp.write_bytes(data))
    _remove_dropped(folder, bundle, sent)


def _land_checkpoint(root: Path, name: str, files: dict[str, bytes]) -> None:
    """One checkpoint folder, renamed into place complete (as ``grokkit.files.checkpoint`` writes one)."""
    final = root / name
    _no_link_on_the_way(root.parent, PurePosixPath(CHECKPOINTS_DIR, name, "x"))
    if final.is_symlink():
        raise RunError(f"{final}: is a symbolic link; grokkit does not write through links (remove it)")
    if final.is_dir() and not final.is_symlink() and all(
        (final / rel).is_file() and (final / rel).read_bytes() == data for rel, data in files.items()
    ) and len(pack(final).files) == len(files):
        return  # the checkpoint the worker resumed from, unchanged
    root.mkdir(parents=True, exist_ok=True)
    tmp, old = root / f".tmp-{name}-{os.getpid()}", root / f".old-{name}-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        for rel, data in files.items():
            (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
            (tmp / rel).write_bytes(data)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise RunError(f"{final}: cannot write ({exc.strerror or exc})") from None
    if final.exists():
        os.replace(final, old)  # never delete the good one before its replacement is in place
    os.replace(tmp, final)
    shutil.rmtree(old, ignore_errors=True)


def _remove_dropped(folder: Path, bundle: Bundle, sent: Bundle) -> None:
    """Remove what the driver sent and the worker deleted (only those files, and folders they leave empty)."""
    for rel in sorted(set(sent.files) - set(bundle.files)):
        path = folder / rel
        if path.is_file() and not path.is_symlink() and sha256_bytes(path.read_bytes()) == sent.sha256[rel]:
            path.unlink()
            for parent in PurePosixPath(rel).parents:
                if str(parent) == ".":
                    break
                try:
                    (folder / parent).rmdir()  # only when empty
                except OSError:
                    break
