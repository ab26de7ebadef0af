"""grokkit info RUN"""

from __future__ import annotations

import argparse
import json

HELP = ("show a run's config, progress, best accuracies, when it memorised and grokked, and its key components; "
        "or a capacity study's settings, steps, and per task the learned width measured beside predicted")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run", help="run directory (or capacity study folder)")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    parser.add_argument("--config", action="store_true", help="also print the full config (indented JSON)")


def run(args: argparse.Namespace) -> int:
    from grokkit.capacity.folder import is_capacity_folder

    if is_capacity_folder(args.run):
        return study_info(args)
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


def study_info(args: argparse.Namespace) -> int:
    """``grokkit info`` on a capacity study folder."""
    from grokkit.capacity.load import load_study
    from grokkit.capacity.summary import study_lines, study_summary

    study = load_study(args.run)
    s = study_summary(study)
    if args.json:
        from grokkit.files.jsonl import json_safe

        print(json.dumps(json_safe(s), indent=2, allow_nan=False))
    else:
        print("\n".join(study_lines(study, s)))
        if args.config:
            print(f"config   {json.dumps(study.spec.to_dict(), indent=2)}")
        else:
            print(f"config   {study.path / 'capacity.json'} (the full spec: `grokkit info {study.path} --config`)")
    return 0
