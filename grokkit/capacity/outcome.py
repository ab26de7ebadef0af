"""A study's outcome: each model's final measurement per task beside Theorem 3's prediction, and the
agreement with the predicted staircase per β (what results.jsonl and summary.json hold).

A cell is learned when the final s_k exceeds measures.learned, predicted learned when Theorem 3's
optimum gives s*_k above it; the comparison is per β, on the members without injection, cell by
cell over (task, width, seed). ``grokkit.capacity.study`` writes these; ``grokkit.capacity.load``
recomputes them from the curves to check results.jsonl.
"""

from __future__ import annotations

from grokkit.capacity.spec import CapacitySpec


def final_rows(spec: CapacitySpec, curves: list[dict], theories: dict[float, object]) -> list[dict]:
    """One row per member and task from each member's last measurement, with the theory's prediction."""
    last: dict[int, dict] = {}
    for row in curves:
        last[row["member"]] = row  # curves are in step order
    thr = spec.measures.learned
    out = []
    for member, row in sorted(last.items()):
        theory = theories[row["beta"]]
        optimum = theory.optimum(row["N"])
        learned_width = theory.learned_width(thr)
        for k in range(spec.capacity.K):
            out.append({"member": member, "N": row["N"], "seed": row["seed"], "beta": row["beta"], "gap": row["gap"],
                        "task": k + 1, "pi": float(theory.pi[k]), "step": row["step"],
                        "loss_norm": row["loss_norm"][k], "s": row["s"][k], "s_tilde": row["s_tilde"][k],
                        "predicted_loss_norm": float(optimum.loss_norm[k]), "predicted_s": float(optimum.signal[k]),
                        "learned": row["s"][k] > thr, "predicted_learned": float(optimum.signal[k]) > thr,
                        "first_width": theory.first_width[k], "predicted_learned_width": learned_width[k],
                        "critical_width": theory.critical_width(k), "in_F": k in theory.F, "ambiguous": bool(optimum.ambiguous[k])})
    return out


def agreement(results: list[dict], widths: list[int]) -> dict:
    """Per β (members without injection): share of (task, width, seed) cells where learned == predicted
    (overall, and over the cells whose prediction does not hang on a tie of utilities), the mismatches
    ``[task, width, seed, ambiguous]``, and per task the smallest width learned in every seed against
    the predicted one."""
    out = {}
    for beta in sorted({r["beta"] for r in results}):
        rows = [r for r in results if r["beta"] == beta and r["gap"] == 0]
        if not rows:
            continue
        match = [r["learned"] == r["predicted_learned"] for r in rows]
        clear = [r["learned"] == r["predicted_learned"] for r in rows if not r["ambiguous"]]
        tasks = sorted({r["task"] for r in rows})
        measured_width, predicted_width, mismatches = {}, {}, []
        for k in tasks:
            mine = [r for r in rows if r["task"] == k]
            predicted_width[k] = mine[0]["predicted_learned_width"]
            learned = [N for N in sorted(widths) if all(r["learned"] for r in mine if r["N"] == N)]
            measured_width[k] = learned[0] if learned else None
            mismatches += [(k, r["N"], r["seed"], r["ambiguous"]) for r in mine if r["learned"] != r["predicted_learned"]]
        out[str(beta)] = {"cells": len(rows), "agree": sum(match), "agreement": sum(match) / len(match),
                          "unambiguous_cells": len(clear), "unambiguous_agree": sum(clear),
                          "measured_learned_width": measured_width, "predicted_learned_width": predicted_width,
                          "mismatches": [list(m) for m in mismatches]}
    return out
