"""grokkit compare --toy TOYDIR --transformer SWEEPDIR --out PAGE.html [--measure] | grokkit compare DIR1 DIR2 [--out PAGE]"""

from __future__ import annotations

import argparse

HELP = ("compare memorisation in a toy-model sweep and a transformer frac_train sweep on one HTML page; or two "
        "capacity studies side by side (DIR1 DIR2)")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("studies", nargs="*", metavar="STUDY",
                        help="two capacity study folders (from `grokkit capacity`), instead of --toy/--transformer")
    parser.add_argument("--toy", default=None, help="toy sweep directory (from `grokkit toy`)")
    parser.add_argument("--transformer", default=None, help="transformer sweep directory (from `grokkit sweep`)")
    parser.add_argument("--out", default=None,
                        help="the HTML page to write (required with --toy/--transformer; optional for two studies)")
    parser.add_argument("--measure", action="store_true",
                        help="compute the excluded measure offline for runs without measures "
                             "(key frequencies from each run's final checkpoint)")


def run(args: argparse.Namespace) -> int:
    from grokkit.errors import ConfigError

    if args.studies:
        if len(args.studies) != 2 or args.toy or args.transformer or args.measure:
            raise ConfigError(f"compare: got {len(args.studies)} folder(s); allowed: two capacity studies "
                              "(DIR1 DIR2, with --out optional), or --toy TOYDIR --transformer SWEEPDIR --out PAGE")
        from grokkit.capacity.compare import compare_studies, comparison_lines

        print("\n".join(comparison_lines(compare_studies(*args.studies, out=args.out))))
        return 0
    missing = [flag for flag, value in (("--toy", args.toy), ("--transformer", args.transformer),
                                        ("--out", args.out)) if value is None]
    if missing:
        raise ConfigError(f"compare: {', '.join(missing)} missing; allowed: --toy TOYDIR --transformer SWEEPDIR "
                          "--out PAGE, or two capacity studies DIR1 DIR2")
    from grokkit.compare import write_comparison

    path = write_comparison(args.toy, args.transformer, args.out, measure=args.measure)
    print(f"comparison: {path}")
    return 0
