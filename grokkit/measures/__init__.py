"""Progress measures: small named units computed at every checkpoint of a run.

One module per family (``loss``, ``excluded``, ``restricted``, ``sparsity``, …), a
registry (``MEASURES``, ``registry``), the per-checkpoint context they read (``base``), the
last-position activations they share (``activations``), and the two drivers:
``live`` (during training) and ``offline`` (over a finished run's checkpoints).
Import each name from the module that defines it (``grokkit.spec`` imports ``config`` alone, cheaply).
"""
