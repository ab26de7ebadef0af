"""The ``[log]`` spec section: which experiment trackers a run also logs to."""

from __future__ import annotations

from dataclasses import dataclass, field

from grokkit.errors import ConfigError

BACKENDS = ("wandb", "tensorboard")
WANDB_MODES = ("online", "offline")


@dataclass
class LogConfig:
    """Experiment tracking beside the run directory (which always holds every metric and measure)."""

    backends: list[str] = field(default_factory=list)
    """Trackers to log to: any of wandb, tensorboard (empty: none). ``--log`` on the command line replaces it."""
    project: str = "grokkit"
    """W&B project the runs go to."""
    dir: str | None = None
    """Folder the trackers write under, one subfolder per run; None: inside each run directory."""
    wandb_mode: str | None = None
    """online (sync while training), offline (write locally; upload later with ``wandb sync``), or
    None: W&B's own setting (``WANDB_MODE``, ``wandb offline``; online when unset)."""

    def __post_init__(self) -> None:
        if not isinstance(self.backends, list) or any(b not in BACKENDS for b in self.backends):
            raise ConfigError(f"log.backends: must be a list drawn from {', '.join(BACKENDS)}, got {self.backends!r}")
        if len(set(self.backends)) != len(self.backends):
            raise ConfigError(f"log.backends: names a tracker twice: {self.backends!r}")
        if not isinstance(self.project, str) or not self.project:
            raise ConfigError(f"log.project: must be a non-empty string, got {self.project!r}")
        if self.dir is not None and (not isinstance(self.dir, str) or not self.dir):
            raise ConfigError(f"log.dir: must be a folder path, got {self.dir!r}")
        if self.wandb_mode is not None and self.wandb_mode not in WANDB_MODES:
            raise ConfigError(f"log.wandb_mode: must be one of {', '.join(WANDB_MODES)}, got {self.wandb_mode!r}")
