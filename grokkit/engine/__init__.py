"""The training engine: one or many runs of one shape trained as one stack (``loop``: where each
run starts), the trainer that steps, evaluates and checkpoints them (``trainer``), the
tensors-only step it repeats (``stack``), and its progress bar (``progress``, a callback).

It sits above the run directory (``grokkit.run``; its files: ``grokkit.files.run_folder``) and
the configs (``grokkit.train``), below the measures, which it never imports: they reach it as callbacks (``grokkit.workflow``).
"""
