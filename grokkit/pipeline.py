"""Train → measure → report in one call: what ``grokkit run`` does, as a function a notebook calls.

    >>> result = grokkit.run_pipeline("quickstart", "runs/quick", ["train.steps=2000"])
    >>> result.run            # the trained run (grokkit.Run); result.report: its report.html
    >>> grokkit.plots.losses(result.run)

Each stage reuses what the folder already has: a run with the same spec resumes from its
last checkpoint (a finished one is left as it is), a measures table that covers every
checkpoint is kept, and the report is written again. Lines meant for a person go to ``say``
(``print`` by default; ``None`` for silence), so the command and a notebook show the same.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from grokkit.measures.keycheck import KeyWarning
from grokkit.measures.offline import measure_run
from grokkit.measures.registry import resolve
from grokkit.report.html import write_report
from grokkit.report.summary import keys_lines, keys_of, measures_of, run_html, run_phase_lines, summary_lines
from grokkit.run import Run
from grokkit.spec import RunConfig, load_spec
from grokkit.track import make_trackers, send_offline_measures
from grokkit.workflow import train_run

Say = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


@dataclass
class PipelineResult:
    """What ``run_pipeline`` did: the run, its report, the self-check's warnings and the time of each stage."""

    run: Run
    report: Path
    warnings: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)  # train, measures, report, total

    def __repr__(self) -> str:
        times = " | ".join(f"{k} {v:.1f} s" for k, v in self.seconds.items())
        return "\n".join([*summary_lines(self.run), f"report   {self.report}", f"time     {times}"])

    def _repr_html_(self) -> str:
        times = ", ".join(f"{k} {v:.1f} s" for k, v in self.seconds.items())
        from grokkit.files.page import esc

        notes = "".join(f"<div style='color:#8a5a00'>warning: {esc(w)}</div>" for w in self.warnings)
        return (run_html(self.run) + notes
                + f"<div style='font-size:12px;color:#555'>report: {esc(self.report)}; time: {esc(times)}</div>")


def resolve_config(spec: str | Path | RunConfig, overrides: Iterable[str] = ()) -> RunConfig:
    """A checked config: ``spec`` as it is, or a spec file / packaged spec name with ``overrides`` applied."""
    if isinstance(spec, RunConfig):
        if list(overrides):
            from grokkit.errors import ConfigError

            raise ConfigError("overrides apply to a spec file or name; change the RunConfig itself instead")
        return spec
    return load_spec(spec, list(overrides))


def train_spec(spec: str | Path | RunConfig, out: str | Path, overrides: Iterable[str] = (), *,
               progress: bool = True, log_backends: str | None = None, say: Say | None = print) -> Run:
    """Train ``spec`` into the run folder ``out`` (what ``grokkit train`` does); the same spec already there resumes
    from its last checkpoint. ``log_backends``: tracker backends instead of the spec's ``[log]``."""
    say = say or _quiet
    config = resolve_config(spec, overrides)  # validated before anything touches disk
    make_trackers(config, log_backends)  # a missing tracker package or W&B login, too
    run = Run.create(out, config)
    resume = bool(run.checkpoint_steps())
    if resume:
        state = "finished" if (status := run.status()) is not None and status.finished else "started"
        say(f"{run.path}: same config already {state} here; resuming from step {run.checkpoint_steps()[-1]}")
    train_run(run, resume=resume, progress=progress, log=log_backends)
    return run


def measures_complete(run: Run) -> bool:
    """True when the measures table has a row with every applicable measure's keys for every checkpoint."""
    if run.config.task.is_mixture:  # each task's measures, prefixed, and the mixture's own
        from grokkit.measures.mixture import mixture_keys

        expected = mixture_keys(run.config.task)
    else:
        expected = {key for measure in resolve(None, run.config.task.op, model_kind=run.config.model.kind)
                    for key in measure.keys}
    rows = {row["step"]: row for row in run.measures()}
    return all(step in rows and expected <= rows[step].keys() for step in run.checkpoint_steps())


def measure_checked(run: Run, measures: list[str] | None = None, **kwargs: Any) -> tuple[list[dict[str, Any]], list[str]]:
    """``measure_run`` with its self-check warnings (``grokkit.measures.keycheck.KeyWarning``) returned as
    messages to show, not as Python warnings."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", KeyWarning)
        rows = measure_run(run, measures, **kwargs)
    for w in caught:  # anything else goes on as it would have
        if not issubclass(w.category, KeyWarning):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return rows, [str(w.message) for w in caught if issubclass(w.category, KeyWarning)]


def run_pipeline(spec: str | Path | RunConfig, out: str | Path, overrides: Iterable[str] = (), *,
                 progress: bool = True, log_backends: str | None = None, say: Say | None = print) -> PipelineResult:
    """Train ``spec`` into ``out``, measure every checkpoint, write ``out/report.html``.

    ``spec``: a spec file, a packaged spec's name (``"quickstart"``) or a ``RunConfig``;
    ``overrides``: ``section.key=value`` items as ``--set`` takes them. Errors are
    ``GrokkitError`` with a one-line message, raised before anything is written.
    """
    say = say or _quiet
    t0 = time.perf_counter()
    run = train_spec(spec, out, overrides, progress=progress, log_backends=log_backends, say=say)
    for line in summary_lines(run):
        say(line)
    t1 = time.perf_counter()
    warned: list[str] = []
    model = run.config.model
    if model.n_layers != 1 or model.layer_norm:
        say(f"measures: skipped: the progress measures read a one-layer model without LayerNorm "
            f"(this one: n_layers = {model.n_layers}, layer_norm = {str(model.layer_norm).lower()})")
    elif measures_complete(run):
        say(f"measures: {run.folder.measures_path} already covers every checkpoint")
    else:
        say(f"measures: measuring {len(run.checkpoint_steps())} checkpoints …")
        warned = measure_checked(run, progress=progress)[1]
        sent = send_offline_measures(run, log_backends)  # the trackers saw only the live measures while training
        if sent:
            say(f"measures: sent to {', '.join(sent)}")
    t2 = time.perf_counter()
    for line in [*run_phase_lines(run), *keys_lines(keys_of(measures_of(run)), warn=not warned)]:
        say(line)
    for message in warned:
        say(f"warning: {message}")
    page = write_report(run)
    say(f"report: {page}")
    t3 = time.perf_counter()
    seconds = {"train": t1 - t0, "measures": t2 - t1, "report": t3 - t2, "total": t3 - t0}
    say(f"time     train {seconds['train']:.1f} s | measures {seconds['measures']:.1f} s | "
        f"report {seconds['report']:.1f} s | total {seconds['total']:.1f} s")
    return PipelineResult(run, page, warned, seconds)
