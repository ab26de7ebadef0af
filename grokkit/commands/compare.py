"""grokkit compare --toy TOYDIR --transformer SWEEPDIR --out PAGE.html [--measure]"""

from __future__ import annotations

import argparse

HELP = "compare memorisation in a toy-model sweep and a transformer frac_train sweep on one HTML page"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--toy", required=True, help="toy sweep directory (from `grokkit toy`)")
    parser.add_argument("--transformer", required=True, help="transformer sweep directory (from `grokkit sweep`)")
    parser.add_argument("--out", required=True, help="the HTML page to write")
    parser.add_argument("--measure", action="store_true",
                        help="compute the excluded measure offline for runs without measures "
                             "(key frequencies from each run's final checkpoint)")


def run(args: argparse.Namespace) -> int:
    from grokkit.compare import write_comparison

    path = write_comparison(args.toy, args.transformer, args.out, measure=args.measure)
    print(f"comparison: {path}")
    return 0
