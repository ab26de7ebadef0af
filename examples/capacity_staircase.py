"""Train every width of the capacity study's task mixture in one stack and compare with Theorem 3's staircase.

Each task k (frequency π_k ∝ k^−β) is predicted to be learned from the width at which the optimal
encoder gives it most of its variance; the stack trains all widths at once and measures s_k.

    OMP_NUM_THREADS=1 python examples/capacity_staircase.py   # a minute or two on a CPU (64/64 cells on 2026-12-07)
    python examples/capacity_staircase.py --quick    # seconds: checks the plumbing
"""

from __future__ import annotations

import argparse
import tempfile

from grokkit.capacity import figures, run_study, spec_from_dict


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny setting (4 tasks, 200 steps)")
    args = parser.parse_args(argv)
    K, steps, widths = (4, 200, [1, 2, 4, 8]) if args.quick else (8, 2000, [1, 2, 3, 4, 6, 8, 12, 16])
    spec = spec_from_dict({
        "capacity": {"K": K, "d_T": 4, "beta": 1.0, "alpha": 2.0},
        "train": {"steps": steps, "batch_size": 256, "lr": 1e-2},
        "stack": {"widths": widths},
        "measures": {"eval_every": steps // 4, "interference_batch": 128},
    })
    with tempfile.TemporaryDirectory() as out:
        result = run_study(spec, out, log=lambda *_: None)
        agreement = result.summary["agreement"]["1.0"]
        print(f"trained {result.summary['members']} widths in one stack for {steps} steps; "
              f"{agreement['agree']}/{agreement['cells']} (task, width) cells as predicted")
        for k in range(1, K + 1):
            print(f"task {k}: predicted learned from width {agreement['predicted_learned_width'][k]}, "
                  f"measured from {agreement['measured_learned_width'][k]}")
        print("figures:", ", ".join(figures(result.path)))


if __name__ == "__main__":
    main()
