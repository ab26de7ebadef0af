"""A run folder a writer uses holds no symbolic links where grokkit's own files go.

A link named as one of the run's files (its metrics log, ``checkpoints`` or
``checkpoints/step_0000020``) in a shared folder would make grokkit append to, write into or delete inside someone else's file or
folder. Every writer checks the run folder once, when it takes the run's lock, and refuses
such a link in one line naming it; nothing is followed, removed or replaced. Links under
names grokkit does not use are left alone. A toy sweep's folder is checked the same way
(``grokkit.toy.folder``).
"""

from __future__ import annotations

from pathlib import Path

from grokkit.errors import RunError
from grokkit.files.layout import CHECKPOINTS_DIR, CONFIG_FILE, MEASURES_FILE, METRICS_FILE, STATUS_FILE

# the run's files, and the folders its trackers write in when log.dir is unset (grokkit.track)
RUN_FILES = (CONFIG_FILE, METRICS_FILE, MEASURES_FILE, STATUS_FILE, CHECKPOINTS_DIR, "wandb", "tensorboard")
CHECKPOINT_NAMES = ("step_", ".tmp-step_", ".old-step_")  # grokkit.files.checkpoint's folders and temporaries


def linked_run_files(directory: Path, names: tuple[str, ...] = RUN_FILES) -> list[Path]:
    """``names`` in ``directory`` (and grokkit's folders in its checkpoints folder) that are symbolic links."""
    directory = Path(directory)
    found = [directory / name for name in names if (directory / name).is_symlink()]
    checkpoints = directory / CHECKPOINTS_DIR
    if CHECKPOINTS_DIR in names and checkpoints.is_dir() and not checkpoints.is_symlink():
        found += sorted(entry for entry in checkpoints.iterdir()
                        if entry.name.startswith(CHECKPOINT_NAMES) and entry.is_symlink())
    return found


def refuse_links(directory: Path, names: tuple[str, ...] = RUN_FILES) -> None:
    """Raise a one-line RunError naming the first of grokkit's files in ``directory`` that is a link."""
    found = linked_run_files(directory, names)
    if found:
        more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
        raise RunError(f"{found[0]}: is a symbolic link{more}; grokkit never writes, replaces or deletes through a "
                       "link in a run folder: put the real file or folder there (e.g. cp -rL) or remove the link")
