"""grokkit info RUN"""

from __future__ import annotations

import argparse
import json

HELP = "show a run's config, progress, best accuracies, when it memorised and grokked, and its key components"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run", help="run directory")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    parser.add_argument("--config", action="store_true", help="also print the full config (indented JSON)")


def run(args: argparse.Namespace) -> int:
    from grokkit.report.summary import summarise, summary_lines
    from grokkit.run import Run

    run_ = Run(args.run)
    if args.json:
        from grokkit.files.jsonl import json_safe  # a run logged by an older grokkit may hold NaN

        print(json.dumps(json_safe(summarise(run_)), indent=2, allow_nan=False))
    else:
        print("\n".join(summary_lines(run_, with_header=True)))
        if args.config:
            print(f"config   {json.dumps(run_.config.to_dict(), indent=2)}")
        else:
            print(f"config   {run_.path / 'config.json'} (the full config: `grokkit info {run_.path} --config`)")
    return 0
