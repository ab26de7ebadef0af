"""The run directory's files, at the bottom of the package: every layer writes through here.

``atomic`` (write-then-rename, fsync, tensor files that follow the umask) →
``jsonl`` (append-only logs, torn-line tolerant reads, rows checked) → ``tagged``
(format-tagged JSON records with one error style) → ``checkpoint`` (verified,
self-describing checkpoint folders) → ``layout`` (the names of a run's files) →
``lock`` (one writer per directory).
"""
