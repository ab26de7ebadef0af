"""The training step with this tree's one-layer '=' forward against a git revision's, in one process.

Both sides are the engine's own step (``grokkit.train.step.StackState.step``: forward, per-run loss,
backward, stacked AdamW) on the same stack of one run; only ``grokkit.model.forward.eq_forward`` is
swapped for the one in ``--against`` (default fa65ff8, before the gather-sum forward: the attention
output z multiplied by the folded maps ``W_in·W_O`` and ``W_U·W_O``). Each side keeps its own copy
of the weights and optimiser, trained ``--warm`` steps first (past the first steps' transients;
the quickstart memorises within ~200). Rounds alternate between the two so drift on a shared
machine hits both alike; figures are medians of wall time and of process CPU time per step.
Ends with one line: ``ratio=… new_steps_per_s=… old_steps_per_s=… cpu_ratio=…``.

    python benchmarks/eq_forward.py [--spec tasks/quickstart.toml] [--against fa65ff8] [--threads N]
    ATEN_CPU_CAPABILITY=avx2 python benchmarks/eq_forward.py      # the kernels a CPU without AVX-512 runs
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import torch

import grokkit.model.forward as forward
from grokkit.data.dataset import AlgorithmicDataset
from grokkit.model.build import build_model
from grokkit.spec import load_spec
from grokkit.train.device import flush_subnormals, retain_freed_memory
from grokkit.train.trainer import build_stack, run_lr

ROOT = Path(__file__).resolve().parent.parent


def old_eq_forward(revision: str):
    """``eq_forward`` as it was at ``revision`` (its module imported from ``git show``)."""
    source = subprocess.run(["git", "-C", str(ROOT), "show", f"{revision}:grokkit/model/forward.py"],
                            check=True, capture_output=True, text=True).stdout
    path = Path(tempfile.mkdtemp()) / "old_forward.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("old_forward", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.eq_forward


def make_step(config):
    model = build_model(config.model, config.task, device="cpu")
    state, weights = build_stack([config], [model], [AlgorithmicDataset(config.task)], torch.device("cpu"))
    lr = torch.tensor([run_lr(config.train, 100)], dtype=torch.float64)

    def step() -> None:
        state.step(lr, weights)

    return step


def time_steps(step, n: int) -> tuple[float, float]:
    """Wall and CPU seconds per step over ``n`` steps."""
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(n):
        step()
    return (time.perf_counter() - wall) / n, (time.process_time() - cpu) / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--spec", default=str(ROOT / "tasks" / "quickstart.toml"))
    parser.add_argument("--against", default="fa65ff8", help="git revision whose eq_forward is the baseline")
    parser.add_argument("--steps", type=int, default=50, help="steps per timed round")
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds per side")
    parser.add_argument("--warm", type=int, default=300, help="steps each side trains before timing")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    retain_freed_memory()  # as training does
    config = load_spec(args.spec, ['train.device="cpu"'])
    new_forward, old_forward = forward.eq_forward, old_eq_forward(args.against)
    sides = {"new": (new_forward, make_step(config)), "old": (old_forward, make_step(config))}
    wall: dict[str, list[float]] = {k: [] for k in sides}
    cpu: dict[str, list[float]] = {k: [] for k in sides}
    with flush_subnormals("cpu"):  # as training does
        for name, (eq, step) in sides.items():
            forward.eq_forward = eq
            for _ in range(args.warm):
                step()
        for _ in range(args.rounds):
            for name, (eq, step) in sides.items():
                forward.eq_forward = eq
                w, c = time_steps(step, args.steps)
                wall[name].append(w)
                cpu[name].append(c)
    forward.eq_forward = new_forward
    med = {k: statistics.median(v) for k, v in wall.items()}
    med_cpu = {k: statistics.median(v) for k, v in cpu.items()}
    task = config.task
    print(f"# {task.op} p={task.p} frac_train={task.frac_train} threads={torch.get_num_threads()} "
          f"against={args.against} capability={torch.backends.cpu.get_cpu_capability()}")
    for name in sides:
        print(f"# {name}: ms/step wall {', '.join(f'{1e3 * x:.2f}' for x in wall[name])}; "
              f"cpu {', '.join(f'{1e3 * x:.2f}' for x in cpu[name])}")
    print(f"ratio={med['old'] / med['new']:.2f} new_steps_per_s={1 / med['new']:.1f} "
          f"old_steps_per_s={1 / med['old']:.1f} cpu_ratio={med_cpu['old'] / med_cpu['new']:.2f} "
          f"threads={torch.get_num_threads()}")


if __name__ == "__main__":
    main()
