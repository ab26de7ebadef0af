"""Algorithmic datasets: the operations (``ops``), the task config and the input grid (``dataset``),
task mixtures (``mixture``), finite groups as tables (``groups``) and stable seeds (``seeds``).
Import each name from the module that defines it."""
