"""grokkit resume RUN"""

from __future__ import annotations

import argparse

HELP = "continue a run from its latest complete checkpoint"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run", help="run directory")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    from grokkit.commands.info import print_summary
    from grokkit.run import Run
    from grokkit.train.trainer import train

    run_ = Run(args.run)
    steps = run_.checkpoint_steps()
    if steps and steps[-1] >= run_.config.train.steps or (run_.status() or {}).get("stopped_early"):
        print(f"{run_.path}: already finished at step {steps[-1]}")
    else:
        train(run_, resume=True, progress=not args.no_progress)
    print_summary(run_)
    return 0
