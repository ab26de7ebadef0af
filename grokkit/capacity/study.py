"""A capacity study, end to end: theory → one stacked training with measures → results on disk → report.

``run_study`` is what ``grokkit capacity SPEC --out DIR`` does, ``resume_study`` what ``grokkit resume DIR
--steps N`` does on a study; a notebook calls them the same way.
The comparison with the theory is per β, on the members without injection, cell by cell over
(task, width): a cell is learned when the final s_k exceeds measures.learned, predicted learned
when Theorem 3's optimum gives s*_k above it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from grokkit.capacity.folder import CapacityFolder
from grokkit.capacity.measures import StudyRecorder, injection_summary
from grokkit.capacity.spec import CapacitySpec
from grokkit.capacity.theory import mixture_theory, theory_record
from grokkit.capacity.train import StackStart, TrainedStack, train_stack
from grokkit.errors import ConfigError, RunError


@dataclass
class StudyResult:
    """What a finished study wrote."""

    path: Path
    results: list[dict]
    """One row per member and task (measured beside predicted)."""
    summary: dict
    """Per β: agreement with the staircase, learned widths; injection summary; timings."""


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


def run_study(spec: CapacitySpec, out: str | Path, progress: bool = False, log=print) -> StudyResult:
    """Train every member of ``spec`` in one stack with the measures, write the folder and its report."""
    start = time.perf_counter()
    device = spec.train.resolve_device()  # 'cuda' without a GPU is refused before the folder exists
    folder = CapacityFolder.create(out, spec.to_dict())
    members = spec.members()
    recorder = StudyRecorder(members, spec.capacity, spec.measures, spec.train.steps, device)
    log(f"{len(members)} models (widths {spec.stack.widths}) in one stack, {spec.train.steps} steps")
    trained = train_stack(members, spec.capacity, spec.train, [recorder], device=device, progress=progress)
    return _finish(folder, spec, trained, recorder, trained.seconds, device, start)


def resume_study(path: str | Path, steps: int, progress: bool = False, log=print) -> StudyResult:
    """Train a finished study on to step ``steps``, bit for bit as if it had been started with train.steps =
    ``steps`` (its optimiser, data and measurement generators go on from where they stood), under the folder's
    lock; rewrite its outputs and report and record the extension in capacity.json."""
    from grokkit.capacity.load import load_study
    from grokkit.capacity.spec import check_memory, spec_from_dict
    from grokkit.files.lock import locked

    start = time.perf_counter()
    with locked(path):
        study = load_study(path)  # every file verified before anything is allocated
        if steps <= study.steps:
            raise ConfigError(f"--steps: {path} has trained {study.steps} steps already; allowed: more than "
                              f"{study.steps}")
        values = study.spec.to_dict()
        values["train"]["steps"] = steps
        spec = spec_from_dict(values, source=str(path))
        check_memory(spec)
        device = spec.train.resolve_device()
        folder = CapacityFolder(path)
        weights, state = folder.weights(), folder.state()
        members = spec.members()
        recorder = StudyRecorder(members, spec.capacity, spec.measures, spec.train.steps, device)
        measured = {k[len("measures."):]: v for k, v in state.items() if k.startswith("measures.")}
        try:
            recorder.load_state(measured, study.curves, study.injections)
        except ValueError as exc:
            raise RunError(f"{folder.path}: its training state does not fit its spec ({exc})") from None
        log(f"{len(members)} models from step {study.steps} to {steps}")
        trained = train_stack(members, spec.capacity, spec.train, [recorder], device=device, progress=progress,
                              start=StackStart(study.steps, weights["W"], weights["decoders"],
                                               {k: v for k, v in state.items() if not k.startswith("measures.")}))
        folder.record_extension(spec.to_dict(), study.steps)
        seconds = study.summary["train_seconds"] + trained.seconds
        return _finish(folder, spec, trained, recorder, seconds, device, start)


def _finish(folder: CapacityFolder, spec: CapacitySpec, trained: TrainedStack, recorder: StudyRecorder,
            train_seconds: float, device: str, start: float) -> StudyResult:
    """Results beside the theory, the summary, every output file and the report."""
    from grokkit.capacity.report import write_report

    theories = {beta: mixture_theory(spec.capacity, beta) for beta in spec.betas}
    results = final_rows(spec, recorder.rows, theories)
    summary = {"agreement": agreement(results, spec.stack.widths), "injection": injection_summary(recorder.injections),
               "train_seconds": train_seconds, "clipped_steps": trained.clipped, "members": len(trained.members),
               "steps": trained.steps, "device": device}
    theory = [theory_record(theories[b], spec.stack.widths, spec.measures.learned) for b in spec.betas]
    models = trained.models
    state = trained.state | {f"measures.{k}": v for k, v in recorder.state().items()}
    folder.write_outputs(theory, recorder.rows, recorder.injections, results, summary,
                         {"W": models.W, "decoders": models.decoders}, models.widths, state)
    write_report(folder.path)
    summary["seconds"] = time.perf_counter() - start
    return StudyResult(folder.path, results, summary)
