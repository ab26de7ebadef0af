"""Benchmark: every progress measure over every checkpoint of a p = 113 run.

Fast path: ``grokkit.measures.offline.measure_run`` (one bridge; per checkpoint one last-position
forward shared by all measures). Naive path: per checkpoint, each measure on its own,
each one that reads activations calling ``model.run_with_cache`` (all three positions)
itself. Both run in this process, on the CPU, with the same key frequencies rule.

    python benchmarks/measures.py                 # trains a 250-checkpoint p=113 run in a temp dir
    python benchmarks/measures.py --run RUN       # or an existing run (rewrites RUN/measures.jsonl)
    python benchmarks/measures.py --quick         # small smoke run (p = 23, 20 checkpoints)

Ends with one line: ``ratio=… fast_s=… naive_s=… checkpoints=…``.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import torch


def make_run(path: str, p: int, checkpoints: int, quick: bool):
    """A run with ``checkpoints`` checkpoints (steps 0 … checkpoints−1, one per step)."""
    from grokkit.run import Run
    from grokkit.spec import config_from_dict
    from grokkit.workflow import train_run as train

    sections = {"task": {"p": p}, "train": {"steps": checkpoints - 1, "eval_every": 50, "checkpoint_every": 1,
                                            "device": "cpu"}}
    if quick:
        sections["model"] = {"d_model": 64, "d_mlp": 256}
    run = Run.create(path, config_from_dict(sections))
    train(run, progress=False)
    return run


def naive(run, steps: list[int]) -> list[dict]:
    """Each measure on its own; every activation read is its own ``run_with_cache`` call."""
    from grokkit.measures.activations import from_hooks
    from grokkit.measures.base import Context, RunContext, compute_row, detect_keys
    from grokkit.measures.registry import resolve
    from grokkit.model.run_weights import weights_of

    measures = resolve(None, run.config.task.op)
    model = run.load_model()
    weights = weights_of(model)
    ctx_run = RunContext(run.dataset, torch.device("cpu"))
    tokens = ctx_run.tokens
    model.load_state_dict(run.checkpoint().model)
    final = Context(ctx_run, -1, weights, activations=lambda: from_hooks(model, tokens))
    ctx_run.key_freqs = detect_keys(final, ctx_run.key_freq_rule).keys
    ctx_run.final_W_E = weights.W_E.detach().clone()
    rows = []
    for step in steps:
        model.load_state_dict(run.checkpoint(step).model)
        row = {"step": step}
        for measure in measures:  # a fresh context per measure: nothing is shared
            row.update(compute_row(Context(ctx_run, step, weights, activations=lambda: from_hooks(model, tokens)),
                                   [measure]))
        rows.append(row)
    return rows


def max_rel_diff(a: list[dict], b: list[dict], keys=("train_loss", "test_loss", "excluded_loss", "restricted_loss",
                                                      "frac_neurons_explained", "mlp_active_frac")) -> float:
    worst = 0.0
    for ra, rb in zip(a, b):
        for key in keys:
            worst = max(worst, abs(ra[key] - rb[key]) / max(abs(rb[key]), 1e-6))
    return worst


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", help="an add/sub run to measure; made there first if it does not exist "
                        "(default: made in a temp dir). Its measures.jsonl is rewritten.")
    parser.add_argument("--quick", action="store_true", help="small smoke run: p = 23, 20 checkpoints")
    parser.add_argument("--checkpoints", type=int, default=None, help="checkpoints of the run made here (default 250)")
    parser.add_argument("--threads", type=int, default=2, help="torch threads (default 2: the target machine)")
    parser.add_argument("--naive-sample", type=int, default=None, metavar="N",
                        help="time the naive loop on N evenly spaced checkpoints and scale it to all "
                        "(default: all checkpoints; the naive loop is slow)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    from grokkit.measures.offline import measure_run
    from grokkit.run import Run

    with tempfile.TemporaryDirectory() as tmp:
        if args.run and os.path.exists(args.run):
            run = Run(args.run)
        else:
            t = time.perf_counter()
            n = args.checkpoints or (20 if args.quick else 250)
            run = make_run(args.run or os.path.join(tmp, "run"), 23 if args.quick else 113, n, args.quick)
            print(f"made a {n}-checkpoint run in {time.perf_counter() - t:.1f}s", flush=True)
        run.load_model()  # pay TransformerLens's one-off start-up before either timer

        t, cpu = time.perf_counter(), time.process_time()
        fast_rows = measure_run(run)
        fast_s, fast_cpu = time.perf_counter() - t, time.process_time() - cpu
        print(f"fast  {fast_s:.1f}s wall, {fast_cpu:.1f}s cpu", flush=True)
        steps = run.checkpoint_steps()
        sample = steps
        if args.naive_sample and args.naive_sample < len(steps):
            sample = [steps[round(i * (len(steps) - 1) / (args.naive_sample - 1))] for i in range(args.naive_sample)]
        t, cpu = time.perf_counter(), time.process_time()
        naive_rows = naive(run, sample)
        scale = len(steps) / len(sample)
        naive_s, naive_cpu = (time.perf_counter() - t) * scale, (time.process_time() - cpu) * scale
        print(f"naive {naive_s:.1f}s wall, {naive_cpu:.1f}s cpu"
              + (f" (scaled from {len(sample)} checkpoints)" if sample != steps else ""), flush=True)

    by_step = {row["step"]: row for row in fast_rows}
    diff = max_rel_diff([by_step[row["step"]] for row in naive_rows], naive_rows)
    load = os.getloadavg()[0]
    # cpu seconds: process time over all threads, a steadier figure than wall time on a shared machine
    print(f"ratio={naive_s / fast_s:.2f} fast_s={fast_s:.1f} naive_s={naive_s:.1f} checkpoints={len(fast_rows)} "
          f"cpu_ratio={naive_cpu / fast_cpu:.2f} fast_cpu_s={fast_cpu:.1f} naive_cpu_s={naive_cpu:.1f} "
          f"naive_checkpoints={len(sample)} p={run.config.task.p} threads={args.threads} "
          f"max_rel_diff={diff:.1e} load1={load:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
