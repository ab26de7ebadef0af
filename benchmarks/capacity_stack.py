"""Every width of a capacity study in one stack against a Python loop over the same widths, one at a time.

Both sides run the same code (grokkit.capacity.train_stack) on the same members for the same
steps, without measures; the loop trains each width alone (a stack of one, unpadded), the stack
all of them padded to the widest. Only the optimisation loops are timed. Ends with one line of
key=value figures, headline ``ratio`` (loop time / stack time).

    python benchmarks/capacity_stack.py                 # the phase spec's shape: K = 8, d_T = 8, 10 widths × 2 seeds
    python benchmarks/capacity_stack.py --quick         # seconds
"""

from __future__ import annotations

import argparse
import statistics

import torch

from grokkit.capacity import CapacityTrainConfig, Member, MixtureConfig, train_stack


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--K", type=int, default=8, help="tasks")
    parser.add_argument("--d-T", type=int, default=8, help="directions per task")
    parser.add_argument("--widths", default="1,2,3,4,6,8,12,16,24,32", help="comma-separated widths")
    parser.add_argument("--seeds", type=int, default=2, help="seeds per width")
    parser.add_argument("--batch", type=int, default=256, help="batch size")
    parser.add_argument("--steps", type=int, default=300, help="steps per model")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds; medians are reported")
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--quick", action="store_true", help="60 steps, 1 round")
    args = parser.parse_args(argv)
    if args.quick:
        args.steps, args.rounds = 60, 1
    torch.set_num_threads(args.threads)
    mix = MixtureConfig(K=args.K, d_T=args.d_T, beta=1.0)
    widths = [int(w) for w in args.widths.split(",")]
    members = [Member(N, seed, 1.0) for seed in range(args.seeds) for N in widths]
    cfg = CapacityTrainConfig(steps=args.steps, batch_size=args.batch, lr=1e-2, device=args.device)
    train_stack(members[:2], mix, CapacityTrainConfig(steps=5, batch_size=args.batch, device=args.device))  # warm up

    # Rounds alternate the two sides so that drift on a noisy machine hits both; medians are reported.
    stacked_s, loop_s = [], []
    for _ in range(args.rounds):
        stacked_s.append(train_stack(members, mix, cfg).seconds)
        loop_s.append(sum(train_stack([m], mix, cfg).seconds for m in members))
    stacked, loop = statistics.median(stacked_s), statistics.median(loop_s)
    print("# per-round ratios: " + ", ".join(f"{b / a:.2f}" for a, b in zip(stacked_s, loop_s)))
    model_steps = len(members) * args.steps
    print(f"ratio={loop / stacked:.2f} stacked_model_steps_per_s={model_steps / stacked:.1f} "
          f"loop_model_steps_per_s={model_steps / loop:.1f} stacked_s={stacked:.2f} loop_s={loop:.2f} "
          f"members={len(members)} K={args.K} d_T={args.d_T} D={mix.dim} widths={args.widths} batch={args.batch} "
          f"steps={args.steps} rounds={args.rounds} threads={torch.get_num_threads()} device={args.device}")


if __name__ == "__main__":
    main()
