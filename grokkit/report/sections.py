"""The report's sections: each figure of ``grokkit.report.run_figures`` (the functions a notebook calls)
with its title and caption, built from :class:`ReportData`.

A section whose figure has nothing to draw becomes a note saying why (which keys it needs,
which command computes them), so a run trained without measures still gets its loss and accuracy.
"""

from __future__ import annotations

from grokkit.files.page import Section
from grokkit.report import run_figures
from grokkit.report.collect import ReportData
from grokkit.report.run_figures import ACC_KEYS, CURVES, LOSS_KEYS


def curve_sections(data: ReportData) -> list[Section]:
    out = []
    for spec in CURVES:
        if not run_figures.applies(data, spec):
            continue  # e.g. attention for an MLP: info and measure say in one line what does not apply
        if not data.measures and spec.needs not in (LOSS_KEYS, ACC_KEYS):
            continue  # one note below says why, instead of one per figure
        out.append(Section(spec.id, spec.title, spec.caption, *run_figures.curve_drawn(data, spec)))
        if spec.id == "excluded_restricted":
            out.append(Section("ratio", run_figures.RATIO_TITLE, RATIO_CAPTION, *run_figures.ratio_drawn(data)))
    for key in run_figures.other_keys(data):  # one plain figure per measure without a dedicated one
        drawn = run_figures.other_drawn(data, key)
        if drawn.figure is not None:
            out.append(Section(f"other-{key}", key, "A measure without a dedicated figure here, drawn as is.", *drawn))
    skipped = skipped_note(data)
    if skipped is not None:
        out.append(Section("skipped", "Measures that do not apply to this model",
                           "Measures left out for this model's kind or activation function, and why.", None, skipped))
    if not data.measures:
        titles = "; ".join(spec.title for spec in CURVES if spec.needs not in (LOSS_KEYS, ACC_KEYS))
        out.append(Section("measures", "Progress measures", f"Not drawn: {titles}.", None,
                           data.missing.get("measures", "")))
    return out


def skipped_note(data: ReportData) -> str | None:
    """``not_for_model_line`` of an MLP run's model (the line ``info`` prints as ``skipped``); None for the
    transformer (the default model: the MLP-only measures go unsaid, as in ``info``)."""
    from grokkit.measures.registry import not_for_model_line

    model = data.config.get("model", {})
    if model.get("kind", "transformer") == "transformer":
        return None
    return not_for_model_line(model["kind"], model.get("act_fn"))


RATIO_CAPTION = ("Test loss divided by restricted loss (all rows; test rows when that is all there is). "
                 "It rises while the generalising circuit forms and falls when the test loss catches up.")


def final_sections(data: ReportData) -> list[Section]:
    """The figures of the final checkpoint: embedding, neurons, attention, 2-D logit map, key components."""
    final = data.final
    if final is None:
        return [Section("final", "Final checkpoint", "Embedding, neurons, attention and logits of the last checkpoint.",
                        None, data.missing.get("final", "not computed"))]
    step = f" (step {final.step})"
    view = f" Basis: {final.group_note}." if final.group_note else ""
    cyclic = run_figures.cyclic(data)
    captions = {
        "embed": ("Embedding W_E in the Fourier basis" + step if cyclic else "Embedding W_E by component" + step,
                  ("Norm of each Fourier component of the token embeddings, as a cos and a sin bar per "
                   "frequency. After grokking a few key frequencies carry almost all of it." if cyclic else
                   "Norm of the token embeddings in each component of the group's basis (the root of the "
                   "squares of its rows). After grokking a few key components carry almost all of it.") + view,
                  run_figures.embedding_drawn),
        "logit_fourier": ("2-D Fourier map of the logits" + step if cyclic else "Logits by pair of components" + step,
                          ("Norm over output classes of the logits in the 2-D Fourier basis. After grokking a few "
                           "entries per key frequency (const/cos k/sin k pairs) dominate." if cyclic else
                           "Norm over output classes of the logits in the 2-D basis, summed over each (component "
                           "of a, component of b) block: after grokking the key components' blocks dominate.")
                          + view, run_figures.logit_map_drawn),
        "neurons": ("Neuron-frequency clusters" + step,
                    "Each MLP neuron's activation over the (a, b) grid, in the 2-D basis: the frequency "
                    "(component) holding most of its mass, and how much of it. Neurons of the generalising circuit "
                    "cluster on the key frequencies." + view, run_figures.neurons_drawn),
        "attention": ("Attention patterns" + step,
                      "How much '=' attends to a and to b, for every input pair and each head.",
                      run_figures.attention_drawn),
        "key_components": ("Key components and their share of the logits" + step,
                           "Each component's share of the centred logit table's squared norm (the logits rule "
                           "keeps the largest until they explain 95 %); the run's key components in red." + view,
                           run_figures.key_components_drawn),
    }
    return [Section(sid, title, caption, *drawn(data)) for sid, (title, caption, drawn) in captions.items()]
