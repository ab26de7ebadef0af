"""The names of a run directory's files (see ``grokkit.run`` for what each holds)."""

RUN_FORMAT = "grokkit-run"
RUN_VERSION = 1
CONFIG_FILE = "config.json"
METRICS_FILE = "metrics.jsonl"
MEASURES_FILE = "measures.jsonl"
STATUS_FILE = "status.json"
CHECKPOINTS_DIR = "checkpoints"
LOCK_FILE = ".lock"
