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
from grokkit.capacity.outcome import agreement, final_rows
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
