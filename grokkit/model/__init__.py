"""The one-layer transformer: config (``config``), TransformerLens construction (``build``), one run's
weights and their forward (``run_weights``, ``forward``), parameters stacked over runs (``param_stack``).
Import each name from the module that defines it."""
