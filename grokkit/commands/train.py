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
    from grokkit.pipeline import train_spec
    from grokkit.report.summary import summary_lines

    run_ = train_spec(args.spec, args.out, args.overrides, progress=not args.no_progress,
                      log_backends=getattr(args, "log", None), say=print)
    print("\n".join(summary_lines(run_)))
    return 0
