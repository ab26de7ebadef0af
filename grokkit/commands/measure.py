"""grokkit measure RUN [--measures a,b,...] [--key-freqs k,k,... | --per-checkpoint-keys] [--rule R] [--explain X]
[--replace]"""

from __future__ import annotations

import argparse
from dataclasses import asdict
from typing import Any

from grokkit.files.layout import MEASURES_FILE

HELP = f"compute progress measures at every checkpoint of a run into its table RUN/{MEASURES_FILE}"


def _int_list(text: str) -> list[int]:
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None


def _share(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = None
    if value is None or not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"expected a number in (0, 1], got {text!r}")
    return value


def _name_list(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def check_device(name: str) -> None:
    """``--device``: cpu, or a CUDA device this machine has (ConfigError otherwise)."""
    import torch

    from grokkit.errors import ConfigError

    try:
        device = torch.device(name)
    except (RuntimeError, ValueError):
        device = None
    if device is None or device.type not in ("cpu", "cuda"):
        raise ConfigError(f"--device: {name!r} is not a device here; allowed: cpu, cuda, cuda:N")
    if device.type == "cuda" and (device.index or 0) >= torch.cuda.device_count():
        raise ConfigError(f"--device: {name!r}, but this machine has {torch.cuda.device_count()} CUDA device(s)")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run", nargs="?", help="run directory")
    parser.add_argument("--measures", type=_name_list, default=None, metavar="NAME,NAME",
                        help="measures to compute (default: every one that applies to the task's group, "
                             "except the opt-in ones such as llc; see --list)")
    keys = parser.add_mutually_exclusive_group()
    keys.add_argument("--key-freqs", type=_int_list, default=None, metavar="K,K",
                      help="use these key frequencies instead of detecting them")
    keys.add_argument("--per-checkpoint-keys", action="store_true",
                      help="detect key frequencies at each checkpoint (default: once, at the final one)")
    parser.add_argument("--rule", choices=("logits", "neurons", "embedding"), default=None,
                        help="key-component rule (default: the spec's key_freq_rule, else logits: the fewest "
                             "components, largest first, that explain --explain of the logit table)")
    parser.add_argument("--explain", type=_share, default=None, metavar="X",
                        help="the logits rule's target share of the centred logit table, in (0, 1] "
                             "(default: the spec's key_explain, else 0.95)")
    parser.add_argument("--device", default="cpu", help="device to compute on (default: cpu)")
    parser.add_argument("--replace", action="store_true",
                        help="replace the run's measures table with this call's rows (default: update the columns "
                             "computed and keep every other column and step)")
    parser.add_argument("--list", action="store_true", help="list the measures and exit")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    from grokkit.measures.registry import MEASURES

    if args.list:
        for name, measure in MEASURES.items():
            flag = {"": "", "basis": " [group basis]", "circuit": " [group circuit]"}[measure.needs]
            flag += f" [{'/'.join(measure.kinds)} groups only]" if measure.kinds else ""
            flag += " [opt-in: only when named]" if measure.opt_in else ""
            print(f"{name:22s} {measure.summary}{flag}\n{'':22s} keys: {', '.join(measure.keys)}")
        return 0
    if args.run is None:
        from grokkit.errors import GrokkitError

        raise GrokkitError("measure: give a RUN directory (or --list)")

    from grokkit.analysis.groups import group_for
    from grokkit.pipeline import measure_checked
    from grokkit.report.summary import measures_of
    from grokkit.run import Run

    check_device(args.device)
    run_ = Run(args.run)
    from grokkit.files.links import refuse_links

    refuse_links(run_.path, (MEASURES_FILE,))  # it is replaced below: never a link someone put there
    task = run_.config.task
    if task.is_mixture:  # each task in its own group (grokkit.measures.mixture)
        group = None
        for k in range(len(task.mixture)):
            print(f"group    task {k}: {group_for(task.task_config(k)).name}")
    else:
        group = group_for(task)
        print(f"group    {group.name}")
    if group is not None and args.measures is None and not group.circuit:
        print(f"note: {group.note}; computing only the measures that do not need a circuit")
    if args.measures is None and run_.config.model.kind != "transformer":
        from grokkit.measures.registry import not_for_model_line

        print(f"note: {not_for_model_line(run_.config.model.kind, run_.config.model.act_fn)}")
    rows, warned = measure_checked(run_, args.measures, key_freqs=args.key_freqs,
                                   per_checkpoint_keys=args.per_checkpoint_keys, rule=args.rule,
                                   explain=args.explain, device=args.device, progress=not args.no_progress,
                                   replace=args.replace)
    table = measures_of(run_)  # the merged table: a narrower call shows what the run has, not only its columns
    columns = len({key for row in table for key in row}) - 1
    print(f"wrote    {run_.folder.measures_path} ({len(rows)} checkpoints, {len(rows[-1]) - 1} keys computed per row; "
          f"{'replaced' if args.replace else 'merged'}: the table has {columns} columns)")
    print_table(run_, table, group, warned)
    return 0


def print_table(run_: Any, rows: list[dict[str, Any]], group: Any, warned: list[str]) -> None:
    """What ``measure`` computed, in ``info``'s words: the last checkpoint, the keys and the share of the
    logit table they explain, milestones and phases (``run_phases``, as ``info`` and the report), then
    the self-check's warnings (``warned``)."""
    from grokkit.report.summary import fmt_num, keys_lines, keys_of, story_lines, story_of, task_lines, tasks_of

    last = rows[-1]
    parts = [f"{name} {fmt_num(last[key], '.3g')}" for name, key in
             (("train loss", "train_loss"), ("test loss", "test_loss"), ("restricted loss", "restricted_loss"),
              ("excluded loss", "excluded_loss")) if key in last]
    parts += [f"test acc {fmt_num(last['test_acc'], '.1%')}"] if "test_acc" in last else []
    print(f"last     step {last['step']}: {' | '.join(parts)}" if parts else f"last     step {last['step']}")
    keys = keys_of(rows)
    for line in keys_lines(keys, warn=not warned):  # the self-check's own message names the better set
        print(line)
    if keys is not None:
        names = [group.component_name(k) for k in keys["key_freqs"]]
        if any(not name.startswith("k=") for name in names):  # components that are not plain frequencies
            print(f"         = {', '.join(names)}")
        if not keys["key_freqs"]:
            print("note: no key components found; the group measures used an empty set; "
                  "pass --key-freqs or another --rule")
    story = story_of(run_, measures=rows)
    print("\n".join(story_lines(*story.milestones, asdict(story.phases),
                                 None if story.paper is None else asdict(story.paper),
                                 story.provenance() if story.from_records else None)))
    if run_.config.task.is_mixture:
        print("\n".join(task_lines(tasks_of(run_, run_.metrics(), rows))))
    for message in warned:
        print(f"warning: {message}")
