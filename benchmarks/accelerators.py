"""Steps and wall-clock to 99 % test accuracy, with and without each grokking accelerator.

Trains the quickstart setting (``tasks/quickstart.toml``) once per variant, in this
process, each stopping as soon as test accuracy reaches 99 % (or at the step budget):

    baseline         the spec as it is
    grokfast_ema     train.grokfast = "ema"  (α 0.98, λ 2)
    grokfast_ma      train.grokfast = "ma"   (window 100, λ 5)
    stablemax        train.loss = "stablemax"
    orthograd        train.orthograd = true
    stablemax_ortho  both of Prieto et al.'s changes, with weight decay 0 (their setting)

Prints one line per variant, then one line of ``key=value`` figures whose headline
``ratio`` is baseline steps / best accelerated steps (a budget-capped run counts
as its budget)::

    python benchmarks/accelerators.py [--spec tasks/quickstart.toml] [--steps N] [--quick]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import torch

from grokkit.run import Run
from grokkit.spec import load_spec
from grokkit.workflow import train_run as train

ROOT = Path(__file__).resolve().parent.parent
VARIANTS = {
    "baseline": [],
    "grokfast_ema": ["train.grokfast=\"ema\""],
    "grokfast_ma": ["train.grokfast=\"ma\""],
    "stablemax": ["train.loss=\"stablemax\""],
    "orthograd": ["train.orthograd=true"],
    "stablemax_ortho": ["train.loss=\"stablemax\"", "train.orthograd=true", "train.weight_decay=0.0"],
}


def steps_to_grok(spec: Path, overrides: list[str], root: Path) -> tuple[int | None, int, float]:
    """(first logged step with test_acc >= 0.99 or None, steps trained, seconds)."""
    config = load_spec(spec, overrides + ["train.early_stop_after=0", "train.checkpoint_every=100000"])
    run = Run.create(root / str(abs(hash(tuple(overrides)))), config)
    start = time.perf_counter()
    result = train(run, progress=False)
    seconds = time.perf_counter() - start
    return run.status().grok_step, result.final_step, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", type=Path, default=ROOT / "tasks" / "quickstart.toml")
    parser.add_argument("--steps", type=int, default=None, help="step budget (default: the spec's)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--only", nargs="+", choices=list(VARIANTS), default=list(VARIANTS))
    parser.add_argument("--quick", action="store_true", help="smoke run: p = 13, 200 steps")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    common = [f"train.steps={args.steps}"] if args.steps else []
    if args.quick:
        common = ["task.p=13", "train.steps=200", "train.eval_every=10", "train.lr=1e-2"]
    root = Path(tempfile.mkdtemp(prefix="grokkit-bench-accel-"))
    figures: dict[str, tuple[int | None, int, float]] = {}
    try:
        for name in args.only:
            figures[name] = steps_to_grok(args.spec, common + VARIANTS[name], root)
            grok, trained, seconds = figures[name]
            print(f"{name}: steps_to_99={grok if grok is not None else f'>{trained}'} wall_s={seconds:.1f}", flush=True)
    finally:
        shutil.rmtree(root, ignore_errors=True)

    def capped(name: str) -> int:
        grok, trained, _ = figures[name]
        return grok if grok is not None else trained

    parts = []
    others = [n for n in figures if n != "baseline"]
    if "baseline" in figures and others:
        best = min(others, key=capped)
        parts.append(f"ratio={capped('baseline') / max(capped(best), 1):.2f} best={best}")
    for name, (grok, trained, seconds) in figures.items():
        parts.append(f"{name}_steps={grok if grok is not None else f'>{trained}'} {name}_s={seconds:.1f}")
    print(" ".join(parts))


if __name__ == "__main__":
    main()
