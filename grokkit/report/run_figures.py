"""Every figure of a run's report as a function of the run: ``losses(run)`` → a plotly ``Figure``.

Each public function takes a run (``grokkit.Run``, ``load_run``'s object, or its folder) or
the ``ReportData`` already collected from one, and returns a ``go.Figure`` that sizes to its
container (a height, no width: a notebook cell or a report card). The report's page is built
from these same functions (``grokkit.report.sections`` gives each its title and caption), so
what a notebook draws is what the report shows. A figure that has nothing to draw raises a
``RunError`` saying why (the report shows that line in the figure's place)::

    >>> import grokkit.plots as gp
    >>> gp.losses("runs/quick").show()
    >>> data = gp.report_data(run)          # read the run once for several figures
    >>> gp.embedding(data); gp.neuron_clusters(data)

``RUN_FIGURES`` maps each name to its function (``run.plot(name)`` reads it); a new figure of a
run is a function of ``Source`` added there.

Curves take each key from the metrics rows when it is logged there (one row per
evaluation, so denser) and from the measures table otherwise (one row per checkpoint).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, NamedTuple, Sequence, Union

import plotly.graph_objects as go

from grokkit.errors import RunError
from grokkit.files.layout import MEASURES_FILE
from grokkit.report import figures
from grokkit.report.collect import ReportData, collect
from grokkit.report.figures import COLOURS, DASHES, PALETTE, Series

Source = Union[Any, str, Path, ReportData]
"""What a run's figure draws: a ``grokkit.Run``, a run folder, or its collected ``ReportData``."""


class Drawn(NamedTuple):
    """A figure, or the line saying why there is none."""

    figure: go.Figure | None
    note: str = ""


def report_data(source: Source, step: int | None = None, final: bool = True) -> ReportData:
    """The numbers a run's figures draw (``grokkit.report.collect``), read once.

    ``step``: the checkpoint of the final-checkpoint figures (default the last); ``final=False``
    reads only the curves (no checkpoint is opened).
    """
    if isinstance(source, ReportData):
        return source
    if isinstance(source, (str, Path)):
        from grokkit.run import Run

        source = Run(source)
    return collect(source, step, final=final)


def _shown(drawn: Drawn) -> go.Figure:
    if drawn.figure is None:
        raise RunError(f"nothing to draw: {drawn.note}")
    return drawn.figure


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
    CurveSpec("htsr_alpha", "Early warning: power-law exponent α of the weights' spectra",
              ("htsr_alpha", "htsr_alpha_per_matrix"), ("htsr_alpha", "htsr_alpha_per_matrix"), "α", False,
              "Martin & Mahoney's heavy-tailed self-regularisation: the exponent of the power-law tail of each "
              "weight matrix's eigenvalue spectrum (dashed), and their mean. No data is needed; α below 2 is read "
              "as over-fitting, and a mean α leaving 2 as the warning of a late collapse (anti-grokking)."),
    CurveSpec("loss_spectrum", "Early warning: spectral signature of the training loss",
              ("loss_spectrum_low", "loss_hjorth_activity"), ("loss_spectrum_low", "loss_hjorth_activity"),
              "amplitude", True,
              "Notsawo et al. 2023: at each checkpoint, the Fourier transform of the training-loss curve so far; "
              "the summed amplitude of its lowest tenth of frequencies and its variance (Hjorth activity). "
              "Oscillations of the early training loss, which these pick up, came before grokking in their runs."),
    CurveSpec("cosets", "Coset view: neurons reading cosets of subgroups",
              ("coset_frac_neurons", "coset_concentration"), ("coset_frac_neurons", "coset_concentration"),
              "fraction", False,
              "Stander et al. 2024: a coset neuron's activation is constant on the cells (H_a∘a) × (b∘H_b) for "
              "nontrivial subgroups H_a, H_b found from the neuron itself (its a-table's left and b-table's right "
              "stabiliser). Share of neurons that are coset neurons, and the chance-corrected share of the neurons' "
              "mass their cells hold. The subgroups' orders are drawn as coset_subgroups.", (0, 1.03)),
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
    "llc": "λ̂", "coset_frac_neurons": "coset neurons", "coset_concentration": "concentration (κ, mass-weighted)",
    "gromov_ipr_in": "IPR in (a, b)", "gromov_ipr_out": "IPR out", "gromov_same_freq": "same frequency",
    "gromov_phase_error": "|ψ − φ_a ∓ φ_b|",
    "efficiency": "whole network", "efficiency_gen": "generalising (key directions)",
    "efficiency_mem": "memorising (the rest)",
    "htsr_alpha": "mean α", "htsr_alpha_per_matrix": "", "loss_spectrum_low": "low-frequency amplitude",
    "loss_hjorth_activity": "Hjorth activity (variance)",
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
    dashed = ("_to_b", "per_param", "per_matrix", "_memorised_frac", "_generalised_frac")
    dash = "dash" if key.endswith(dashed) else None
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


def model_kind(data: ReportData) -> str:
    """The run's ``model.kind`` (transformer, mlp)."""
    return data.config.get("model", {}).get("kind", "transformer")


def applies(data: ReportData, spec: CurveSpec) -> bool:
    """Whether ``spec`` draws for this run's model kind (attention has no place in an MLP)."""
    return not spec.model_kinds or model_kind(data) in spec.model_kinds


def curve_drawn(data: ReportData, spec: CurveSpec) -> Drawn:
    """One curve figure of the report, or why it has nothing to show."""
    if not applies(data, spec):
        return Drawn(None, f"{spec.title}: only for model.kind {' or '.join(spec.model_kinds)} "
                           f"(this run: {model_kind(data)})")
    if any(_has(data.metrics, k) or _has(data.measures, k) for k in spec.needs):
        series = [s for key in spec.keys for s in series_for(key, data.metrics, data.measures)]
        if spec.id == "loss":
            series += record_series(data.records)
        return Drawn(figures.line_figure(spec.title, series, spec.y_title, log_y=spec.log_y, phases=data.phases,
                                         y_range=spec.y_range, marks=data.marks))
    if spec.needs in (LOSS_KEYS, ACC_KEYS):
        return Drawn(None, data.missing.get("curves", "no rows yet"))
    if not data.measures:
        return Drawn(None, data.missing.get("measures", f"no {MEASURES_FILE}"))
    if any(k in row for row in data.measures for k in spec.needs):
        return Drawn(None, "empty at every checkpoint: no key frequency was found, so there is nothing per frequency.")
    return Drawn(None, spec.absent or f"{MEASURES_FILE} has none of {', '.join(spec.needs)}.")


NOT_CURVES = {"step", "key_freqs", "key_freqs_source", "key_rule", "group", "lr", "wall_s", "llc_std",
              "margin_gen", "margin_mem", "param_norm"}  # the efficiency figure's inputs, in the table


def other_keys(data: ReportData) -> list[str]:
    """The measures this report has no dedicated figure for (e.g. one added later), sorted."""
    from grokkit.files.values import TASK_PREFIX
    from grokkit.report.mixture import MIXTURE_KEYS

    claimed = NOT_CURVES | {key for spec in CURVES for key in spec.keys}
    claimed |= MIXTURE_KEYS  # a mixture's own columns, and its task{k}_ ones: drawn by grokkit.report.mixture
    return sorted({key for row in data.measures for key in row if key not in claimed and not TASK_PREFIX.match(key)})


def other_drawn(data: ReportData, key: str) -> Drawn:
    """One plain figure of ``key``'s numeric lines, as logged."""
    series = series_for(key, data.metrics, data.measures) if (_has(data.measures, key) or _has(data.metrics, key)) else []
    numeric = [s for s in series if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in s.y)]
    if not numeric:
        return Drawn(None, f"no numeric values of {key!r} in the metrics rows or {MEASURES_FILE}")
    return Drawn(figures.line_figure(key, numeric, key, phases=data.phases, marks=data.marks))


def ratio_drawn(data: ReportData) -> Drawn:
    """Test loss over restricted loss at each checkpoint: it rises, then falls once the model groks."""
    key = "restricted_loss" if _has(data.measures, "restricted_loss") else "restricted_loss_test"
    test = {r["step"]: r["test_loss"] for r in data.metrics if "test_loss" in r}
    test.update({r["step"]: r["test_loss"] for r in data.measures if "test_loss" in r})
    pts = [(r["step"], test[r["step"]] / r[key]) for r in data.measures
           if r.get(key) is not None and test.get(r["step"]) is not None and r["step"] in test and r[key] > 0]
    if not pts:
        return Drawn(None, data.missing.get("measures") or "needs restricted_loss and test_loss at the same steps.")
    series = [Series("test / restricted", [s for s, _ in pts], [v for _, v in pts], "#e76f51")]
    return Drawn(figures.line_figure(RATIO_TITLE, series, "ratio", log_y=True, phases=data.phases,
                                     marks=data.marks))


RATIO_TITLE = "Test / restricted loss"


def _final(data: ReportData, part: str) -> Drawn | None:
    """Why the final-checkpoint figure ``part`` has nothing to show, or None when it has."""
    if data.final is None:
        return Drawn(None, data.missing.get("final", "the final checkpoint was not read (report_data(final=True))"))
    return None


def cyclic(data: ReportData) -> bool:
    """Whether the task's basis is cyclic (rows named cos k / sin k), so the Fourier figures apply."""
    return all(name.startswith("k=") for name in (data.final.component_names or ()))


def embedding_drawn(data: ReportData) -> Drawn:
    final = _final(data, "embed")
    if final is not None:
        return final
    f = data.final
    if f.embed_norms is None:
        return Drawn(None, data.missing.get("embed", "not computed"))
    keys = f.key_freqs or ()
    if cyclic(data):
        return Drawn(figures.embedding_norm_figure(f.basis_names, f.embed_norms, keys))
    return Drawn(figures.component_norm_figure(f.component_names, f.embed_component_norms, keys))


def logit_map_drawn(data: ReportData) -> Drawn:
    final = _final(data, "logit_fourier")
    if final is not None:
        return final
    f = data.final
    if f.logit_fourier is None:
        return Drawn(None, data.missing.get("logit_fourier", "not computed"))
    if cyclic(data):
        return Drawn(figures.logit_fourier_figure(f.basis_names, f.logit_fourier))
    return Drawn(figures.component_map_figure(f.component_names, f.logit_components))


def neurons_drawn(data: ReportData) -> Drawn:
    final = _final(data, "neurons")
    if final is not None:
        return final
    f = data.final
    if f.neuron_freq is None:
        return Drawn(None, data.missing.get("neurons", "not computed"))
    n_components = len(f.component_names) if f.component_names else len(f.basis_names) // 2
    return Drawn(figures.neuron_cluster_figure(f.neuron_freq, f.neuron_frac, f.neuron_explained, n_components))


def attention_drawn(data: ReportData) -> Drawn:
    final = _final(data, "attention")
    if final is not None:
        return final
    f = data.final
    if f.attn_eq is None:
        return Drawn(None, data.missing.get("attention", "not computed"))
    return Drawn(figures.attention_figure(f.attn_eq, f.attn_b_values))


def key_components_drawn(data: ReportData) -> Drawn:
    final = _final(data, "keys")
    if final is not None:
        return final
    f = data.final
    if f.component_shares is None:
        return Drawn(None, data.missing.get("key_freqs", "not computed"))
    return Drawn(figures.component_share_figure(f.component_names, f.component_shares, f.key_freqs or (), f.step))


# --- the public figures of a run ---------------------------------------------------------------------------
_SPECS = {spec.id: spec for spec in CURVES}


def _curve(source: Source, spec_id: str) -> go.Figure:
    return _shown(curve_drawn(report_data(source, final=False), _SPECS[spec_id]))


def _at_checkpoint(source: Source, step: int | None, drawn: Callable[[ReportData], Drawn]) -> go.Figure:
    return _shown(drawn(report_data(source, step)))


def losses(run: Source) -> go.Figure:
    """Train and test loss (log scale) over training, the phases shaded."""
    return _curve(run, "loss")


def accuracies(run: Source) -> go.Figure:
    """Train and test accuracy over training, the phases shaded."""
    return _curve(run, "accuracy")


def excluded_restricted(run: Source) -> go.Figure:
    """Excluded and restricted loss beside train and test loss (needs the measures table)."""
    return _curve(run, "excluded_restricted")


def excluded_restricted_accuracy(run: Source) -> go.Figure:
    """The accuracy versions of the excluded and restricted logits."""
    return _curve(run, "excluded_restricted_acc")


def restricted_ratio(run: Source) -> go.Figure:
    """Test loss over restricted loss at each checkpoint."""
    return _shown(ratio_drawn(report_data(run, final=False)))


def gini(run: Source) -> go.Figure:
    """Gini coefficient of W_E's and W_L's Fourier norms over training."""
    return _curve(run, "gini")


def weight_norm(run: Source) -> go.Figure:
    """Sum of squared weights over training, in total and per parameter."""
    return _curve(run, "weight_norm")


def neurons_explained(run: Source) -> go.Figure:
    """Share of MLP neurons explained by one key frequency, and of active MLP activations."""
    return _curve(run, "neurons_explained")


def excluded_per_frequency(run: Source) -> go.Figure:
    """Train loss with one key frequency's directions removed, per frequency."""
    return _curve(run, "excluded_per_freq")


def cos_cube(run: Source) -> go.Figure:
    """The cosine-cube coefficients α_k over training."""
    return _curve(run, "cos_cube")


def lookup(run: Source) -> go.Figure:
    """Neurons firing per input, memorised and generalised rows."""
    return _curve(run, "lookup")


def clock_pizza(run: Source) -> go.Figure:
    """Gradient symmetricity and distance irrelevance (Clock or Pizza)."""
    return _curve(run, "clock_pizza")


def llc(run: Source) -> go.Figure:
    """The local learning coefficient of each checkpoint (``grokkit measure RUN --measures all,llc``)."""
    return _curve(run, "llc")


def attention_over_training(run: Source) -> go.Figure:
    """Mean attention from '=' to a and to b per head over training."""
    return _curve(run, "attn_training")


def efficiency(run: Source) -> go.Figure:
    """Circuit efficiency (Varma et al. 2023): the train margin of the generalising and the memorising circuit
    per unit parameter norm over training."""
    return _curve(run, "efficiency")


def section(run: Source, section_id: str) -> go.Figure:
    """Any curve figure of the report by its section id (``[spec.id for spec in CURVES]``), including ones
    added without a function of their own."""
    if section_id not in _SPECS:
        raise RunError(f"section: no curve {section_id!r}; allowed: {', '.join(_SPECS)}")
    return _curve(run, section_id)


def gromov_form(run: Source) -> go.Figure:
    """An MLP's distance from Gromov's analytic form: per-neuron IPR of its Fourier spectra, shared frequencies."""
    return _curve(run, "gromov_form")


def gromov_phase(run: Source) -> go.Figure:
    """An MLP's phase relation |ψ − (φ_a ± φ_b)| over training (0 in Gromov's analytic solution)."""
    return _curve(run, "gromov_phase")


def curve(run: Source, key: str) -> go.Figure:
    """Any logged key (a metric or a measure, e.g. one added to ``MEASURES``) against step, as logged."""
    data = report_data(run, final=False)
    spec = next((s for s in CURVES if s.keys == (key,)), None)
    return _shown(curve_drawn(data, spec) if spec is not None else other_drawn(data, key))


def embedding(run: Source, step: int | None = None) -> go.Figure:
    """The embedding W_E in the Fourier basis (a cos and a sin bar per frequency), or by component of the
    group's basis, at checkpoint ``step`` (default the last)."""
    return _at_checkpoint(run, step, embedding_drawn)


def neuron_clusters(run: Source, step: int | None = None) -> go.Figure:
    """MLP neurons clustered by the frequency holding most of their activation's mass."""
    return _at_checkpoint(run, step, neurons_drawn)


def attention(run: Source, step: int | None = None) -> go.Figure:
    """Attention from '=' to a and to b over the (a, b) grid, per head."""
    return _at_checkpoint(run, step, attention_drawn)


def logit_map(run: Source, step: int | None = None) -> go.Figure:
    """The logits in the 2-D Fourier basis (norm over output classes), or by pair of group components."""
    return _at_checkpoint(run, step, logit_map_drawn)


def key_components(run: Source, step: int | None = None) -> go.Figure:
    """Each component's share of the centred logit table; the key components marked, their total in the title."""
    return _at_checkpoint(run, step, key_components_drawn)


RUN_FIGURES: dict[str, Callable[..., go.Figure]] = {
    "losses": losses, "accuracies": accuracies, "excluded_restricted": excluded_restricted,
    "excluded_restricted_accuracy": excluded_restricted_accuracy, "restricted_ratio": restricted_ratio,
    "gini": gini, "weight_norm": weight_norm, "neurons_explained": neurons_explained,
    "excluded_per_frequency": excluded_per_frequency, "cos_cube": cos_cube, "lookup": lookup,
    "clock_pizza": clock_pizza, "llc": llc, "attention_over_training": attention_over_training,
    "efficiency": efficiency, "gromov_form": gromov_form, "gromov_phase": gromov_phase,
    "embedding": embedding, "neuron_clusters": neuron_clusters, "attention": attention, "logit_map": logit_map,
    "key_components": key_components,
}
"""Figure name → function of a run (``run.plot(name)``); the final-checkpoint ones also take ``step``."""
FINAL_FIGURES = ("embedding", "neuron_clusters", "attention", "logit_map", "key_components")
