"""A run directory, and Python access to everything in it.

Its files are read and written by ``grokkit.files.run_folder`` (the layout is there);
``Run`` adds the parsed config, the dataset and TransformerLens models.

>>> run = grokkit.load_run("runs/quick")
>>> model = run.load_model()            # TransformerLens bridge at the last checkpoint
>>> logits, cache = model.run_with_cache(run.dataset.tokens)
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Any

import torch

from grokkit.data.dataset import AlgorithmicDataset
from grokkit.errors import CheckpointError, GrokkitError, RunError
from grokkit.spec import RunConfig, config_from_dict
from grokkit.files.checkpoint import Checkpoint, load_checkpoint
from grokkit.files.run_folder import METRIC_KEYS, RunFolder, RunStatus, extensions_of  # noqa: F401 (METRIC_KEYS: read here by older callers)


class Run:
    """An existing run directory (its files: ``grokkit.files.run_folder``)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.folder = RunFolder(self.path)
        record = self.folder.read_config_record()
        self.config: RunConfig = config_from_dict(record["config"], source=str(self.folder.config_path))
        from grokkit.limits import check_readable

        check_readable(self.config, str(self.folder.config_path))  # its sizes, before any grid or weights are built
        self.folder.max_entries = max_entries(self.config)  # the longest list a row of this run's logs can hold
        # changes made by `grokkit resume --steps` (grokkit.extend): from_step, changed, previous config
        self.extended: list[dict[str, Any]] = extensions_of(record)

    @classmethod
    def create(cls, path: str | Path, config: RunConfig) -> "Run":
        """Start a new run at ``path``; an existing run there must have the same config."""
        from grokkit.limits import check_resources

        check_resources(config)  # device and memory, before anything is written
        path = Path(path)
        if RunFolder(path).has_config():
            existing = cls(path)
            if existing.config.to_dict() != config.to_dict():
                raise RunError(
                    f"--out {path}: already holds a different run; choose another directory "
                    f"or continue that one with `grokkit resume {path}`"
                )
            return existing
        if path.exists() and (not path.is_dir() or any(path.iterdir())):
            raise RunError(f"--out {path}: exists and is not an empty directory or a grokkit run")
        path.mkdir(parents=True, exist_ok=True)
        RunFolder(path).write_config(config.to_dict())
        return cls(path)

    # --- checkpoints -------------------------------------------------------
    @property
    def checkpoint_root(self) -> Path:
        return self.folder.checkpoint_root

    def checkpoint_steps(self) -> list[int]:
        """Steps of every checkpoint folder, ascending."""
        return self.folder.checkpoint_steps()

    def checkpoint(self, step: int | None = None, with_state: bool = False) -> Checkpoint:
        """The verified checkpoint at ``step`` (default: the latest)."""
        found = self.folder.checkpoint_folders()
        if not found:
            raise RunError(f"{self.path}: has no checkpoints yet")
        if step is None:
            step = max(found)
        if step not in found:
            raise RunError(f"{self.path}: no checkpoint at step {step}; have {sorted(found)[:5]}…{sorted(found)[-1]}")
        ckpt = load_checkpoint(found[step], with_state=with_state)
        self._check_config(ckpt)
        return ckpt

    def _check_config(self, ckpt: Checkpoint) -> None:
        """The checkpoint's copy of the config must be this run's config.json (an edit of either is refused)."""
        stored = ckpt.meta.get("config")
        if stored is None:
            if ckpt.meta.get("version", 1) >= 2:  # format 2 always records it: its absence is an edit
                raise CheckpointError(f"checkpoint {ckpt.path}: its meta.json records no config (edited?)")
            return
        # the run's config, or one it had before an extension that came after this checkpoint
        allowed = [self.config.to_dict(), *(e.get("previous") for e in self.extended
                                            if isinstance(e.get("from_step"), int) and ckpt.step <= e["from_step"])]
        same = stored in allowed  # the usual case; a checkpoint from an older grokkit lacks newer fields:
        if not same:              # parse it, so they take their defaults, and compare again
            try:
                same = config_from_dict(stored, source=str(ckpt.path)).to_dict() in allowed
            except GrokkitError:
                same = False
        if not same:
            raise CheckpointError(f"{self.folder.config_path}: does not match the config checkpoint {ckpt.path.name} "
                                  "was trained with (edited?); refusing to mix them")

    def load_model(self, step: int | None = None, device: str | torch.device = "cpu") -> Any:
        """A TransformerLens bridge holding the weights of the checkpoint at ``step``."""
        from grokkit.model.build import build_model

        ckpt = self.checkpoint(step)
        model = build_model(self.config.model, self.config.task, device=device)
        try:
            model.load_state_dict({k: v.to(device) for k, v in ckpt.model.items()}, strict=True)
        except RuntimeError as exc:
            raise CheckpointError(f"checkpoint {ckpt.path}: weights do not fit this run's model ({exc})") from None
        return model

    # --- data and logs -----------------------------------------------------
    @cached_property
    def dataset(self) -> AlgorithmicDataset:
        """The run's full input grid, labels and train/test split."""
        return AlgorithmicDataset(self.config.task)

    def metrics(self) -> list[dict[str, Any]]:
        """Every evaluation's row (a torn last line from a hard kill is skipped)."""
        return self.folder.metrics()

    def measures(self) -> list[dict[str, Any]]:
        """The progress-measures table, one row per measured step (empty before any measure)."""
        return self.folder.measures()

    def imported_curves(self) -> list[dict[str, Any]]:
        """An imported run's own loss records (``imported_losses.jsonl``: ``step``, ``train_loss``,
        ``test_loss``, as its source logged them); [] for a run grokkit trained."""
        return self.folder.imported_curves()

    def status(self) -> RunStatus | None:
        """How training ended (finished, stopped early, diverged, imported); None while it has not."""
        return self.folder.status()


def max_entries(config: RunConfig) -> int:
    """The most entries a list or table in one of the run's log rows can have: per head, per neuron,
    per symbol or frequency, per parameter (with room to spare)."""
    m = config.model
    return 4 * max(64, m.n_heads * m.n_layers, m.d_mlp, config.task.d_vocab)


def load_run(path: str | Path) -> Run:
    """Open a run directory for analysis."""
    return Run(path)
