"""User-facing errors: each one is printed by the CLI as a single line."""


class GrokkitError(Exception):
    """Base class for errors caused by the user's input, not by a bug."""


class ConfigError(GrokkitError, ValueError):
    """A configuration value is out of range, unknown, or inconsistent."""


class SpecError(GrokkitError):
    """A task spec file is missing, malformed, or names an unknown key."""


class RunError(GrokkitError):
    """A run directory is missing, foreign, or clashes with another run."""


class CheckpointError(RunError):
    """A checkpoint is truncated, tampered with, or not a grokkit checkpoint."""
