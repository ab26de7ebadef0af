"""Train a small grokking run from Python, then open a checkpoint as a TransformerLens model.

    python examples/inspect_run.py [--out runs/example] [--steps 3000] [--set task.p=23 ...]
    python examples/inspect_run.py --tiny    # a tiny model for 30 steps in a temporary folder (seconds)

Uses only the public API: grokkit.load_spec (the packaged quickstart spec, by name, so the
script runs from an install as from a checkout), Run, train_run, load_run.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import torch

import grokkit

TINY = ["task.p=11", "model.d_model=16", "model.d_mlp=32", "model.n_heads=2", "model.d_head=8",
        "train.checkpoint_every=10"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default="runs/example")
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--set", dest="overrides", action="append", default=[], help="spec override, e.g. task.p=23")
    parser.add_argument("--tiny", action="store_true", help="a tiny model, 30 steps, in a temporary folder")
    args = parser.parse_args()
    if args.tiny:
        with tempfile.TemporaryDirectory() as tmp:
            inspect(Path(tmp) / "run", ["train.steps=30", *TINY, *args.overrides])
    else:
        inspect(Path(args.out), [f"train.steps={args.steps}", *args.overrides])


def inspect(out: Path, overrides: list[str]) -> None:
    config = grokkit.load_spec("quickstart", overrides)
    run = grokkit.Run.create(out, config)
    if not run.checkpoint_steps():
        grokkit.train_run(run, progress=False)

    run = grokkit.load_run(out)
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
