"""grokkit resume RUN [--steps N | --set train.steps=N]"""

from __future__ import annotations

import argparse

HELP = "continue a run from its latest complete checkpoint, or extend a finished one with --steps"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run", help="run directory (or capacity study folder: with --steps)")
    parser.add_argument("--steps", type=int, default=None, metavar="N",
                        help="train on to step N (a finished run too), bit-identical to a run started with "
                             "train.steps = N; recorded in RUN/config.json")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="train.KEY=VALUE",
                        help="train.steps=N, as --steps; train.early_stop_after=STEPS to train on after an early "
                             "stop; task.frac_train=F to go on from where a finished run ended on a nested subset "
                             "(F smaller) or superset (F larger) of its training rows, with --steps (repeatable)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    from grokkit.commands.train import add_log

    add_log(parser)


def run(args: argparse.Namespace) -> int:
    from grokkit.capacity.folder import is_capacity_folder

    if is_capacity_folder(args.run):
        return resume_study(args)
    from grokkit.report.summary import summary_lines
    from grokkit.errors import RunError
    from grokkit.extend import data_changes, extend_run, extension_changes
    from grokkit.run import Run
    from grokkit.workflow import train_run

    task, overrides = data_changes(args.overrides)  # task.frac_train: a data change
    changes = extension_changes(overrides, args.steps)  # parsed before the run is opened
    run_ = Run(args.run)
    # one rule for writers: the extension decides under the run's lock from what the folder holds then, and
    # the engine checks, under its lock, that config.json is still what this command read and that the run
    # has still not ended
    if changes or task:
        entry = extend_run(run_, changes, task)
        if entry is not None:
            what = ", ".join(f"{key} {old} → {new}" for key, (old, new) in entry["changed"].items())
            print(f"{run_.path}: extended from step {entry['from_step']}: {what} (recorded in config.json)")
    status = run_.status()
    if status is not None and status.finished:
        print(f"{run_.path}: already finished at step {status.final_step}; "
              f"train on with `grokkit resume {run_.path} --steps N`")
    elif status is not None and status.diverged:
        raise RunError(f"{run_.path}: diverged at step {status.diverged_at} ({status.reason}); "
                       "training is deterministic, so resuming would diverge again: start a new run with other "
                       "settings (e.g. a smaller train.lr)")
    elif status is not None and status.imported:
        raise RunError(f"{run_.path}: an imported run has no optimiser state to resume from")
    else:  # the engine resumes from the latest complete, verified checkpoint (or starts clean)
        from grokkit.limits import check_resources

        check_resources(run_.config)  # device and memory, as for a new run, before the engine allocates
        # unfinished: the status read above was read without the lock (extend_run released it), so the engine
        # re-checks it under its lock: a run another process finished meanwhile is refused, not trained again
        train_run(run_, resume=True, progress=not args.no_progress, log=args.log, unfinished=True)
    print("\n".join(summary_lines(run_)))
    return 0


def resume_study(args: argparse.Namespace) -> int:
    """``grokkit resume DIR --steps N`` on a capacity study: train it on to step N, bit for bit."""
    from grokkit.capacity.load import load_study
    from grokkit.capacity.study import resume_study as train_on
    from grokkit.capacity.summary import study_lines
    from grokkit.errors import ConfigError

    if args.overrides:
        raise ConfigError(f"--set {args.overrides[0]}: a capacity study goes on with its own spec; allowed: "
                          "--steps N only")
    if args.log is not None:
        raise ConfigError("--log: a capacity study logs to its own folder only; leave --log out")
    if args.steps is None:
        study = load_study(args.run)  # every file checked, so a damaged study is named as such
        print(f"{study.path}: a capacity study, finished at step {study.steps}; train on with "
              f"`grokkit resume {study.path} --steps N`")
        return 0
    if args.steps < 1:
        raise ConfigError(f"--steps: must be a positive number of steps, got {args.steps}")
    result = train_on(args.run, args.steps, progress=not args.no_progress)
    print("\n".join(study_lines(load_study(result.path))))
    return 0
