"""The names of a run directory's files and the versions of its records, each defined once
(and those of a transformer sweep's and a toy sweep's folders).

``grokkit.files.run_folder`` is the one module that reads and writes a run's files
(``grokkit.files.sweep_folder`` a sweep's, ``grokkit.toy.folder`` a toy sweep's); every
other layer asks it.
"""

RUN_FORMAT = "grokkit-run"  # config.json's format tag
RUN_VERSION = 1
STATUS_FORMAT = "grokkit-status"  # status.json's format tag (files written before it carry none)
STATUS_VERSION = 1
CONFIG_FILE = "config.json"
METRICS_FILE = "metrics.jsonl"
MEASURES_FILE = "measures.jsonl"
STATUS_FILE = "status.json"
CURVES_FILE = "imported_losses.jsonl"  # an imported run's own loss curves
CHECKPOINTS_DIR = "checkpoints"
LOCK_FILE = ".lock"
REPORT_FILE = "report.html"  # a run's (or a sweep's) report page

# a transformer sweep's folder (grokkit.files.sweep_folder)
SWEEP_FORMAT = "grokkit-sweep"  # sweep.json's format tag
SWEEP_VERSION = 1
SWEEP_FILE = "sweep.json"
NODES_FILE = "nodes.json"  # under Ray: the node each run trained on
CRITICAL_FILE = "critical.json"  # a sweep with [sweep.critical]: D_crit, its bracket and curve
RUNS_DIR = "runs"
MIXTURE_FILE = "mixture.html"  # a task mixture's width report (grokkit.sweep.mixture)

# a toy sweep's folder (grokkit.toy.folder): its record is SWEEP_FILE too, with its own format tag
TOY_SWEEP_FORMAT = "grokkit-toy-sweep"  # sweep.json's format tag (also in each chunk's safetensors metadata)
TOY_SWEEP_VERSION = 1
TOY_CHUNK_FORMAT = "grokkit-toy-chunk"  # each chunk's record (grokkit.toy.chunk_file)
TOY_CHUNK_VERSION = 1
CHUNKS_DIR = "chunks"
CHUNK_PREFIX = "chunk_"  # chunks/chunk_NNNN.json and chunks/chunk_NNNN.safetensors

# a capacity study's folder (grokkit.capacity.folder names the rest of its files)
CAPACITY_FILE = "capacity.json"  # its spec record: what marks a folder as a capacity study
