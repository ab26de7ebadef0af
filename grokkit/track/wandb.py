"""Weights & Biases logging: one W&B run per grokkit run.

Each grokkit run becomes a W&B run named after its directory, with the full RunConfig
as its config and an id derived from the run's path, so a resumed run continues the
same W&B run. Scalars carry the run's ``step`` as their x axis (``define_metric``),
which keeps measures (logged per checkpoint) and metrics (per evaluation) aligned.
Needs the ``wandb`` package (``pip install 'grokkit[wandb]'``); ``log.wandb_mode =
"offline"`` writes locally for a later ``wandb sync``.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

from grokkit.errors import ConfigError
from grokkit.files.run_folder import RunStatus
from grokkit.track.base import Tracker


def run_id(path: Path) -> str:
    """A stable W&B run id for a run directory (resume continues the same W&B run)."""
    return "grokkit-" + hashlib.sha256(str(Path(path).resolve()).encode()).hexdigest()[:16]


OFFLINE_MODES = ("offline", "dryrun", "disabled")  # WANDB_MODE values that need no account


def check_login(log: Any) -> None:
    """Refuse (ConfigError), before any run folder exists, to log online without W&B credentials.

    Offline (``log.wandb_mode``, else ``WANDB_MODE``) needs none. Otherwise W&B's own lookup
    (``WANDB_API_KEY``, ``~/.netrc``, ``wandb login``) is asked through ``wandb.login`` without
    contacting the server; it prompts only on a terminal, and without one it raises the
    UsageError that ``wandb.init`` would raise mid-training."""
    mode = log.wandb_mode or os.environ.get("WANDB_MODE", "").strip().lower() or "online"
    if mode in OFFLINE_MODES or os.environ.get("WANDB_API_KEY"):
        return
    import wandb

    try:
        wandb.login(verify=False)
    except Exception as exc:  # wandb.errors.UsageError: no key and no terminal to ask on
        if type(exc).__name__ != "UsageError":
            raise
        raise ConfigError("log.backends: wandb has no API key (no WANDB_API_KEY, ~/.netrc or `wandb login`); "
                          "log in, or log offline with WANDB_MODE=offline (or [log] wandb_mode = \"offline\") "
                          "and upload later with `wandb sync`") from None


class WandbTracker(Tracker):
    """Metrics and measures as W&B history, and the final status in the run's summary."""

    name = "wandb"

    def open(self, run: Any, folder: Path, start_step: int) -> Any:
        import wandb

        handle = wandb.init(project=self.log.project, name=Path(run.path).name, dir=str(folder),
                            id=run_id(run.path), resume="allow", reinit="create_new",
                            mode=self.log.wandb_mode, config=run.config.to_dict())
        handle.define_metric("step")
        handle.define_metric("*", step_metric="step")
        return handle

    def write(self, handle: Any, step: int, values: dict[str, float]) -> None:
        handle.log({"step": step, **values})

    def close(self, handle: Any, status: RunStatus | None) -> None:
        record = {"finished": False} if status is None else status.to_dict()  # the keys status.json holds
        for key in ("finished", "final_step", "grok_step", "stopped_early", "diverged"):
            if record.get(key) is not None:
                handle.summary[key] = record[key]
        handle.finish(exit_code=0 if status is not None and status.finished else 1)
