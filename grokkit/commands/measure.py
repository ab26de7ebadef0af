"""grokkit measure RUN [--measures a,b,...] [--key-freqs k,k,...] [--per-checkpoint-keys]"""

from __future__ import annotations

import argparse

HELP = "compute progress measures at every checkpoint of a run into RUN/measures.jsonl"


def _int_list(text: str) -> list[int]:
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None


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
    parser.add_argument("--rule", choices=("neurons", "embedding", "logits"), default=None,
                        help="key-frequency detection rule (default: the spec's, else neurons)")
    parser.add_argument("--device", default="cpu", help="device to compute on (default: cpu)")
    parser.add_argument("--list", action="store_true", help="list the measures and exit")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    from grokkit.measures.phases import detect_paper_phases, detect_phases
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
    from grokkit.measures.offline import MEASURES_FILE, measure_run
    from grokkit.run import Run

    check_device(args.device)
    run_ = Run(args.run)
    group = group_for(run_.config.task)
    print(f"group    {group.name}")
    if args.measures is None and not group.circuit:
        print(f"note: {group.note}; computing only the measures that do not need a circuit")
    rows = measure_run(run_, args.measures, key_freqs=args.key_freqs, per_checkpoint_keys=args.per_checkpoint_keys,
                       rule=args.rule, device=args.device, progress=not args.no_progress)
    last = rows[-1]
    print(f"wrote    {run_.path / MEASURES_FILE} ({len(rows)} checkpoints, {len(last) - 1} keys per row)")
    if "key_freqs" in last:
        print(f"key freqs {last['key_freqs']} (source: {last['key_freqs_source']})")
        names = [group.component_name(k) for k in last["key_freqs"]]
        if any(not name.startswith("k=") for name in names):  # components that are not plain frequencies
            print(f"         = {', '.join(names)}")
        if not last["key_freqs"]:
            print("note: no key frequencies found (no neuron is explained by one frequency); "
                  "the group measures used an empty set; pass --key-freqs or --rule embedding (or logits)")
    if "test_loss" in last:
        print(f"phases   {detect_phases(rows).describe()}")
        if "excluded_loss" in last:
            print(f"  (paper) {detect_paper_phases(rows).describe()}")
    return 0
