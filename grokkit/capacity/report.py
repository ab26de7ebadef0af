"""The HTML report of a capacity study, in the shared page shell (``grokkit.files.page``).

Sections: the learned pattern against the predicted staircase (a table per β), then the
figures of ``grokkit.capacity.figures``: the task × width phase diagram with the staircase
drawn on it, per-task loss against width with the prediction, the residual δ_F and its kink,
retention over injection gaps per width, and gradient interference against width.
"""

from __future__ import annotations

from pathlib import Path

from grokkit.capacity.figures import figures as study_figures
from grokkit.capacity.folder import CapacityFolder
from grokkit.files.page import REPORT_FILE, esc, figure_div, page_html, table, write_page

PUBLISHED = ("Published (Huang et al. 2026, Figs. 2, 17, 18): the learned region of the task × width diagram follows "
             "the utility staircase for every β; with rank-1 tasks the width at which task k is learned is k, "
             "\"almost perfect\". The rare task's s̃ stays near 0 until δ_F falls below a threshold; the final rare "
             "signal falls with the gap G, more steeply for narrow models.")

CAPTIONS = {
    "phase": "Colour: final s_k (mean over seeds). Red line: Theorem 3's predicted learned width (s*_k > the "
             "threshold); dotted white: Proposition 6's critical width (tasks outside F).",
    "loss": "Markers: measured normalised loss; dashed: Theorem 3's optimum at that width.",
    "residual": "What the frequent set F still misses, and the rare task's normalised signal against it.",
    "retention": "Rare task withheld for G steps, then one batch of m = G·B·π_r samples.",
    "interference": "Cosine of the encoder gradients of a rare-task batch and a frequent-set batch (and of their "
                    "exact expectations).",
}


def agreement_table(summary: dict) -> str:
    rows = []
    for beta, a in summary["agreement"].items():
        tie = sum(1 for m in a["mismatches"] if m[3])
        rows.append([beta, a["cells"], f"{a['agreement']:.1%}", len(a["mismatches"]), tie,
                     f"{a['unambiguous_agree']}/{a['unambiguous_cells']}"])
    if not rows:
        return ""
    head = table(["β", "(task, width, seed) cells", "learned == predicted", "mismatches",
                  "… at a tie of utilities (optimum not unique)", "agree where the optimum is unique"], rows)
    widths = []
    for beta, a in summary["agreement"].items():
        for k, predicted in a["predicted_learned_width"].items():
            widths.append([beta, k, predicted if predicted is not None else "above D",
                           a["measured_learned_width"][k] if a["measured_learned_width"][k] is not None else "not learned"])
    return head + "<details><summary>Width at which each task is learned</summary>" + table(
        ["β", "task", "predicted (Theorem 3)", "measured (smallest stacked width, every seed)"], widths) + "</details>"


def write_report(path: str | Path, out: str | Path | None = None) -> Path:
    """Write the report of the finished study at ``path`` (every file verified: ``load_study``) to ``out``
    (default: PATH/report.html) and return its path."""
    from grokkit.capacity.load import load_study

    study = load_study(path)
    folder = CapacityFolder(study.path)
    spec, summary = study.spec, study.summary
    figs: dict = {}
    mix, train = spec.capacity, spec.train
    variant = " — the exact expected-loss VARIANT, not the paper's method" if train.objective == "expected" else ""
    blocks = [f"<p>K = {mix.K} tasks, d_T = {mix.d_T}, D = {mix.dim}, β ∈ {esc(spec.betas)}, α = "
              f"{esc(mix.alphas or mix.alpha)}; widths {esc(spec.stack.widths)} × {spec.stack.seeds} seed(s)"
              f"{esc(', gaps ' + str(spec.injection.gaps) if spec.injection.gaps else '')}: {summary['members']} models "
              f"in one stack, {train.steps} steps, batch {train.batch_size} ({esc(train.composition)} composition), "
              f"objective {esc(train.objective)}{esc(variant)}; trained in {summary['train_seconds']:.0f} s on "
              f"{esc(summary['device'])}.</p>",
              "<h2>Learned pattern against the predicted staircase</h2>" if summary["agreement"] else "",
              agreement_table(summary), f"<p>{esc(PUBLISHED)}</p>"]
    for name, fig in study_figures(folder.path).items():
        kind = name.split("_")[0]
        blocks.append(f"<h2>{esc(fig.layout.title.text or name)}</h2><p class='caption'>{esc(CAPTIONS.get(kind, ''))}"
                      f"</p>{figure_div(name, fig, figs)}")
    if study.extended:
        blocks.insert(1, "<p>Trained on with <code>grokkit resume --steps</code>: " + esc(", ".join(
            f"from step {e['from_step']} to {e['to_step']}" for e in study.extended)) + ".</p>")
    return write_page(Path(out) if out is not None else folder.path / REPORT_FILE, page_html(spec.report.title, esc(folder.path), blocks, figs))
