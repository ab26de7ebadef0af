"""grokkit sweep SPEC.toml --out DIR [--restart] [--executor local|ray] [--address ADDR] [--max-stack N] [--set section.key=value …]"""

from __future__ import annotations

import argparse
import shlex
import sys

HELP = "train a grid or list of runs (stacked where shapes allow), tabulate them and draw phase diagrams"


def configure(parser: argparse.ArgumentParser) -> None:
    from grokkit.commands.train import add_common

    parser.add_argument("spec", help="sweep spec: a task spec plus [sweep.grid] and/or [[sweep.runs]]")
    parser.add_argument("--out", required=True, help="sweep directory (run it again to finish an interrupted sweep)")
    parser.add_argument("--executor", choices=["local", "ray"], default=None,
                        help="local: this process; ray: one Ray task per stack, spread over the cluster "
                             "(pip install 'grokkit[ray]'); default: ray when --address or --num-cpus is given")
    parser.add_argument("--address", default=None,
                        help="Ray cluster address, e.g. 10.0.0.5:6379 (implies --executor ray; default: a local Ray)")
    parser.add_argument("--num-cpus", type=int, default=None,
                        help="CPUs of the local Ray instance (implies --executor ray; default: all)")
    parser.add_argument("--max-stack", type=int, default=None, metavar="N",
                        help="at most N runs per stack (as sweep.max_stack; under Ray stacks are also sized "
                             "so every CPU or GPU of the cluster gets one)")
    parser.add_argument("--restart", action="store_true",
                        help="--out holds another sweep: delete its run folders (those its sweep.json names), "
                             "sweep.json, results and report, and start over; anything else is left")
    add_common(parser)


def rerun_command(args: argparse.Namespace) -> str:
    """The command that continues this sweep (never with --restart: that would delete what finished)."""
    parts = ["grokkit", "sweep", args.spec, "--out", args.out]
    for flag, value in (("--executor", args.executor), ("--address", args.address), ("--num-cpus", args.num_cpus),
                        ("--max-stack", args.max_stack), ("--threads", getattr(args, "threads", None))):
        if value is not None:
            parts += [flag, str(value)]
    for override in args.overrides:
        parts += ["--set", override]
    if args.no_progress:
        parts.append("--no-progress")
    return shlex.join(parts)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from grokkit.executor import ExecutorOptions
    from grokkit.sweep.driver import run_sweep
    from grokkit.sweep.spec import load_sweep

    overrides = list(args.overrides)
    if args.max_stack is not None:
        overrides.append(f"sweep.max_stack={args.max_stack}")
    spec = load_sweep(args.spec, overrides)  # every run validated before anything is trained
    options = ExecutorOptions(args.executor, args.address, args.num_cpus)
    try:
        outcome = run_sweep(spec, args.out, executor=options, progress=not args.no_progress,
                            title=f"grokkit sweep: {Path(args.spec).name}", restart=args.restart)
    except KeyboardInterrupt:
        print(f"\ngrokkit: interrupted; finished runs are kept, started ones resume: run `{rerun_command(args)}`",
              file=sys.stderr)
        return 130
    grokked = sum(row["grok_step"] is not None for row in outcome.rows)
    print(f"sweep: trained {len(outcome.trained)}, skipped {len(outcome.skipped)} finished, "
          f"{grokked}/{len(outcome.rows)} grokked, {outcome.wall_s:.0f} s")
    if outcome.critical is not None:
        print(outcome.critical.describe())
    print(f"results: {outcome.results}")
    print(f"report: {outcome.report}")
    return 0
