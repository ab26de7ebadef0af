"""Train a few toy models of superposition at once and watch the two regimes.

Small T: the training points' hidden vectors form a regular T-gon (each point has
dimensionality m/T). Large T: five features form a pentagon (dimensionality ≈ 2/5).

    python examples/toy_superposition.py            # about a minute on one CPU core
    python examples/toy_superposition.py --quick    # seconds: too short to converge, checks the plumbing
"""

from __future__ import annotations

import argparse

from grokkit.toy import ToyInstance, ToyTrainConfig, measure, model_views, train_models


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000, help="features (reduced scale: 1000)")
    parser.add_argument("--S", type=float, default=0.99, help="sparsity")
    parser.add_argument("--T", type=int, nargs="+", default=[5, 300, 3000], help="training-set sizes")
    parser.add_argument("--steps", type=int, default=3000, help="full-batch AdamW steps")
    parser.add_argument("--quick", action="store_true", help="tiny setting (n=50, 100 steps)")
    args = parser.parse_args(argv)
    if args.quick:
        args.n, args.S, args.T, args.steps = 50, 0.9, [5, 100], 100

    # one stack of models, one per T; each trains exactly as it would alone
    instances = [ToyInstance(n=args.n, m=2, S=args.S, T=T, R=1, weight_decay=1e-2, data_seed=0, init_seed=0) for T in args.T]
    config = ToyTrainConfig(steps=args.steps, warmup_steps=args.steps // 20)
    result = train_models(instances, config)
    print(f"trained {len(instances)} models for {args.steps} steps in {result.seconds:.1f} s")
    for inst, view in zip(instances, model_views(result, instances)):
        row = measure(view)
        print(
            f"T = {inst.T:>5}: test loss − 1 = {row['test_loss'] - 1:+.4f}, "
            f"point dims ≈ m/T = {2 / inst.T:.3f}? max rel. error {row['point_dim_rel_err_max']:.2f}; "
            f"top feature dims {row['top_feature_dims'][:6]}"
        )


if __name__ == "__main__":
    main()
