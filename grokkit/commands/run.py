"""grokkit run SPEC.toml --out RUN [--set section.key=value ...]: train, measure, report."""

from __future__ import annotations

import argparse

HELP = "train a run, measure every checkpoint and write its HTML report, in one go"


def configure(parser: argparse.ArgumentParser) -> None:
    from grokkit.commands.train import add_common, add_log

    parser.add_argument("spec", help="task spec (TOML with [task], [model], [train], [measures])")
    parser.add_argument("--out", required=True, help="run directory to create (or to continue, same spec)")
    add_common(parser)
    add_log(parser)


def run(args: argparse.Namespace) -> int:
    from grokkit.pipeline import run_pipeline

    # every line (the training summary, the measures, phases, keys, report and times) is printed as it comes
    run_pipeline(args.spec, args.out, args.overrides, progress=not args.no_progress, log_backends=args.log,
                 say=lambda line: print(line, flush=True))
    return 0
