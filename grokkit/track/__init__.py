"""Optional experiment tracking: W&B and TensorBoard as training-engine callbacks.

``make_trackers(config, cli_choice)`` returns one callback per chosen backend (the
spec's ``[log] backends``, or ``--log`` when given). Each backend's package is imported
only when chosen; a missing one is a one-line error naming the extra to install, and W&B
online without credentials is a one-line error naming ``WANDB_MODE=offline``. Commands call
``make_trackers`` once before creating a run folder, so either is refused before anything is written.
"""

from __future__ import annotations

import importlib.util
from dataclasses import replace
from typing import Any, Iterable

from grokkit.errors import ConfigError
from grokkit.track.config import BACKENDS, LogConfig

# Only the config is imported with the package: grokkit.spec needs LogConfig, and the
# trackers (grokkit.track.base) sit above the training engine, which imports grokkit.spec.
__all__ = ["make_trackers", "send_offline_measures"]

PACKAGES = {"wandb": "wandb", "tensorboard": "tensorboard"}  # backend → the package it needs


def make_trackers(config: Any, cli_choice: str | Iterable[str] | None = None) -> list[Any]:
    """Tracker callbacks for a run's ``[log]`` section (``config`` is a RunConfig or a LogConfig);
    ``cli_choice`` (``--log wandb`` / ``"wandb,tensorboard"`` / a list) replaces its backends."""
    log: LogConfig = config if isinstance(config, LogConfig) else config.log
    if cli_choice is not None:
        names = cli_choice.split(",") if isinstance(cli_choice, str) else list(cli_choice)
        log = replace(log, backends=[name.strip() for name in names if name.strip()])  # validated again
    trackers = []
    for backend in log.backends:
        if importlib.util.find_spec(PACKAGES[backend]) is None:
            raise ConfigError(f"log.backends: {backend!r} needs the {PACKAGES[backend]} package; "
                              f"pip install 'grokkit[{backend}]'")
        if backend == "wandb":
            from grokkit.track.wandb import WandbTracker, check_login

            check_login(log)
            trackers.append(WandbTracker(log))
        else:
            from grokkit.track.tensorboard import TensorBoardTracker

            trackers.append(TensorBoardTracker(log))
    return trackers


def send_offline_measures(run: Any, cli_choice: str | Iterable[str] | None = None) -> list[str]:
    """Send ``run``'s measures table to each tracker of its ``[log]`` (or ``cli_choice``) after training
    (``grokkit run``'s offline measures: live trackers only saw what existed while training). Returns
    the backends that received rows."""
    sent = []
    for tracker in make_trackers(run.config, cli_choice):
        if tracker.send_offline_measures(run):
            sent.append(tracker.name)
    return sent
