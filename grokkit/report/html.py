"""A run's report page: the summary and key-frequency tables and the figure cards, in the shared shell.

The page itself (one self-contained HTML file, plotly.js embedded once, everything
escaped) is ``grokkit.files.page``; this module decides what a run's page shows.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from grokkit.files.page import REPORT_FILE, card, esc, page_html, page_path, table, write_page
from grokkit.files.run_folder import RunStatus
from grokkit.report.collect import ReportData, collect, measures_at
from grokkit.report.sections import curve_sections, final_sections

# What a measures row's ``key_freqs_source`` means, for the reader.
SOURCES = {
    "final": "detected once at the final checkpoint and used at every checkpoint",
    "user": "given in the spec ([measures] key_freqs)",
    "per_checkpoint": "detected at each checkpoint; those of the last one are shown",
}

# A figure whose layout needs the whole width of the page.
WIDE = {"attention", "neurons", "measures", "final"}


def _number(value: Any) -> Any:
    """Floats to four significant digits; anything else as it is."""
    return f"{value:.4g}" if isinstance(value, float) else value


def _fmt(value: Any) -> str:
    return esc(_number(value))


def _pct(value: Any) -> str:
    return f"{value:.1%}" if isinstance(value, (int, float)) and not isinstance(value, bool) else esc(value)


def _state(status: RunStatus | None) -> str:
    if status is None or not status.finished:
        return "in progress"
    return "stopped early after grokking" if status.stopped_early else "finished"


def summary_table(data: ReportData) -> str:
    """Task, model, progress, final numbers and phases, as a two-column table."""
    task, model, train = data.config["task"], data.config["model"], data.config["train"]
    last = data.metrics[-1] if data.metrics else {}
    # every value is escaped: the config and the rows come from files a run folder was handed with
    rows = [
        ("task", esc(f"{task['op']}, p = {task['p']}, frac_train = {task['frac_train']}")),
        ("model", esc(f"d_model {model['d_model']}, {model['n_heads']} heads × d_head {model['d_head']}, "
                       f"d_mlp {model['d_mlp']}, {model['act_fn']}")),
        ("training", esc(f"{train['optimizer']}, lr {train['lr']}, weight decay {train['weight_decay']}; "
                          f"step {last.get('step', 0)} of {train['steps']}, {_state(data.status)}")),
    ]
    if last:
        rows.append(("final", f"train loss {_fmt(last['train_loss'])} (acc {_pct(last['train_acc'])}), "
                              f"test loss {_fmt(last['test_loss'])} (acc {_pct(last['test_acc'])})"))
    if data.outcome is not None:
        rows.append(("outcome", esc(data.outcome.describe())))
    for mark in data.marks:
        rows.append(("data changed", esc(f"at step {mark.step}: {mark.label} (the dashed line in the curves)")))
    if data.phases:
        bands = "; ".join(f"{b.name} {b.start}–{b.end}" for b in data.phases)
        rows.append(("phases", f"<details><summary>{esc(bands)}</summary>"
                               f"<p class='caption'>{esc(data.phase_rule)}</p></details>"))
    elif "phases" in data.missing:
        rows.append(("phases", f"<details><summary>none detected</summary>"
                               f"<p class='caption'>{esc(data.missing['phases'])}</p></details>"))
    if data.paper_phases is not None:
        rows.append(("phases (paper's definitions)",
                     f"<details><summary>{esc(data.paper_phases.describe())}</summary>"
                     f"<p class='caption'>{esc(data.paper_phases.rule)}</p></details>"))
    m = data.milestones
    at = lambda step: "not yet" if step is None else f"step {step}"  # noqa: E731
    rows.append(("99 % accuracy", esc(f"train: {at(m.memorised_step)}; test: {at(m.grokked_step)}")))
    if data.records:  # an imported run: say which numbers are the source's own and which grokkit's
        rows.append(("from", esc(data.provenance)))
    if data.final and data.final.key_freqs is not None:
        final = data.final
        text = ", ".join(map(str, final.key_freqs)) or "none"
        if final.keys_explained is not None:
            text += f" (explain {final.keys_explained:.3f} of the logit table at step {final.step}"
            text += f"; {final.key_rule} rule)" if final.key_rule not in ("", "user") else "; given)"
        rows.append(("key frequencies", esc(text)))
    rows.append(("measures", f"{len(data.measures)} checkpoints measured" if data.measures else "none"))
    body = "".join(f"<tr><th class='l'>{esc(k)}</th><td class='l'>{v}</td></tr>" for k, v in rows)
    return f"<table>{body}</table>"


def key_check_banner(data: ReportData) -> str:
    """The self-check's warning, at the top of the page: a grokked run whose keys do not carry its logits."""
    check = data.final.key_check if data.final else None
    if check is None:
        return ""
    style = "background: #fdecea; border: 2px solid #c0392b; padding: 10px 14px; margin: 12px 0"
    return (f"<div class='banner' style='{style}'><b>Warning: the key components miss the circuit.</b> "
            f"{esc(check.message)}</div>")


def key_freq_table(data: ReportData) -> str:
    """One row per key frequency: its W_E norms, its neurons, and the final per-frequency measures."""
    final = data.final
    if final is None or final.key_freqs is None:
        reason = data.missing.get("key_freqs") or data.missing.get("final", "not computed")
        return f"<p class='missing'>{esc(reason)}</p>"
    if not final.key_freqs:
        return "<p class='missing'>No key frequency found: the model has not (yet) formed a Fourier circuit.</p>"
    last = measures_at(data.measures, final.step)
    norms = dict(zip(final.basis_names or (), final.embed_norms if final.embed_norms is not None else ()))
    cols = ["k", "W_E norm cos k", "W_E norm sin k"]
    if final.neuron_freq is not None:
        cols.append("explained neurons")
    per_freq = [(key, label) for key, label in (("excluded_loss_per_freq", "excluded loss without k"),
                                                 ("cos_cube_alpha", "α_k")) if key in last]
    cols += [label for _, label in per_freq]
    body = []
    for k in final.key_freqs:
        cells = [k, norms.get(f"cos {k}", ""), norms.get(f"sin {k}", "")]
        if final.neuron_freq is not None:
            cells.append(int(((final.neuron_freq == k) & final.neuron_explained).sum()))
        cells += [last[key].get(str(k), "") for key, _ in per_freq]
        body.append([_number(float(c) if hasattr(c, "dtype") else c) for c in cells])
    source = SOURCES.get(final.key_freqs_source, final.key_freqs_source)
    if per_freq:
        source += f"; excluded loss and α_k at step {last['step']}"
    source = f"<p class='caption'>Key frequencies {esc(source)}.</p>"
    return source + table(cols, body)


def render_page(data: ReportData) -> str:
    """The whole report as one HTML string."""
    figures: dict[str, Any] = {}
    blocks = [f"{key_check_banner(data)}<h2>Summary</h2>{summary_table(data)}"]
    groups = [("Training and progress measures", curve_sections(data)), ("Final checkpoint", final_sections(data))]
    if data.config["task"].get("op") == "mixture":  # the single-task curves it has no columns for are left out
        from grokkit.report.mixture import mixture_sections

        groups[0] = (groups[0][0], [s for s in groups[0][1] if s.figure is not None or s.id in ("loss", "accuracy")])
        groups.insert(1, ("Task mixture", mixture_sections(data)))
    for heading, sections in groups:
        blocks.append(f"<h2>{esc(heading)}</h2><div class='grid'>"
                      + "".join(card(s, figures, wide=s.id in WIDE) for s in sections) + "</div>")
    blocks.append(f"<h2>Key frequencies</h2>{key_freq_table(data)}")
    title = f"grokkit report: {Path(data.run_path).name}"
    return page_html(title, esc(data.run_path), blocks, figures)


def write_report(run: Any, out: str | Path | None = None, step: int | None = None) -> Path:
    """Write ``run``'s report (default ``RUN/report.html``) and return its path.

    A report written inside the run folder is gathered and written under the run's lock (one rule for
    writers, ``grokkit.files.lock``): beside a process training or measuring the run it is refused in
    one line, and it never shows a table half-way through a rewrite."""
    path = page_path(out) if out is not None else Path(run.path) / REPORT_FILE  # `--out .` or `--out dir/` too
    if not _inside(path, Path(run.path)):
        return write_page(path, render_page(collect(run, step)))
    with run.locked():
        return write_page(path, render_page(collect(run, step)))


def _inside(path: Path, folder: Path) -> bool:
    """Whether ``path`` lies in ``folder`` (both resolved, links and '..' included)."""
    return path.resolve().is_relative_to(folder.resolve())
