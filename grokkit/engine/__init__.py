"""The training engine: one or many runs of one shape trained as one stack (``loop``), the
tensors-only step it repeats (``stack``), and its progress bar (``progress``, a callback).

It sits above the run directory (``grokkit.run``) and the configs (``grokkit.train``), below
the measures, which it never imports: they reach it as callbacks (``grokkit.workflow``).
"""
