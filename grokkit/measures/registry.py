"""Every progress measure by name. Adding one: write its module, then add one line here."""

from __future__ import annotations

from grokkit.measures.attention import ATTENTION
from grokkit.measures.base import Measure, MeasureError
from grokkit.measures.clock_pizza import DISTANCE_IRRELEVANCE, GRADIENT_SYMMETRICITY
from grokkit.measures.cosets import COSET_VIEW
from grokkit.measures.cos_cube import COS_CUBE
from grokkit.measures.efficiency import EFFICIENCY
from grokkit.measures.embedding import EMBEDDING_PROJECTION
from grokkit.measures.excluded import EXCLUDED
from grokkit.measures.gini import GINI
from grokkit.measures.gromov import GROMOV
from grokkit.measures.htsr import HTSR_ALPHA
from grokkit.measures.irreps import IRREP_SHARES
from grokkit.measures.llc import LLC
from grokkit.measures.loss import LOSS
from grokkit.measures.loss_spectrum import LOSS_SPECTRUM
from grokkit.measures.lookup import LOOKUP_SIGNATURE
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
        IRREP_SHARES,
        COSET_VIEW,
        WEIGHT_NORM,
        HTSR_ALPHA,
        LOSS_SPECTRUM,
        NEURONS_EXPLAINED,
        COS_CUBE,
        ATTENTION,
        MLP_SPARSITY,
        EMBEDDING_PROJECTION,
        LOOKUP_SIGNATURE,
        GRADIENT_SYMMETRICITY,
        DISTANCE_IRRELEVANCE,
        EFFICIENCY,
        LLC,
        GROMOV,
    )
}


def not_for_model(model_kind: str, act_fn: str | None = None) -> list[Measure]:
    """The measures that do not apply to a model of this kind and activation (an MLP has no attention; x² fires
    every neuron)."""
    return [m for m in MEASURES.values() if not m.reads(model_kind, act_fn)]


def not_for_model_line(model_kind: str, act_fn: str | None = None) -> str | None:
    """One line naming the measures that do not apply to ``model_kind`` with ``act_fn`` and why; None when all do."""
    skipped = not_for_model(model_kind, act_fn)
    if not skipped:
        return None
    by_act = any(m.reads(model_kind) for m in skipped)  # some are skipped for the activation, not the kind
    model = f"the {model_kind} kind" + (f" with act_fn {act_fn!r}" if by_act else "")
    return f"not measured on {model}: " + "; ".join(f"{m.name} ({m.why_not})" for m in skipped)


def resolve(names: list[str] | None, op: str, live: bool = False, model_kind: str = "transformer",
            act_fn: str | None = None) -> list[Measure]:
    """The measures to compute, in registry order.

    ``None`` or ``["all"]``: every measure that applies to ``op``'s declared group (those that
    need a circuit only for ops whose labels are group elements: add, sub, mul, div and the S5
    ops; those defined for some groups only, for those; those that need the final checkpoint
    only offline; those of the model's kind and activation); never the opt-in ones, such as ``llc``, which must be
    named (``["all", "llc"]``). Naming a measure that does not apply is an error, never a silently
    wrong or missing number.
    """
    from grokkit.analysis.fourier import FourierNotApplicable
    from grokkit.data.ops import OPERATIONS

    kind = OPERATIONS[op].analysis_group
    default = [m for m in MEASURES.values() if m.applies_to(kind) and m.reads(model_kind, act_fn) and not m.opt_in
               and not (live and m.needs_final)]
    if names is None or names == ["all"]:
        return default
    unknown = [name for name in names if name not in MEASURES and name != "all"]
    if unknown:
        raise MeasureError(f"unknown measure(s) {', '.join(unknown)}; available: {', '.join(MEASURES)}")
    named = set(names) | ({m.name for m in default} if "all" in names else set())  # "all,llc": the default and llc
    chosen = [m for m in MEASURES.values() if m.name in named]
    other = [m for m in chosen if not m.reads(model_kind, act_fn)]
    if other:
        by_act = any(m.reads(model_kind) for m in other)  # refused for the activation, not the kind
        model = f"model.kind = {model_kind!r}" + (f", model.act_fn = {act_fn!r}" if by_act else "")
        raise MeasureError(f"measure(s) {', '.join(m.name for m in other)}: not defined for {model} "
                           f"({'; '.join(m.why_not for m in other)})")
    refused = [m for m in chosen if not m.applies_to(kind)]
    if refused:
        why = ("is not a group operation on its symbols, so it has no key directions" if kind == "generic"
               else f"has the {kind} group; they are defined for "
                    + " / ".join(sorted({k for m in refused for k in m.kinds})) + " groups only")
        raise FourierNotApplicable(f"measure(s) {', '.join(m.name for m in refused)}: op {op!r} {why}")
    if live and any(m.needs_final for m in chosen):
        raise MeasureError(
            f"{', '.join(m.name for m in chosen if m.needs_final)}: needs the final checkpoint; "
            "run it offline with `grokkit measure RUN`"
        )
    return chosen
