"""grokkit capacity SPEC.toml --out DIR [--set section.key=value ...]"""

from __future__ import annotations

import argparse

from grokkit.commands.train import add_common

HELP = "the capacity study (Huang et al. 2026): every width of a linear task mixture in one stack, beside the theory"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("spec", help="capacity spec (TOML with [capacity], [train], [stack], [injection], [measures])")
    parser.add_argument("--out", required=True, help="study directory to create (new or empty)")
    add_common(parser)  # --set SECTION.KEY=VALUE and --no-progress, as for `grokkit train`


def run(args: argparse.Namespace) -> int:
    from grokkit.capacity.spec import load_capacity_spec

    spec = load_capacity_spec(args.spec, args.overrides)  # every check before anything touches disk
    from grokkit.capacity.study import run_study

    result = run_study(spec, args.out, progress=not args.no_progress)
    for beta, a in result.summary["agreement"].items():
        print(f"β = {beta}: learned pattern matches the predicted staircase in {a['agree']}/{a['cells']} "
              f"(task, width, seed) cells ({a['agreement']:.0%}); {a['unambiguous_agree']}/{a['unambiguous_cells']} "
              "where the optimum is unique")
    for row in result.summary["injection"]:
        print(f"N = {row['N']}, G = {row['gap']}, seed {row['seed']}: gain {row['gain']:+.3f} per injection, "
              f"decay {row['decay'] if row['decay'] is None else format(row['decay'], '+.3f')} between")
    print(f"{result.summary['members']} models, {result.summary['seconds']:.0f} s; report: {result.path / 'report.html'}")
    return 0
