"""grokkit report RUN [--out FILE] [--step STEP]"""

from __future__ import annotations

import argparse

HELP = "write a run's interactive HTML report (one self-contained file that works offline)"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run", help="run directory (or capacity study folder)")
    parser.add_argument("--out", default=None, help="where to write the page (default: RUN/report.html)")
    parser.add_argument("--step", type=int, default=None,
                        help="checkpoint for the static figures (default: the latest)")


def run(args: argparse.Namespace) -> int:
    from grokkit.capacity.folder import is_capacity_folder

    if is_capacity_folder(args.run):
        from grokkit.capacity.report import write_report as write_study_report
        from grokkit.errors import ConfigError

        if args.step is not None:
            raise ConfigError("--step: a capacity study keeps no checkpoints; its report draws every measurement "
                              "(leave --step out)")
        print(f"report: {write_study_report(args.run, args.out)}")
        return 0
    from grokkit.report.html import write_report
    from grokkit.run import Run

    path = write_report(Run(args.run), args.out, step=args.step)
    print(f"report: {path}")
    return 0
