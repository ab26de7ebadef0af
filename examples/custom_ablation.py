"""Write your own ablation with a TransformerLens hook, and check it against grokkit's excluded loss.

The excluded loss (Nanda et al. 2023, *Progress measures for grokking*) removes the key-frequency directions
c_k ∝ cos(ω_k(a+b)), s_k ∝ sin(ω_k(a+b)) from the logits over the input grid and scores
the train rows. Here we do that by hand: a hook on ``hook_unembed`` edits the logits at
the ``=`` position during ``run_with_hooks``, and we compare the loss with the
built-in measure.

    python examples/custom_ablation.py RUN          # a trained add/sub run
    python examples/custom_ablation.py --tiny       # trains a tiny run in a temp dir first (seconds)
"""

from __future__ import annotations

import argparse
import math
import tempfile

import torch
import torch.nn.functional as F

import grokkit
from grokkit.analysis.fourier import fourier_sign


def tiny_run(path: str) -> grokkit.Run:
    """A run small enough to train in seconds on a CPU (it will not grok; the check still holds)."""
    config = grokkit.RunConfig(
        task=grokkit.TaskConfig(p=17, frac_train=0.5),
        model=grokkit.ModelConfig(d_model=32, n_heads=2, d_head=16, d_mlp=64),
        train=grokkit.TrainConfig(steps=60, eval_every=30, checkpoint_every=30, device="cpu"),
    )
    run = grokkit.Run.create(path, config)
    grokkit.train_run(run, progress=False)
    return run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", nargs="?", help="run directory (an add or sub task)")
    parser.add_argument("--tiny", action="store_true", help="train a tiny run in a temporary directory and use it")
    args = parser.parse_args(argv)
    if not args.tiny and args.run is None:
        parser.error("give a RUN directory or --tiny")

    with tempfile.TemporaryDirectory() as tmp:
        run = tiny_run(tmp) if args.tiny else grokkit.load_run(args.run)
        model, ds = run.load_model(), run.dataset
        p, sign = ds.cfg.p, fourier_sign(ds.cfg)
        key_freqs = grokkit.key_frequencies(model, ds) or [1, 2]  # an untrained model may have none yet

        # Our own ablation: unit vectors cos/sin(ω_k(a ± b)) over the a-major grid (row = a·p + b) …
        a, b = ds.x.double(), ds.y.double()
        columns = []
        for k in key_freqs:
            phase = 2 * math.pi * k * (a + sign * b) / p
            columns += [torch.cos(phase), torch.sin(phase)]
        D = torch.stack(columns, dim=1)
        D = D / D.norm(dim=0)  # [p*p, 2|K|]

        # … and a hook that removes them from the logits at the '=' position (the others never feed the loss).
        def remove_key_directions(logits: torch.Tensor, hook) -> torch.Tensor:  # [batch, pos, d_vocab_out]
            logits = logits.clone()
            last = logits[:, -1].double()
            logits[:, -1] = (last - D @ (D.T @ last)).to(logits.dtype)
            return logits

        with torch.no_grad():
            logits = model.run_with_hooks(ds.tokens, fwd_hooks=[("hook_unembed", remove_key_directions)])
        train = ds.split.train
        by_hand = F.cross_entropy(logits[train, -1].double(), ds.labels[train]).item()

        built_in = grokkit.measure_model(model, ds, measures=["excluded"], key_freqs=key_freqs)["excluded_loss"]
        clean = F.cross_entropy(model(ds.tokens)[train, -1].double(), ds.labels[train]).item()

    agree = math.isclose(by_hand, built_in, rel_tol=1e-4, abs_tol=1e-6)
    print(f"key frequencies {key_freqs}")
    print(f"train loss {clean:.6g}; excluded loss by hand {by_hand:.6g}, built-in {built_in:.6g}: "
          f"{'agree' if agree else 'DISAGREE'}")
    return 0 if agree else 1


if __name__ == "__main__":
    raise SystemExit(main())
