"""Many toy models in one stack against a Python loop over the same single models.

Both sides run the same code (grokkit.toy.train_models) on the same models for the
same number of steps; the loop trains them one at a time (I = 1), the stack all at
once. Only the optimisation loops are timed (data sampling and init are excluded on
both sides). Ends with one line of key=value figures, headline ``ratio``.

    python benchmarks/toy_sweep.py                   # I = 16, n = 1000, T = 100, 300 steps, 5 rounds
    python benchmarks/toy_sweep.py --quick           # seconds
    python benchmarks/toy_sweep.py --T 1000 --threads 2
"""

from __future__ import annotations

import argparse
import statistics

import torch

from grokkit.toy import ToyInstance, ToyTrainConfig, train_models


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=16, help="models I")
    parser.add_argument("--n", type=int, default=1000, help="features")
    parser.add_argument("--S", type=float, default=0.99, help="sparsity")
    parser.add_argument("--T", type=int, default=100, help="training points per model")
    parser.add_argument("--m", type=int, default=2, help="hidden dimensions")
    parser.add_argument("--steps", type=int, default=300, help="steps per model")
    parser.add_argument("--block", type=int, default=None, help="train.block_elements (default: the config's)")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds; medians are reported")
    parser.add_argument("--quick", action="store_true", help="I = 16, T = 30, 50 steps, 1 round")
    args = parser.parse_args(argv)
    if args.quick:
        args.T, args.steps, args.rounds = 30, 50, 1
    if args.threads:
        torch.set_num_threads(args.threads)
    instances = [
        ToyInstance(n=args.n, m=args.m, S=args.S, T=args.T, R=1, weight_decay=1e-2, data_seed=s, init_seed=0)
        for s in range(args.instances)
    ]
    cfg = ToyTrainConfig(steps=args.steps, warmup_steps=args.steps // 20, device="cpu")
    if args.block:
        cfg.block_elements = args.block
    train_models(instances[:2], ToyTrainConfig(steps=5, warmup_steps=1, device="cpu"))  # warm up allocator and kernels

    # Rounds alternate the two sides so that drift on a noisy machine hits both; medians are reported.
    batched_s, loop_s = [], []
    for _ in range(args.rounds):
        batched_s.append(train_models(instances, cfg).seconds)
        loop_s.append(sum(train_models([inst], cfg).seconds for inst in instances))
    batched, loop = statistics.median(batched_s), statistics.median(loop_s)
    print("# per-round ratios: " + ", ".join(f"{b / a:.2f}" for a, b in zip(batched_s, loop_s)))
    model_steps = args.instances * args.steps
    print(
        f"ratio={loop / batched:.2f} batched_model_steps_per_s={model_steps / batched:.1f} "
        f"loop_model_steps_per_s={model_steps / loop:.1f} batched_s={batched:.2f} loop_s={loop:.2f} "
        f"instances={args.instances} n={args.n} T={args.T} m={args.m} steps={args.steps} rounds={args.rounds} "
        f"block_elements={cfg.block_elements} threads={torch.get_num_threads()}"
    )


if __name__ == "__main__":
    main()
