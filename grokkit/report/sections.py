"""Which figure shows which keys: the report's sections, built from :class:`ReportData`.

Curves take each key from the metrics rows when it is logged there (one row per
evaluation, so denser) and from the measures table otherwise (one row per
checkpoint). A section whose keys are all absent becomes a note saying which keys
it needs, so a run trained without measures still gets its loss and accuracy.
"""

from __future__ import annotations

from typing import Any, NamedTuple, Sequence

from grokkit.files.layout import MEASURES_FILE
from grokkit.files.page import Section
from grokkit.report import figures
from grokkit.report.collect import ReportData
from grokkit.report.figures import COLOURS, DASHES, PALETTE, Series


class CurveSpec(NamedTuple):
    id: str
    title: str
    keys: tuple[str, ...]  # every key drawn
    needs: tuple[str, ...]  # the section is shown when at least one of these is present
    y_title: str
    log_y: bool
    caption: str
    y_range: tuple[float, float] | None = None
    absent: str = ""  # the note when the measures table has none of its keys (default: says which keys)
    model_kinds: tuple[str, ...] = ()  # drawn only for these model kinds (model.kind); () = any


LOSS_KEYS = ("train_loss", "test_loss")
ACC_KEYS = ("train_acc", "test_acc")
CURVES = (
    CurveSpec("loss", "Train and test loss", LOSS_KEYS, LOSS_KEYS, "cross-entropy", True,
              "Memorisation drives the train loss down while the test loss rises; grokking is the late fall of "
              "the test loss. Shaded: the phases detected from the measures."),
    CurveSpec("accuracy", "Train and test accuracy", ACC_KEYS, ACC_KEYS, "accuracy", False,
              "Train accuracy reaches 100 % early; test accuracy follows only after the circuit forms and "
              "the memorised solution is cleaned up.", (0, 1.03)),
    CurveSpec("excluded_restricted", "Excluded and restricted loss",
              LOSS_KEYS + ("excluded_loss", "restricted_loss", "restricted_loss_test"),
              ("excluded_loss", "restricted_loss", "restricted_loss_test"), "cross-entropy", True,
              "Excluded loss (train rows, key-frequency directions removed from the logits) rises during circuit "
              "formation while the train loss stays flat; restricted loss (only the key-frequency directions, "
              "plus each class's mean) falls below the test loss before the test loss drops."),
    CurveSpec("excluded_restricted_acc", "Excluded and restricted accuracy",
              ACC_KEYS + ("excluded_acc", "restricted_acc", "restricted_acc_test"),
              ("excluded_acc", "restricted_acc", "restricted_acc_test"), "accuracy", False,
              "The accuracy versions of the excluded and restricted logits.", (0, 1.03)),
    CurveSpec("gini", "Sparsity in the Fourier basis (Gini)", ("gini_W_E", "gini_W_L"), ("gini_W_E", "gini_W_L"),
              "Gini coefficient", False,
              "Gini coefficient of the Fourier norms of the embedding W_E and of the neuron-logit map "
              "W_L = W_out·W_U: both rise as a few key frequencies take over.", (0, 1.03)),
    CurveSpec("weight_norm", "Weight norm", ("weight_norm", "weight_norm_per_param"), ("weight_norm",),
              "sum of squared weights", True,
              "Weight decay shrinks the weights smoothly, then sharply during cleanup as the memorising "
              "components are removed. Dashed: each parameter on its own."),
    CurveSpec("neurons_explained", "Neurons explained by one frequency", ("frac_neurons_explained", "mlp_active_frac"),
              ("frac_neurons_explained", "mlp_active_frac"), "fraction", False,
              "Fraction of MLP neurons whose activations lie mostly in one key frequency, and the fraction of "
              "MLP activations that are non-zero.", (0, 1.03)),
    CurveSpec("excluded_per_freq", "Excluded loss, one frequency removed at a time", ("excluded_loss_per_freq",),
              ("excluded_loss_per_freq",), "train cross-entropy", True,
              "Train loss after removing a single key frequency's directions from the logits: the frequencies "
              "the model leans on most cost the most when removed."),
    CurveSpec("cos_cube", "Cosine-cube coefficients α_k", ("cos_cube_alpha",), ("cos_cube_alpha",), "α_k", False,
              "Projection of the logits on cos(ω_k(a + b − c)) for each key frequency: how much of the output "
              "the trig-identity algorithm explains."),
    CurveSpec("lookup", "Neurons firing per input: memorised and generalised rows",
              ("lookup_active_frac", "lookup_memorised_frac", "lookup_generalised_frac"),
              ("lookup_active_frac", "lookup_memorised_frac"), "fraction", False,
              "Mean share of MLP neurons each input fires at '=', by kind of input: train, test, memorised train "
              "rows (still right once the key frequencies are removed from the logits) and generalised train rows "
              "(right only with them). Also the share of train rows in each kind (dashed). A lookup table fires "
              "few neurons per memorised input; the circuit fires many for every input.", (0, 1.03)),
    CurveSpec("clock_pizza", "Clock or Pizza: gradient symmetricity and distance irrelevance",
              ("gradient_symmetricity", "distance_irrelevance"), ("gradient_symmetricity", "distance_irrelevance"),
              "value", False,
              "Zhong et al. 2023. Gradient symmetricity: mean cosine between the gradients of a logit with respect "
              "to the two input embeddings (Pizza ≈ 1). Distance irrelevance: how little the correct logit "
              "depends on a − b (Clock ≈ 1, Pizza low)."),
    CurveSpec("llc", "Local learning coefficient", ("llc",), ("llc",), "λ̂ (SGLD estimate)", False,
              "The local learning coefficient λ̂ of each checkpoint, estimated by SGLD around it on the train rows "
              "(Lau et al. 2023; the [measures] llc_* settings): the effective number of parameters the loss "
              "constrains. It rises while the model memorises and falls as it generalises.",
              absent="the llc measure is off by default (about one training step per SGLD draw per checkpoint): "
                     "compute it with `grokkit measure RUN --measures all,llc`, then write the report again."),
    CurveSpec("efficiency", "Circuit efficiency: margin per unit parameter norm",
              ("efficiency", "efficiency_gen", "efficiency_mem"), ("efficiency_gen", "efficiency_mem"), "margin / ‖θ‖",
              False,
              "Varma et al. 2023: the mean train margin of the key-direction logits (generalising circuit) and of "
              "the rest (memorising circuit), each divided by the norm of all parameters. Grokking hands the "
              "margin from the memorising to the generalising circuit; a run continued below the critical "
              "dataset size hands it back (ungrokking)."),
    CurveSpec("attn_training", "Attention from '=' over training", ("attn_eq_to_a", "attn_eq_to_b"),
              ("attn_eq_to_a", "attn_eq_to_b"), "mean attention", False,
              "Mean attention from '=' to a (solid) and to b (dashed), per head.", (0, 1.03),
              model_kinds=("transformer",)),
    CurveSpec("gromov_form", "Distance from Gromov's analytic form",
              ("gromov_ipr_in", "gromov_ipr_out", "gromov_same_freq"),
              ("gromov_ipr_in", "gromov_ipr_out", "gromov_same_freq"), "IPR / share", False,
              "Inverse participation ratio (r = 2) of each neuron's Fourier spectrum, input and output weights, "
              "averaged over neurons (1: one frequency per neuron, Gromov's form), and the share of neurons "
              "whose input and output weights peak at the same frequency.", (0, 1.03), model_kinds=("mlp",)),
    CurveSpec("gromov_phase", "Phase relation ψ = φ_a ± φ_b", ("gromov_phase_error",), ("gromov_phase_error",),
              "radians", False,
              "Weighted mean |ψ − (φ_a ± φ_b)| over neurons at each neuron's frequency: 0 in Gromov's "
              "analytic solution, about π/2 for unrelated phases.", (0, 3.2), model_kinds=("mlp",)),
)

LABELS = {
    "train_loss": "train", "test_loss": "test", "train_acc": "train", "test_acc": "test",
    "excluded_loss": "excluded (train)", "excluded_acc": "excluded (train)",
    "restricted_loss": "restricted (all)", "restricted_acc": "restricted (all)",
    "restricted_loss_test": "restricted (test)", "restricted_acc_test": "restricted (test)",
    "gini_W_E": "W_E", "gini_W_L": "W_L", "weight_norm": "total", "weight_norm_per_param": "",
    "frac_neurons_explained": "neurons explained", "mlp_active_frac": "active MLP activations",
    "excluded_loss_per_freq": "without k =", "cos_cube_alpha": "α for k =",
    "attn_eq_to_a": "→ a, head", "attn_eq_to_b": "→ b, head",
    "lookup_active_frac": "neurons firing:", "lookup_memorised_frac": "share of train rows memorised",
    "lookup_generalised_frac": "share of train rows generalised",
    "gradient_symmetricity": "gradient symmetricity", "distance_irrelevance": "distance irrelevance",
    "llc": "λ̂",
    "gromov_ipr_in": "IPR in (a, b)", "gromov_ipr_out": "IPR out", "gromov_same_freq": "same frequency",
    "gromov_phase_error": "|ψ − φ_a ∓ φ_b|",
    "efficiency": "whole network", "efficiency_gen": "generalising (key directions)",
    "efficiency_mem": "memorising (the rest)",
}


def _has(rows: Sequence[dict[str, Any]], key: str) -> bool:
    """Whether some row has a value for ``key`` (an empty per-frequency dict has none)."""
    return any(row.get(key) not in (None, {}, []) for row in rows)


def series_for(key: str, metrics: Sequence[dict], measures: Sequence[dict]) -> list[Series]:
    """The line(s) of one key; a dict- or list-valued key gives one line per entry."""
    rows = [r for r in (metrics if _has(metrics, key) else measures) if key in r]
    if not rows:
        return []
    label = LABELS.get(key, key)
    dash = "dash" if key.endswith(("_to_b", "per_param", "_memorised_frac", "_generalised_frac")) else None
    first = rows[0][key]
    if isinstance(first, (dict, list)):
        entries = sorted({e for r in rows for e in (r[key] if isinstance(r[key], dict) else range(len(r[key])))},
                         key=lambda e: (len(str(e)), str(e)))  # numeric keys such as "14" sort as numbers
        out = []
        for e in entries:
            pts = [(r["step"], r[key][e]) for r in rows
                   if (e in r[key] if isinstance(r[key], dict) else e < len(r[key]))]
            colour = PALETTE[entries.index(e) % len(PALETTE)]
            out.append(Series(f"{label} {e}".strip(), [s for s, _ in pts], [v for _, v in pts], colour, dash))
        return out
    return [Series(label, [r["step"] for r in rows], [r[key] for r in rows], COLOURS.get(key), DASHES.get(key, dash))]


MAX_POINTS = 4000  # points of an imported run's own records drawn per line (the phases use every one)


def record_series(records: Sequence[dict[str, Any]]) -> list[Series]:
    """An imported run's own loss records (``imported_losses.jsonl``), dotted beside grokkit's evaluations;
    thinned to at most ``MAX_POINTS`` points a line (a paper's run logs every one of 10⁵ epochs)."""
    out = []
    for key in LOSS_KEYS:
        every = [(r["step"], r[key]) for r in records if r.get(key) is not None]
        pts = every[::max(1, -(-len(every) // MAX_POINTS))]
        if pts and pts[-1] != every[-1]:
            pts.append(every[-1])
        if pts:
            out.append(Series(f"{LABELS[key]} (source's own record)", [s for s, _ in pts], [v for _, v in pts],
                              COLOURS.get(key), "dot"))
    return out


def curve_sections(data: ReportData) -> list[Section]:
    out = []
    kind = data.config.get("model", {}).get("kind", "transformer")
    for spec in CURVES:
        if spec.model_kinds and kind not in spec.model_kinds:
            continue  # e.g. attention for an MLP: info and measure say in one line what does not apply
        if not data.measures and spec.needs not in (LOSS_KEYS, ACC_KEYS):
            continue  # one note below says why, instead of one per figure
        if any(_has(data.metrics, k) or _has(data.measures, k) for k in spec.needs):
            series = [s for key in spec.keys for s in series_for(key, data.metrics, data.measures)]
            if spec.id == "loss":
                series += record_series(data.records)
            fig = figures.line_figure(spec.title, series, spec.y_title, log_y=spec.log_y, phases=data.phases,
                                      y_range=spec.y_range, marks=data.marks)
            out.append(Section(spec.id, spec.title, spec.caption, fig))
        else:
            if spec.needs in (LOSS_KEYS, ACC_KEYS):
                note = data.missing.get("curves", "")
            elif any(k in row for row in data.measures for k in spec.needs):
                note = "empty at every checkpoint: no key frequency was found, so there is nothing per frequency."
            else:
                note = spec.absent or f"{MEASURES_FILE} has none of {', '.join(spec.needs)}."
            out.append(Section(spec.id, spec.title, spec.caption, None, note))
        if spec.id == "excluded_restricted":
            out.append(ratio_section(data))
    out += other_sections(data)
    if not data.measures:
        titles = "; ".join(spec.title for spec in CURVES if spec.needs not in (LOSS_KEYS, ACC_KEYS))
        out.append(Section("measures", "Progress measures", f"Not drawn: {titles}.", None,
                           data.missing.get("measures", "")))
    return out


NOT_CURVES = {"step", "key_freqs", "key_freqs_source", "key_rule", "group", "lr", "wall_s", "llc_std",
              "margin_gen", "margin_mem", "param_norm"}  # the efficiency figure's inputs, in the table


def other_sections(data: ReportData) -> list[Section]:
    """One plain figure per measure this report has no dedicated figure for (e.g. one added later)."""
    claimed = NOT_CURVES | {key for spec in CURVES for key in spec.keys}
    from grokkit.files.values import TASK_PREFIX
    from grokkit.report.mixture import MIXTURE_KEYS

    claimed |= MIXTURE_KEYS  # a mixture's own columns, and its task{k}_ ones: drawn by grokkit.report.mixture
    keys = sorted({key for row in data.measures for key in row if key not in claimed and not TASK_PREFIX.match(key)})
    out = []
    for key in keys:
        series = series_for(key, data.metrics, data.measures) if _has(data.measures, key) else []
        numeric = [s for s in series if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in s.y)]
        if numeric:
            fig = figures.line_figure(key, numeric, key, phases=data.phases, marks=data.marks)
            out.append(Section(f"other-{key}", key, "A measure without a dedicated figure here, drawn as is.", fig))
    return out


def ratio_section(data: ReportData) -> Section:
    """Test loss over restricted loss at each checkpoint: it rises, then falls once the model groks."""
    caption = ("Test loss divided by restricted loss (all rows; test rows when that is all there is). "
               "It rises while the generalising circuit forms and falls when the test loss catches up.")
    title = "Test / restricted loss"
    key = "restricted_loss" if _has(data.measures, "restricted_loss") else "restricted_loss_test"
    test = {r["step"]: r["test_loss"] for r in data.metrics if "test_loss" in r}
    test.update({r["step"]: r["test_loss"] for r in data.measures if "test_loss" in r})
    pts = [(r["step"], test[r["step"]] / r[key]) for r in data.measures
           if key in r and r["step"] in test and r[key] > 0]
    if not pts:
        note = data.missing.get("measures") or "needs restricted_loss and test_loss at the same steps."
        return Section("ratio", title, caption, None, note)
    series = [Series("test / restricted", [s for s, _ in pts], [v for _, v in pts], "#e76f51")]
    return Section("ratio", title, caption,
                   figures.line_figure(title, series, "ratio", log_y=True, phases=data.phases,
                                                       marks=data.marks))


def final_sections(data: ReportData) -> list[Section]:
    """The figures of the final checkpoint: embedding, neurons, attention, 2-D logit map."""
    final, missing = data.final, data.missing
    if final is None:
        return [Section("final", "Final checkpoint", "Embedding, neurons, attention and logits of the last checkpoint.",
                        None, missing.get("final", "not computed"))]
    step = f" (step {final.step})"
    view = f" Basis: {final.group_note}." if final.group_note else ""
    cyclic = all(name.startswith("k=") for name in final.component_names or ())  # rows named cos k / sin k
    captions = {
        "embed": ("Embedding W_E in the Fourier basis" + step if cyclic else "Embedding W_E by component" + step,
                  ("Norm of each Fourier component of the token embeddings, as a cos and a sin bar per "
                   "frequency. After grokking a few key frequencies carry almost all of it." if cyclic else
                   "Norm of the token embeddings in each component of the group's basis (the root of the "
                   "squares of its rows). After grokking a few key components carry almost all of it.") + view),
        "logit_fourier": ("2-D Fourier map of the logits" + step if cyclic else "Logits by pair of components" + step,
                          ("Norm over output classes of the logits in the 2-D Fourier basis. After grokking a few "
                           "entries per key frequency (const/cos k/sin k pairs) dominate." if cyclic else
                           "Norm over output classes of the logits in the 2-D basis, summed over each (component "
                           "of a, component of b) block: after grokking the key components' blocks dominate.")
                          + view),
        "neurons": ("Neuron-frequency clusters" + step,
                    "Each MLP neuron's activation over the (a, b) grid, in the 2-D basis: the frequency "
                    "(component) holding most of its mass, and how much of it. Neurons of the generalising circuit "
                    "cluster on the key frequencies." + view),
        "attention": ("Attention patterns" + step,
                      "How much '=' attends to a and to b, for every input pair and each head."),
    }
    built = {}
    keys = final.key_freqs or ()
    if final.embed_norms is not None:
        built["embed"] = (figures.embedding_norm_figure(final.basis_names, final.embed_norms, keys) if cyclic else
                          figures.component_norm_figure(final.component_names, final.embed_component_norms, keys))
    if final.logit_fourier is not None:
        built["logit_fourier"] = (figures.logit_fourier_figure(final.basis_names, final.logit_fourier) if cyclic else
                                  figures.component_map_figure(final.component_names, final.logit_components))
    if final.neuron_freq is not None:
        n_components = len(final.component_names) if final.component_names else len(final.basis_names) // 2
        built["neurons"] = figures.neuron_cluster_figure(final.neuron_freq, final.neuron_frac,
                                                         final.neuron_explained, n_components)
    if final.attn_eq is not None:
        built["attention"] = figures.attention_figure(final.attn_eq, final.attn_b_values)
    return [Section(sid, title, caption, built.get(sid), "" if sid in built else missing.get(sid, "not computed"))
            for sid, (title, caption) in captions.items()]
