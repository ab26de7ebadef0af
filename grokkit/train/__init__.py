"""The training layer. What a run's training is: its config (``config``), when it evaluates and
checkpoints (``cadence``), its device settings (``device``) and the hooks the trainer calls
(``callbacks``); those sit at the bottom, where ``grokkit.spec`` and the toy and capacity configs
read them. Above them, the engine: one or many runs of one shape trained as one stack
(``runs``: where each run starts), the trainer that steps, evaluates and checkpoints them
(``trainer``), the tensors-only step it repeats (``step``), and its progress bar (``progress``,
a callback). Beside the engine, ``step_loop``: the shown and timed loop of the stacked studies
(the toy model's, the capacity study's), which train for a fixed number of steps.

The engine sits above the run directory (``grokkit.run``; its files: ``grokkit.files.run_folder``),
below the measures, which it never imports: they reach it as callbacks (``grokkit.workflow``).
"""
