"""grokkit sweep SPEC.toml --out DIR [--restart] [--executor local|ray] [--address ADDR] [--set section.key=value …]"""

from __future__ import annotations

import argparse

HELP = "train a grid or list of runs (stacked where shapes allow), tabulate them and draw phase diagrams"


def configure(parser: argparse.ArgumentParser) -> None:
    from grokkit.commands.train import add_common

    parser.add_argument("spec", help="sweep spec: a task spec plus [sweep.grid] and/or [[sweep.runs]]")
    parser.add_argument("--out", required=True, help="sweep directory (run it again to finish an interrupted sweep)")
    parser.add_argument("--executor", choices=["local", "ray"], default="local",
                        help="local: this process; ray: one Ray task per batch (pip install 'grokkit[ray]')")
    parser.add_argument("--address", default=None, help="Ray cluster address (default: start a local Ray)")
    parser.add_argument("--num-cpus", type=int, default=None, help="CPUs of the local Ray instance (default: all)")
    parser.add_argument("--restart", action="store_true",
                        help="--out holds another sweep: delete its runs/, sweep.json, results and report, "
                             "and start over (without it, a different grid on an existing --out is refused)")
    add_common(parser)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from grokkit.sweep import load_sweep, run_sweep

    spec = load_sweep(args.spec, args.overrides)  # every run validated before anything is trained
    outcome = run_sweep(spec, args.out, executor=args.executor, address=args.address, num_cpus=args.num_cpus,
                        progress=not args.no_progress, title=f"grokkit sweep: {Path(args.spec).name}",
                        restart=args.restart)
    grokked = sum(row["grok_step"] is not None for row in outcome.rows)
    print(f"sweep: trained {len(outcome.trained)}, skipped {len(outcome.skipped)} finished, "
          f"{grokked}/{len(outcome.rows)} grokked, {outcome.wall_s:.0f} s")
    print(f"results: {outcome.results}")
    print(f"report: {outcome.report}")
    return 0
