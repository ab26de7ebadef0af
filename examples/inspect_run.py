"""Train a small grokking run from Python, then open a checkpoint as a TransformerLens model.

    python examples/inspect_run.py [--out runs/example] [--steps 3000]

Uses only the public API: grokkit.load_spec, Run, train_run, load_run.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

import grokkit

TASKS = Path(__file__).resolve().parent.parent / "tasks"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default="runs/example")
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--set", dest="overrides", action="append", default=[], help="spec override, e.g. task.p=23")
    args = parser.parse_args()

    config = grokkit.load_spec(TASKS / "quickstart.toml", [f"train.steps={args.steps}", *args.overrides])
    run = grokkit.Run.create(args.out, config)
    if not run.checkpoint_steps():
        grokkit.train_run(run, progress=False)

    run = grokkit.load_run(args.out)
    steps = run.checkpoint_steps()
    print(f"{len(steps)} checkpoints, steps {steps[0]}…{steps[-1]}")
    ds = run.dataset
    for step in (steps[0], steps[len(steps) // 2], steps[-1]):
        model = run.load_model(step)  # a TransformerLens bridge with hooks
        logits, cache = model.run_with_cache(ds.tokens)
        last = logits[:, -1]
        test_acc = (last[ds.split.test].argmax(-1) == ds.labels[ds.split.test]).float().mean().item()
        post = cache["blocks.0.mlp.hook_post"][:, -1]  # [p², d_mlp] neuron activations at '='
        active = (post > 0).float().mean().item()
        # the embedding's Fourier spectrum sharpens as the model groks
        norms = torch.fft.rfft(model.W_E[: ds.cfg.n_symbols].detach(), dim=0).abs().pow(2).sum(-1)[1:]
        top = norms.topk(3).indices.add(1).tolist()
        print(f"step {step:>6}: test acc {test_acc:6.1%}, neurons active {active:5.1%}, top W_E frequencies {top}")


if __name__ == "__main__":
    main()
