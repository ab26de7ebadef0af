"""grokkit import FILE --out RUN [--set section.key=value ...] [--step N]"""

from __future__ import annotations

import argparse

HELP = "turn a checkpoint file from elsewhere (the paper's runs, the TransformerLens demo) into a run"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", help="a torch.save file: the paper's saved run, a multi-checkpoint file, or a "
                                     "HookedTransformer state dict (loaded with weights_only=True: no code runs)")
    parser.add_argument("--out", required=True, help="run directory to create (new or empty)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="SECTION.KEY=VALUE",
                        help="set what the file does not say, e.g. --set task.seed=598 (repeatable)")
    parser.add_argument("--step", type=int, default=None,
                        help="step to file a single-model file under (default: from its epoch or loss curve)")


def run(args: argparse.Namespace) -> int:
    from grokkit.report.summary import summary_lines
    from grokkit.importer import import_file

    run_, source = import_file(args.file, args.out, args.overrides, step=args.step)
    steps = [step for step, _ in source.checkpoints]
    print(f"{run_.path}: imported {len(steps)} checkpoint(s) from {args.file} "
          f"({source.format}, {source.layout} layout), steps {steps[0]}…{steps[-1]}")
    for note in source.notes:
        print(f"  note: {note}")
    print("\n".join(summary_lines(run_)))
    return 0
