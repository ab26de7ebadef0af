"""grokkit run SPEC.toml --out RUN [--set section.key=value ...]: train, measure, report."""

from __future__ import annotations

import argparse
from typing import Any

HELP = "train a run, measure every checkpoint and write its HTML report, in one go"


def configure(parser: argparse.ArgumentParser) -> None:
    from grokkit.commands.train import add_common, add_log

    parser.add_argument("spec", help="task spec (TOML with [task], [model], [train], [measures])")
    parser.add_argument("--out", required=True, help="run directory to create (or to continue, same spec)")
    add_common(parser)
    add_log(parser)


def measures_complete(run: Any) -> bool:
    """True when the measures table has a row with every applicable measure's keys for every checkpoint."""
    from grokkit.measures.registry import resolve

    expected = {key for measure in resolve(None, run.config.task.op, model_kind=run.config.model.kind) for key in measure.keys}
    rows = {row["step"]: row for row in run.measures()}
    return all(step in rows and expected <= rows[step].keys() for step in run.checkpoint_steps())


def run(args: argparse.Namespace) -> int:
    import time

    from grokkit.commands import train as train_command
    from grokkit.commands.info import keys_of, measures_of, print_keys, print_phases
    from grokkit.commands.measure import measure_checked
    from grokkit.report import write_report
    from grokkit.run import Run

    t0 = time.perf_counter()
    train_command.run(args)  # trains, or resumes the same spec, and prints the summary
    t1 = time.perf_counter()
    run_ = Run(args.out)
    warned: list[str] = []
    model = run_.config.model
    if model.n_layers != 1 or model.layer_norm:
        print(f"measures: skipped: the progress measures read a one-layer model without LayerNorm "
              f"(this one: n_layers = {model.n_layers}, layer_norm = {str(model.layer_norm).lower()})")
    elif measures_complete(run_):
        print(f"measures: {run_.folder.measures_path} already covers every checkpoint")
    else:
        print(f"measures: measuring {len(run_.checkpoint_steps())} checkpoints …", flush=True)
        warned = measure_checked(run_, progress=not args.no_progress)[1]
        from grokkit.track import send_offline_measures

        sent = send_offline_measures(run_, args.log)  # the trackers saw only the live measures while training
        if sent:
            print(f"measures: sent to {', '.join(sent)}")
    t2 = time.perf_counter()
    print_phases(run_)
    print_keys(keys_of(measures_of(run_)), warn=not warned)
    for message in warned:
        print(f"warning: {message}")
    print(f"report: {write_report(run_)}")
    t3 = time.perf_counter()
    print(f"time     train {t1 - t0:.1f} s | measures {t2 - t1:.1f} s | report {t3 - t2:.1f} s | "
          f"total {t3 - t0:.1f} s")
    return 0
