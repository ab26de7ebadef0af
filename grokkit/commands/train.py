"""grokkit train SPEC.toml --out RUN [--set section.key=value ...]"""

from __future__ import annotations

import argparse

HELP = "train a run from a task spec"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("spec", help="task spec (TOML with [task], [model], [train])")
    parser.add_argument("--out", required=True, help="run directory to create")
    add_common(parser)
    add_log(parser)


def add_log(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--log", default=None, metavar="BACKENDS",
                        help="experiment tracking: wandb, tensorboard or both comma-separated, instead of the "
                             "spec's [log] backends (pip install 'grokkit[wandb]' / 'grokkit[tensorboard]')")


def add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="SECTION.KEY=VALUE",
        help="override one spec value, e.g. --set train.lr=3e-3 (repeatable)",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    from grokkit.commands.info import print_summary
    from grokkit.run import Run
    from grokkit.spec import load_spec
    from grokkit.track import make_trackers
    from grokkit.workflow import train_run

    config = load_spec(args.spec, args.overrides)  # validated before anything touches disk
    make_trackers(config, getattr(args, "log", None))  # a missing tracker package or W&B login, too
    run_ = Run.create(args.out, config)
    resume = bool(run_.checkpoint_steps())
    if resume:
        state = "finished" if (run_.status() or {}).get("finished") else "started"
        print(f"{run_.path}: same config already {state} here; resuming from step {run_.checkpoint_steps()[-1]}")
    train_run(run_, resume=resume, progress=not args.no_progress, log=getattr(args, "log", None))
    print_summary(run_)
    return 0
