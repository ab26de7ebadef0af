"""grokkit report RUN [--out FILE] [--step STEP]"""

from __future__ import annotations

import argparse

HELP = "write a run's interactive HTML report (one self-contained file that works offline)"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run", help="run directory")
    parser.add_argument("--out", default=None, help="where to write the page (default: RUN/report.html)")
    parser.add_argument("--step", type=int, default=None,
                        help="checkpoint for the static figures (default: the latest)")


def run(args: argparse.Namespace) -> int:
    from grokkit.report.html import write_report
    from grokkit.run import Run

    path = write_report(Run(args.run), args.out, step=args.step)
    print(f"report: {path}")
    return 0
