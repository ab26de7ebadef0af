"""Training steps per second: the grokkit engine's step against the TransformerLens demo's loop.

Both train the same model on the same data in the same process (the nanda2023 setting by
default): full-batch AdamW, float64 cross-entropy of the last position.

- baseline: the demo's way: the full ``[a, b, =]`` sequence through the TransformerLens
  model every step, ``logits[:, -1]``, ``torch.optim.AdamW``;
- grokkit: the engine's step on a stack of one run (``grokkit.train.step.StackState.step``:
  the ``=``-position forward, the per-run loss, backward, the stacked AdamW).

Rounds alternate between the two so drift on a noisy machine hits both alike. With
``--threads 1 2`` the grokkit step is also timed at each thread count (rounds alternate
between them too), to check that more threads never make the step slower.
Ends with one line: ``ratio=… grokkit_steps_per_s=… baseline_steps_per_s=…``.

    python benchmarks/train_step.py [--spec tasks/nanda2023.toml] [--steps 20] [--rounds 5] [--threads 1 2]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from grokkit.data.dataset import AlgorithmicDataset
from grokkit.model.build import build_model, trainable_parameters
from grokkit.spec import load_spec
from grokkit.train.trainer import build_stack, run_lr

ROOT = Path(__file__).resolve().parent.parent


def make_step(kind: str, config, device: str):
    model = build_model(config.model, config.task, device=device)
    ds = AlgorithmicDataset(config.task)
    if kind == "baseline":
        t = config.train
        optimizer = torch.optim.AdamW(trainable_parameters(model).values(), lr=t.lr, betas=(t.beta1, t.beta2),
                                      weight_decay=t.weight_decay)
        tokens, labels = ds.train_tokens.to(device), ds.train_labels.to(device)

        def step() -> None:
            logits = model(tokens)[:, -1]  # the demo: every position through the model
            F.cross_entropy(logits.double(), labels).backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)

        return step
    state, weights = build_stack([config], [model], [ds], torch.device(device))
    lr = torch.tensor([run_lr(config.train, 100)], dtype=torch.float64, device=device)

    def step() -> None:
        state.step(lr, weights)

    return step


def steps_per_second(step, n: int, device: str, threads: int | None = None) -> float:
    if threads is not None:
        torch.set_num_threads(threads)
    if device == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(n):
        step()
    if device == "cuda":
        torch.cuda.synchronize()
    return n / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--spec", default=str(ROOT / "tasks" / "nanda2023.toml"))
    parser.add_argument("--steps", type=int, default=20, help="steps per timed round")
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds per variant")
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    parser.add_argument("--threads", type=int, nargs="*", default=[],
                        help="also time the grokkit step at these thread counts (e.g. 1 2)")
    args = parser.parse_args()

    config = load_spec(args.spec, [f"train.device={args.device!r}".replace("'", '"')])
    device = config.train.resolve_device()
    default_threads = torch.get_num_threads()
    steps = {kind: make_step(kind, config, device) for kind in ("grokkit", "baseline")}
    for step in steps.values():  # warm-up: allocator, kernels, first optimizer state
        for _ in range(3):
            step()
    rates: dict[str, list[float]] = {kind: [] for kind in steps}
    per_thread: dict[int, list[float]] = {n: [] for n in args.threads}
    for _ in range(args.rounds):
        for kind, step in steps.items():
            rates[kind].append(steps_per_second(step, args.steps, device, default_threads))
        for n in args.threads:
            per_thread[n].append(steps_per_second(steps["grokkit"], args.steps, device, n))
    torch.set_num_threads(default_threads)
    fast, base = statistics.median(rates["grokkit"]), statistics.median(rates["baseline"])
    task = config.task
    print(f"# {task.op} p={task.p} frac_train={task.frac_train} device={device} threads={default_threads}")
    print(f"# grokkit  steps/s per round: {', '.join(f'{r:.1f}' for r in rates['grokkit'])}")
    print(f"# baseline steps/s per round: {', '.join(f'{r:.1f}' for r in rates['baseline'])}")
    extra = ""
    for n, values in per_thread.items():
        print(f"# grokkit at {n} thread(s): {', '.join(f'{r:.1f}' for r in values)} (median {statistics.median(values):.1f})")
        extra += f" grokkit_{n}t_steps_per_s={statistics.median(values):.1f}"
    print(f"ratio={fast / base:.2f} grokkit_steps_per_s={fast:.1f} baseline_steps_per_s={base:.1f} "
          f"threads={default_threads}{extra} device={device}")


if __name__ == "__main__":
    main()
