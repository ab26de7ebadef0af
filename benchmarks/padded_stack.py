"""A width sweep as one padded stack against one stack per width, one after another (the engine's step).

Both sides run the engine's training step (``grokkit.train.trainer.build_stack`` +
``StackState.step``, full batch, no files) on the same runs for the same steps: the padded side
puts every width in one stack, padded to the widest and masked (``grokkit.model.pad``, what
``sweep.pad_widths = true`` does); the other trains each width as its own stack, one after another
(what a sweep does without it). Rounds alternate the two sides; medians are reported. Ends with one
line of key=value figures, headline ``ratio`` (separate stacks' time / padded stack's time: above 1
the padded stack is faster).

    python benchmarks/padded_stack.py --threads 1                                    # the mixture width sweep
    python benchmarks/padded_stack.py --set model.d_model=64 --widths 32,64,128,256  # d_mlp only
    python benchmarks/padded_stack.py --quick
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from grokkit.data.dataset import AlgorithmicDataset
from grokkit.train.trainer import build_stack, run_lr
from grokkit.model.build import build_model
from grokkit.spec import apply_overrides, config_from_dict, read_spec


def configs(spec: str, overrides: list[str], d_mlps: list[int], d_models: list[int]) -> list:
    data = read_spec(spec)
    data.pop("sweep", None)  # a sweep spec's base run
    return [config_from_dict(apply_overrides(data, [*overrides, f"model.d_mlp={m}", f"model.d_model={d}"]))
            for d in d_models for m in d_mlps]


def time_steps(cfgs: list, steps: int, device: torch.device) -> float:
    """Seconds for ``steps`` training steps of ``cfgs`` as one stack (padded when their widths differ)."""
    bridges = [build_model(c.model, c.task, device=device) for c in cfgs]
    state, weights = build_stack(cfgs, bridges, [AlgorithmicDataset(c.task) for c in cfgs], device)
    lr = torch.tensor([run_lr(c.train, 0) for c in cfgs], dtype=torch.float64, device=device)
    state.step(lr, weights)  # warm up
    t0 = time.perf_counter()
    for _ in range(steps):
        state.step(lr, weights)
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", default="tasks/mixture_width_cpu.toml", help="a task spec (its [sweep] is ignored)")
    parser.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE", help="override the spec")
    parser.add_argument("--widths", default="32,64,128,256", help="d_mlp values, comma-separated")
    parser.add_argument("--d-models", default="32,64", help="d_model values, comma-separated")
    parser.add_argument("--steps", type=int, default=100, help="steps per side and round")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds; medians are reported")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--quick", action="store_true", help="10 steps, 1 round")
    args = parser.parse_args(argv)
    if args.quick:
        args.steps, args.rounds = 10, 1
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    d_mlps = [int(w) for w in args.widths.split(",")]
    d_models = [int(w) for w in args.d_models.split(",")]
    cfgs = configs(args.spec, args.set, d_mlps, d_models)
    padded_s, separate_s = [], []
    for _ in range(args.rounds):
        padded_s.append(time_steps(cfgs, args.steps, device))
        separate_s.append(sum(time_steps([c], args.steps, device) for c in cfgs))
    padded, separate = statistics.median(padded_s), statistics.median(separate_s)
    print("# per-round ratios: " + ", ".join(f"{b / a:.2f}" for a, b in zip(padded_s, separate_s)))
    run_steps = len(cfgs) * args.steps
    print(f"ratio={separate / padded:.2f} padded_run_steps_per_s={run_steps / padded:.1f} "
          f"separate_run_steps_per_s={run_steps / separate:.1f} padded_s={padded:.2f} separate_s={separate:.2f} "
          f"runs={len(cfgs)} d_mlp={args.widths} d_model={args.d_models} spec={args.spec} steps={args.steps} "
          f"rounds={args.rounds} threads={torch.get_num_threads()} device={args.device}")


if __name__ == "__main__":
    main()
