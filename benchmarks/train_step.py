"""Training steps per second: grokkit's step against the TransformerLens demo's loop.

Both train the same model on the same data in the same process (the nanda2023
setting by default): full-batch AdamW, float64 cross-entropy of the last position.

- baseline: the demo's way — the full ``[a, b, =]`` sequence through the
  TransformerLens model every step, then ``logits[:, -1]``;
- grokkit: the trainer's step, which computes only the ``=`` position
  (``grokkit.model.fast.last_logits``) on the same bridge parameters.

Rounds alternate between the two so drift on a noisy machine hits both alike.
Ends with one line: ``ratio=… grokkit_steps_per_s=… baseline_steps_per_s=…``.

    python benchmarks/train_step.py [--spec tasks/nanda2023.toml] [--steps 20] [--rounds 5]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from grokkit.data import AlgorithmicDataset
from grokkit.model import build_model, last_logits, trainable_parameters, weights_of
from grokkit.spec import load_spec
from grokkit.train.trainer import make_optimizer

ROOT = Path(__file__).resolve().parent.parent


def make_step(kind: str, config, device: str):
    model = build_model(config.model, config.task, device=device)
    optimizer = make_optimizer(config.train, trainable_parameters(model).values())
    ds = AlgorithmicDataset(config.task)
    tokens, labels = ds.train_tokens.to(device), ds.train_labels.to(device)
    weights = weights_of(model)

    def step() -> float:
        if kind == "baseline":
            logits = model(tokens)[:, -1]  # the demo: every position through the model
        else:
            logits = last_logits(weights, tokens)  # only the '=' position feeds the loss
        loss = F.cross_entropy(logits.double(), labels)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        return loss.item()

    return step


def steps_per_second(step, n: int, device: str) -> float:
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
    args = parser.parse_args()

    config = load_spec(args.spec, [f"train.device={args.device!r}".replace("'", '"')])
    device = config.train.resolve_device()
    steps = {kind: make_step(kind, config, device) for kind in ("grokkit", "baseline")}
    for step in steps.values():  # warm-up: allocator, kernels, first optimizer state
        for _ in range(3):
            step()
    rates: dict[str, list[float]] = {kind: [] for kind in steps}
    for _ in range(args.rounds):
        for kind, step in steps.items():
            rates[kind].append(steps_per_second(step, args.steps, device))
    fast, base = statistics.median(rates["grokkit"]), statistics.median(rates["baseline"])
    task = config.task
    print(f"# {task.op} p={task.p} frac_train={task.frac_train} device={device} threads={torch.get_num_threads()}")
    print(f"# grokkit  steps/s per round: {', '.join(f'{r:.1f}' for r in rates['grokkit'])}")
    print(f"# baseline steps/s per round: {', '.join(f'{r:.1f}' for r in rates['baseline'])}")
    print(f"ratio={fast / base:.2f} grokkit_steps_per_s={fast:.1f} baseline_steps_per_s={base:.1f} device={device}")


if __name__ == "__main__":
    main()
