"""Every progress measure by name. Adding one: write its module, then add one line here."""

from __future__ import annotations

from grokkit.measures.attention import ATTENTION
from grokkit.measures.base import Measure, MeasureError
from grokkit.measures.cos_cube import COS_CUBE
from grokkit.measures.embedding import EMBEDDING_PROJECTION
from grokkit.measures.excluded import EXCLUDED
from grokkit.measures.gini import GINI
from grokkit.measures.loss import LOSS
from grokkit.measures.neurons import MLP_SPARSITY, NEURONS_EXPLAINED
from grokkit.measures.restricted import RESTRICTED
from grokkit.measures.weight_norm import WEIGHT_NORM

MEASURES: dict[str, Measure] = {
    m.name: m
    for m in (
        LOSS,
        EXCLUDED,
        RESTRICTED,
        GINI,
        WEIGHT_NORM,
        NEURONS_EXPLAINED,
        COS_CUBE,
        ATTENTION,
        MLP_SPARSITY,
        EMBEDDING_PROJECTION,
    )
}


def resolve(names: list[str] | None, op: str, live: bool = False) -> list[Measure]:
    """The measures to compute, in registry order.

    ``None`` or ``["all"]``: every measure that applies to ``op`` (the Fourier ones only for
    add and sub; those that need the final checkpoint only offline). Naming a measure that
    does not apply is an error, never a silently wrong or missing number.
    """
    from grokkit.analysis.fourier import FOURIER_OPS, FourierNotApplicable

    if names is None or names == ["all"]:
        return [m for m in MEASURES.values()
                if (op in FOURIER_OPS or not m.fourier) and not (live and m.needs_final)]
    unknown = [name for name in names if name not in MEASURES]
    if unknown:
        raise MeasureError(f"unknown measure(s) {', '.join(unknown)}; available: {', '.join(MEASURES)}")
    chosen = [m for m in MEASURES.values() if m.name in names]
    fourier = [m.name for m in chosen if m.fourier]
    if fourier and op not in FOURIER_OPS:
        raise FourierNotApplicable(
            f"measure(s) {', '.join(fourier)}: op {op!r} has no (a±b) Fourier circuit; "
            f"Fourier measures apply to {' and '.join(FOURIER_OPS)} only"
        )
    if live and any(m.needs_final for m in chosen):
        raise MeasureError(
            f"{', '.join(m.name for m in chosen if m.needs_final)}: needs the final checkpoint; "
            "run it offline with `grokkit measure RUN`"
        )
    return chosen
