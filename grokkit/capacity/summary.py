"""A capacity study in words: what ``grokkit info DIR`` prints on a study folder, and its ``--json``.

``study_summary`` gathers the facts (what the study is, the steps trained, per β and task the learned
width predicted by Theorem 3 beside the one measured, Proposition 6's critical width, δ_F at each width
measured beside predicted, the injection summary, where the report is); ``study_lines`` formats them.
"""

from __future__ import annotations

from statistics import mean
from typing import Any

from grokkit.capacity.load import Study
from grokkit.files.page import REPORT_FILE


def _mean(values: list) -> float | None:
    values = [v for v in values if v is not None]
    return mean(values) if values else None


def study_summary(study: Study) -> dict[str, Any]:
    """The facts ``grokkit info`` shows about a study (JSON-ready)."""
    spec, mix = study.spec, study.spec.capacity
    last: dict[int, dict] = {}
    for row in study.curves:
        last[row["member"]] = row
    betas = []
    for record in study.theory:
        beta = record["beta"]
        agreement = study.summary["agreement"].get(str(beta))
        plain = [r for r in last.values() if r["beta"] == beta and r["gap"] == 0]
        tasks = []
        for k in range(mix.K):
            measured = None if agreement is None else agreement["measured_learned_width"].get(str(k + 1))
            tasks.append({"task": k + 1, "pi": record["pi"][k], "in_F": k + 1 in record["F"],
                          "first_width": record["first_width"][k],
                          "predicted_learned_width": record["learned_width"][k], "measured_learned_width": measured,
                          "critical_width": record["critical_width"][k]})
        widths = sorted({r["N"] for r in plain})
        delta_F = [{"N": N, "measured": _mean([r["delta_F"] for r in plain if r["N"] == N]),
                    "predicted": record["widths"][str(N)]["delta_F"]} for N in widths]
        betas.append({"beta": beta, "F": record["F"], "tasks": tasks, "delta_F": delta_F,
                      "agreement": None if agreement is None else
                      {k: agreement[k] for k in ("cells", "agree", "unambiguous_cells", "unambiguous_agree")}})
    rare = mix.rare
    injection = []
    for row in study.summary["injection"]:
        final = last.get(row["member"])
        injection.append(row | {"final_s_tilde": None if final is None else final["s_tilde"][rare]})
    report = study.path / REPORT_FILE
    return {"study": str(study.path), "K": mix.K, "d_T": mix.d_T, "D": mix.dim, "alpha": mix.alphas or mix.alpha,
            "betas": spec.betas, "rare_task": rare + 1, "widths": spec.stack.widths, "seeds": spec.stack.seeds,
            "gaps": spec.injection.gaps, "models": len(study.members), "steps": study.steps,
            "extended": study.extended, "objective": spec.train.objective, "batch_size": spec.train.batch_size,
            "lr": spec.train.lr, "train_seconds": study.summary["train_seconds"], "device": study.summary.get("device"),
            "theory": betas, "injection": injection, "report": str(report) if report.is_file() else None}


def _w(width: int | None) -> str:
    return "–" if width is None else str(width)


def study_lines(study: Study, s: dict[str, Any] | None = None) -> list[str]:
    """``grokkit info DIR``'s text for a capacity study (``s``: its ``study_summary`` if at hand)."""
    s = study_summary(study) if s is None else s
    variant = " (the exact expected-loss VARIANT, not the paper's method)" if s["objective"] == "expected" else ""
    lines = [f"capacity study  {s['study']}",
             f"mixture  K = {s['K']} tasks × d_T = {s['d_T']} (D = {s['D']}), α = {s['alpha']}, β ∈ {s['betas']}, "
             f"rare task {s['rare_task']}",
             f"stack    {s['models']} models: widths {s['widths']} × {s['seeds']} seed(s)"
             + (f" × gaps {s['gaps']}" if s["gaps"] else "")
             + f"; batch {s['batch_size']}, lr {s['lr']:g}, objective {s['objective']}{variant}",
             f"steps    {s['steps']} trained" + "".join(f" (resumed at {e['from_step']})" for e in s["extended"])
             + f"; {s['train_seconds']:.0f} s of training on {s['device']}"]
    for b in s["theory"]:
        a = b["agreement"]
        head = f"β = {b['beta']}: F = tasks {b['F']}"
        if a is not None:
            head += (f"; learned (s_k > {study.spec.measures.learned}) as predicted in {a['agree']}/{a['cells']} "
                     f"(task, width, seed) cells, {a['unambiguous_agree']}/{a['unambiguous_cells']} where the "
                     "optimum is unique")
        lines.append(head)
        lines.append("  task       π   F  first width  learned width: predicted     measured  critical width (Prop. 6)")
        for t in b["tasks"]:
            measured = "–" if a is None else ("not learned" if t["measured_learned_width"] is None
                                              else str(t["measured_learned_width"]))
            lines.append(f"  {t['task']:>4}  {t['pi']:.4f}  {'F' if t['in_F'] else ' '}  {_w(t['first_width']):>11}  "
                         f"{_w(t['predicted_learned_width']):>24}  {measured:>11}  {_w(t['critical_width']):>24}")
        if b["delta_F"]:
            lines.append("  δ_F measured / predicted: " + ", ".join(
                f"N = {d['N']}: {d['measured']:.3g} / {d['predicted']:.3g}" for d in b["delta_F"]
                if d["measured"] is not None))
    for row in s["injection"]:
        decay = "–" if row["decay"] is None else f"{row['decay']:+.3f}"
        final = "–" if row["final_s_tilde"] is None else f"{row['final_s_tilde']:.3f}"
        lines.append(f"injection  N = {row['N']}, G = {row['gap']}, seed {row['seed']}, β = {row['beta']}: final s̃_r "
                     f"{final}; gain {row['gain']:+.3f} per injection, decay {decay} between")
    lines.append(f"report   {s['report'] or 'none yet: `grokkit report ' + s['study'] + '`'}")
    return lines
