"""Optimisation on stacks of runs: learning-rate schedules, optimisers and gradient filters.

Everything here works on parameters stacked along a leading run axis ``[R, ...]``, with
hyper-parameters per run, and saves and loads each run's own state (``state_of`` /
``load_state``), so a checkpoint of one run is the same whether it trained alone or in a
stack. Nothing here knows about models, runs or files.
"""
