"""grokkit resume RUN"""

from __future__ import annotations

import argparse

HELP = "continue a run from its latest complete checkpoint"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run", help="run directory")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    from grokkit.commands.train import add_log

    add_log(parser)


def run(args: argparse.Namespace) -> int:
    from grokkit.commands.info import print_summary
    from grokkit.run import Run
    from grokkit.workflow import train_run

    run_ = Run(args.run)
    status = run_.status() or {}
    if status.get("finished"):
        print(f"{run_.path}: already finished at step {status.get('final_step')}")
    elif status.get("diverged"):
        from grokkit.errors import RunError

        raise RunError(f"{run_.path}: diverged at step {status.get('diverged_at')} ({status.get('reason')}); "
                       "training is deterministic, so resuming would diverge again: start a new run with other "
                       "settings (e.g. a smaller train.lr)")
    elif status.get("imported"):
        from grokkit.errors import RunError

        raise RunError(f"{run_.path}: an imported run has no optimiser state to resume from")
    else:  # the engine resumes from the latest complete, verified checkpoint (or starts clean)
        from grokkit.limits import check_resources

        check_resources(run_.config)  # device and memory, as for a new run, before the engine allocates
        train_run(run_, resume=True, progress=not args.no_progress, log=args.log)
    print_summary(run_)
    return 0
