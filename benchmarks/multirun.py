"""Run-steps per second: N runs trained as one stack against the same N runs one after another.

Both sides do the whole job in the same process: build N models, train them for
``--steps`` full-batch steps of the quickstart setting (``tasks/quickstart.toml``,
each run with its own init seed), and write N ordinary run directories (metrics,
checkpoints, status) to a temporary folder.

- sequential: the engine on each run in turn (a stack of one, N times);
- vectorised: the engine on all N at once (one stack).

Both are ``grokkit.train.runs.train_runs``, so the ratio is what stacking alone gives.

Ends with one line per N, the last being the headline::

    ratio=… n=32 vectorised_run_steps_per_s=… sequential_run_steps_per_s=… steps=… device=…

    python benchmarks/multirun.py [--n 1 8 32] [--steps 300] [--device cpu|cuda] [--quick]
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
from grokkit.train.runs import train, train_runs

ROOT = Path(__file__).resolve().parent.parent


def configs(spec: Path, n: int, steps: int, device: str):
    overrides = [f"train.steps={steps}", f"train.device=\"{device}\""]
    return [load_spec(spec, overrides + [f"model.seed={1000 + i}"]) for i in range(n)]


def timed(fn) -> float:
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    start = time.perf_counter()
    fn()
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return time.perf_counter() - start


def measure(spec: Path, n: int, steps: int, device: str) -> tuple[float, float]:
    """(sequential, vectorised) run-steps per second for n runs."""
    root = Path(tempfile.mkdtemp(prefix="grokkit-bench-multirun-"))
    try:
        cfgs = configs(spec, n, steps, device)
        seq_runs = [Run.create(root / f"seq{i}", c) for i, c in enumerate(cfgs)]
        vec_runs = [Run.create(root / f"vec{i}", c) for i, c in enumerate(cfgs)]
        seq = timed(lambda: [train(r, progress=False) for r in seq_runs])
        vec = timed(lambda: train_runs(vec_runs, progress=False))
        return n * steps / seq, n * steps / vec
    finally:
        shutil.rmtree(root, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", type=Path, default=ROOT / "tasks" / "quickstart.toml")
    parser.add_argument("--n", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--steps", type=int, default=300, help="steps per run (eval and checkpoints as in the spec)")
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    parser.add_argument("--quick", action="store_true", help="smoke run: N = 1, 2 and 20 steps")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.quick:
        args.n, args.steps = [1, 2], 20
    train(Run.create(Path(tempfile.mkdtemp()) / "warm", configs(args.spec, 1, 2, args.device)[0]), progress=False)
    lines = []
    for n in args.n:
        seq, vec = measure(args.spec, n, args.steps, args.device)
        lines.append(f"ratio={vec / seq:.2f} n={n} vectorised_run_steps_per_s={vec:.1f} "
                     f"sequential_run_steps_per_s={seq:.1f} steps={args.steps} device={args.device} "
                     f"threads={torch.get_num_threads()}")
        print(lines[-1], flush=True)
    # the headline (largest N) again, last
    print(lines[-1])


if __name__ == "__main__":
    main()
