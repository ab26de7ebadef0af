"""grokkit toy SPEC.toml --out DIR [--set section.key=value ...]"""

from __future__ import annotations

import argparse

from grokkit.commands.train import add_common

HELP = "sweep sparse toy models of superposition on finite data and write an HTML report"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("spec", help="toy task spec (TOML with [toy], [train], [sweep], [report])")
    parser.add_argument("--out", required=True, help="sweep directory (created, or resumed when it holds the same spec)")
    add_common(parser)  # --set SECTION.KEY=VALUE and --no-progress, as for `grokkit train`


def run(args: argparse.Namespace) -> int:
    import time

    from grokkit.toy.spec import load_toy_spec

    spec = load_toy_spec(args.spec, args.overrides)  # every check before anything touches disk
    from grokkit.toy import summary
    from grokkit.toy.report import write_report
    from grokkit.toy.sweep import run_sweep

    start = time.perf_counter()
    result = run_sweep(spec, args.out, progress=not args.no_progress)
    report = write_report(result.path)
    rows = result.rows
    varying = summary.varying_keys(rows)
    for key, points in summary.curves(rows, "test_loss").items():
        peak = summary.test_loss_peak(points)
        print(f"{summary.curve_label(key, varying)}: test loss peaks at T = {peak.T} ({peak.loss:.4f})")
    print(f"{len(rows)} models, {result.trained_chunks} chunks trained now, {time.perf_counter() - start:.0f} s; report: {report}")
    return 0
