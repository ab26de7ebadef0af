"""Write an imported ``Source`` as an ordinary run directory (through ``grokkit.files.run_folder``).

- checkpoints: the weights (safetensors), no optimiser state (the file's, if any, belongs
  to another optimiser implementation and is not imported); ``meta.json`` records the
  source file, its SHA-256 and format under ``imported``;
- metrics rows: one per checkpoint with train/test loss and accuracy computed from the
  imported weights on this run's split (float64 loss, as the engine logs it);
- imported curves: the file's own loss curves, ``{step, train_loss?, test_loss?}`` at the
  steps the file logged them. They are kept apart because metrics rows carry accuracies
  too, and the file records none at those steps;
- status: finished, and imported from its source (there is no optimiser state to resume).
"""

from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path
from typing import Any

import torch

from grokkit.errors import RunError
from grokkit.files.lock import locked
from grokkit.files.run_folder import RunFolder, RunStatus
from grokkit.files.temporary import clear, remove_stale, sigterm_exits
from grokkit.importer.formats import Source
from grokkit.importer.load import ImportFileError, LoadedFile
from grokkit.measures.milestones import milestones
from grokkit.model.build import build_model
from grokkit.model.loss import loss_and_acc
from grokkit.run import Run
from grokkit.spec import RunConfig



def evaluate(model: Any, run: Run) -> dict[str, float]:
    """Train/test loss (float64) and accuracy of ``model`` on the run's split, from the TransformerLens forward."""
    data = run.dataset
    with torch.no_grad():
        logits = model(data.tokens)[:, -1]  # [N, d_vocab_out]: only the '=' position is scored
    out = {}
    for name, rows in (("train", data.split.train), ("test", data.split.test)):
        loss, acc = loss_and_acc(logits[rows], data.labels[rows])
        out[f"{name}_loss"], out[f"{name}_acc"] = loss.item(), acc.item()
    return out


def curve_rows(source: Source) -> list[dict[str, Any]]:
    by_step: dict[int, dict[str, Any]] = {}
    for key, curve in (("train_loss", source.train_curve), ("test_loss", source.test_curve)):
        for step, value in curve:
            by_step.setdefault(step, {"step": step})[key] = value
    return [by_step[step] for step in sorted(by_step)]


def write_run(source: Source, config: RunConfig, out: str | Path, loaded: LoadedFile) -> Run:
    """Create the run at ``out`` (which must be new or empty) and fill it from ``source``.

    The run is assembled in a hidden folder beside ``out`` and renamed into place when complete,
    so a failed or terminated import leaves nothing behind (``grokkit.files.temporary``). An ``out``
    that exists (empty) is written under its lock, re-checked empty once the lock is held: an import
    racing another writer there (a second import, a ``train --out``) is refused in one line.
    """
    out = Path(os.path.abspath(out))  # `--out .` or `x/..` too: the hidden folder is named after the folder itself
    if out.is_symlink():
        raise ImportFileError(f"--out {out}: is a symbolic link; import into a new directory")
    if out.exists() and (not out.is_dir() or not RunFolder(out).is_empty()):
        raise ImportFileError(f"--out {out}: exists and is not empty; import into a new directory")
    out.parent.mkdir(parents=True, exist_ok=True)
    prefix = f".{out.name}.import-"
    remove_stale(out.parent, prefix)  # left by an import killed outright (SIGKILL): its writer is dead
    tmp = out.with_name(f"{prefix}{os.getpid()}")
    clear(tmp)
    with sigterm_exits():  # `kill PID` removes the hidden folder too
        try:
            fill(Run.create(tmp, config), source, loaded)
            _place(tmp, out)
        except BaseException:
            if not tmp.is_symlink():
                shutil.rmtree(tmp, ignore_errors=True)
            raise
    return Run(out)


def _place(tmp: Path, out: Path) -> None:
    """Move the assembled run ``tmp`` to ``out``: one rename when ``out`` does not exist (it fails, atomically,
    when another process filled it meanwhile), else into the empty folder under its lock."""
    if not out.exists():
        try:
            os.rename(tmp, out)
            return
        except OSError as exc:
            if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST):
                raise
    with locked(out):
        try:
            RunFolder(out).adopt(tmp)
        except RunError:
            raise ImportFileError(f"--out {out}: another process wrote there meanwhile; nothing was imported") from None
    shutil.rmtree(tmp, ignore_errors=True)  # only its lock file is left in it


def fill(run: Run, source: Source, loaded: LoadedFile) -> None:
    """Checkpoints, metrics rows, imported curves and status of a new run."""
    config = run.config
    imported = {"source": str(loaded.path), "sha256": loaded.sha256, "format": source.format,
                "layout": source.layout, "notes": source.notes}
    model = build_model(config.model, config.task)
    rows = []
    for step, state in source.checkpoints:
        try:
            model.load_state_dict(state, strict=True)
        except RuntimeError as exc:
            raise ImportFileError(f"{loaded.path}: checkpoint at step {step} does not fit the model ({exc})") from None
        row = {"step": step, **evaluate(model, run)}
        rows.append(row)
        run.folder.save_checkpoint(step, state, state={},
                                   meta={"config": config.to_dict(), "metrics": row, "imported": imported})
    run.folder.write_metrics(rows)
    if source.train_curve or source.test_curve:
        run.folder.write_imported_curves(curve_rows(source))
    grok_step = milestones(rows).grokked_step
    run.folder.write_status(RunStatus.ended(rows[-1]["step"], False, grok_step, source=imported))
