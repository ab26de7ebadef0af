"""Every figure grokkit draws, as a function that returns a plotly ``Figure``.

The HTML reports are built from these same functions, so a notebook shows what a report
shows, and a figure sizes to its cell (a height, no fixed width; a report may fix widths
when it lays figures out in its grid)::

    >>> import grokkit.plots as gp
    >>> gp.losses("runs/quick")                      # a run, its folder, or report_data(run)
    >>> data = gp.report_data(run)                   # read a run once for several figures
    >>> gp.embedding(data); gp.neuron_clusters(data); gp.key_components(data)
    >>> gp.phase_diagram("runs/phase", "grok_step")  # a sweep folder, run_sweep's outcome or its rows
    >>> gp.critical_accuracy("runs/dcrit")           # a sweep with [sweep.critical]: D_crit's figures
    >>> gp.mixture_allocation("runs/mixture_width")  # a mixture width sweep: grok steps, neurons, interference
    >>> gp.toy_test_loss("runs/toy_cpu")             # a toy sweep folder
    >>> gp.capacity("runs/capacity")["interference"]  # a capacity study folder: its figures by name

Conventions for a new figure (one implementation: the report calls the same function):

- a function ``name(source, **options) -> go.Figure`` in the room that owns the numbers
  (a run's figures in ``grokkit.report.run_figures``, a sweep's in ``grokkit.sweep.report``,
  a toy sweep's in ``grokkit.toy.report`` …), listed in ``_EXPORTS`` below;
- styled with ``grokkit.report.figures`` (``style``, ``line_figure``, ``PALETTE``,
  ``shade_phases``); a height, never a width;
- nothing to draw is a ``GrokkitError`` with the one-line reason, never an empty figure;
- a figure of a run also goes into ``RUN_FIGURES`` (then ``run.plot(name)`` finds it).

Names are imported lazily: ``import grokkit.plots`` does not load plotly or torch.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from grokkit import lazy_getattr

_RUN = "grokkit.report.run_figures"
_EXPORTS = {
    # a run (grokkit.Run, a run folder, or report_data(run))
    "report_data": _RUN, "RUN_FIGURES": _RUN, "losses": _RUN, "accuracies": _RUN, "excluded_restricted": _RUN,
    "excluded_restricted_accuracy": _RUN, "restricted_ratio": _RUN, "gini": _RUN, "weight_norm": _RUN,
    "neurons_explained": _RUN, "excluded_per_frequency": _RUN, "cos_cube": _RUN, "lookup": _RUN,
    "clock_pizza": _RUN, "llc": _RUN, "attention_over_training": _RUN, "efficiency": _RUN, "gromov_form": _RUN,
    "gromov_phase": _RUN,
    "curve": _RUN, "section": _RUN,
    "embedding": _RUN, "neuron_clusters": _RUN, "attention": _RUN, "logit_map": _RUN, "key_components": _RUN,
    # a transformer sweep (its folder, run_sweep's outcome, or its rows)
    "phase_diagram": "grokkit.sweep.report", "critical_accuracy": "grokkit.sweep.report",
    "critical_efficiency": "grokkit.sweep.report",
    # a width sweep of a task mixture (its folder)
    "mixture_grok_steps": "grokkit.sweep.mixture", "mixture_allocation": "grokkit.sweep.mixture",
    "mixture_interference": "grokkit.sweep.mixture",
    # a toy-model sweep folder
    "toy_test_loss": "grokkit.toy.report", "toy_dimensionality": "grokkit.toy.report",
    "toy_geometry": "grokkit.toy.report", "toy_norms": "grokkit.toy.report", "toy_loss_map": "grokkit.toy.report",
    "toy_repeated": "grokkit.toy.report",
    # the comparison of a toy sweep and a transformer sweep
    "compare_toy_counts": "grokkit.compare.page", "compare_transformer_loss": "grokkit.compare.page",
    "compare_memorised": "grokkit.compare.page",
    # building blocks for new figures
    "style": "grokkit.report.figures", "line_figure": "grokkit.report.figures", "Series": "grokkit.report.figures",
    "shade_phases": "grokkit.report.figures", "PALETTE": "grokkit.report.figures",
}
__all__ = sorted([*_EXPORTS, "capacity"])
__getattr__ = lazy_getattr(__name__, _EXPORTS, globals())


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


def capacity(study: Any) -> dict[str, Any]:
    """Every figure of a finished capacity study (its folder, or ``grokkit.capacity.load_study``'s Study), by name
    (``grokkit.capacity.figures.figures``: what its report shows)."""
    from grokkit.capacity.figures import figures

    return figures(getattr(study, "path", study))
