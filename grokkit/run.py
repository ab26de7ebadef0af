"""A run directory, and Python access to everything in it.

Layout::

    RUN/config.json          the full RunConfig (format-tagged)
    RUN/metrics.jsonl        one JSON object per evaluation
    RUN/status.json          written when training ends (finished / stopped early)
    RUN/checkpoints/step_NNNNNNN/   see grokkit.files.checkpoint

>>> run = grokkit.load_run("runs/quick")
>>> model = run.load_model()            # TransformerLens bridge at the last checkpoint
>>> logits, cache = model.run_with_cache(run.dataset.tokens)
"""

from __future__ import annotations

import json
from functools import cached_property
from pathlib import Path
from typing import Any

import torch

from grokkit.data.dataset import AlgorithmicDataset
from grokkit.errors import CheckpointError, GrokkitError, RunError
from grokkit.spec import RunConfig, config_from_dict
from grokkit.files.checkpoint import Checkpoint, list_checkpoints, load_checkpoint
from grokkit.files.jsonl import loads, read_rows
from grokkit.files.layout import CHECKPOINTS_DIR, CONFIG_FILE, METRICS_FILE, RUN_FORMAT, RUN_VERSION, STATUS_FILE
from grokkit.files.tagged import read_tagged, write_tagged

METRIC_KEYS = ("step", "train_loss", "test_loss", "train_acc", "test_acc")


class Run:
    """An existing run directory (see the module docstring for its layout)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        config_path = self.path / CONFIG_FILE
        if not config_path.is_file():
            raise RunError(f"{self.path}: not a grokkit run (no {CONFIG_FILE})")
        data = read_tagged(config_path, RUN_FORMAT, (RUN_VERSION,), what="grokkit run", keys=("config",))
        if not isinstance(data["config"], dict):
            raise RunError(f"{config_path}: its config is not a table of sections")
        self.config: RunConfig = config_from_dict(data["config"], source=str(config_path))
        from grokkit.limits import check_readable

        check_readable(self.config, str(config_path))  # its sizes, before any grid or weights are built
        # changes made by `grokkit resume --steps` (grokkit.extend): from_step, changed, previous config
        extended = data.get("extended")
        self.extended: list[dict[str, Any]] = [e for e in extended if isinstance(e, dict)] \
            if isinstance(extended, list) else []

    @classmethod
    def create(cls, path: str | Path, config: RunConfig) -> "Run":
        """Start a new run at ``path``; an existing run there must have the same config."""
        from grokkit.limits import check_resources

        check_resources(config)  # device and memory, before anything is written
        path = Path(path)
        if (path / CONFIG_FILE).exists():
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
        write_tagged(path / CONFIG_FILE, RUN_FORMAT, RUN_VERSION, {"config": config.to_dict()})
        return cls(path)

    # --- checkpoints -------------------------------------------------------
    @property
    def checkpoint_root(self) -> Path:
        return self.path / CHECKPOINTS_DIR

    def checkpoint_steps(self) -> list[int]:
        """Steps of every checkpoint folder, ascending."""
        return [step for step, _ in list_checkpoints(self.checkpoint_root)]

    def checkpoint(self, step: int | None = None, with_state: bool = False) -> Checkpoint:
        """The verified checkpoint at ``step`` (default: the latest)."""
        found = dict(list_checkpoints(self.checkpoint_root))
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
            raise CheckpointError(f"{self.path / CONFIG_FILE}: does not match the config checkpoint {ckpt.path.name} "
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
        """Every row of metrics.jsonl (a torn last line from a hard kill is skipped)."""
        return read_rows(self.path / METRICS_FILE, METRIC_KEYS)

    def status(self) -> dict[str, Any] | None:
        """status.json (written when training ends or diverges), None while none is written."""
        path = self.path / STATUS_FILE
        if not path.is_file():
            return None
        try:
            status = loads(path.read_bytes().decode("utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise RunError(f"{path}: not valid JSON (truncated or edited)") from None
        if not isinstance(status, dict):
            raise RunError(f"{path}: not a grokkit status record")
        return status


def load_run(path: str | Path) -> Run:
    """Open a run directory for analysis."""
    return Run(path)
