"""A run of 10⁶ full-batch quickstart steps: its time and disk with evenly spaced against log-spaced
evaluations and checkpoints, projected from the engine's own step, evaluation and checkpoint.

Training 10⁶ steps to compare two schedules is hours; what differs between them is only how many
evaluations and checkpoints the run makes. So this times, in one process and alternating, the three
things the trainer does (``grokkit.train.trainer.Trainer``): a step (``Trainer.step``, with the loop's
own bookkeeping), an evaluation (``Trainer.evaluate``: the logits of every row, four losses and
accuracies, a metrics row appended) and a checkpoint (``Trainer.checkpoint``: weights and optimiser
state written, hashed, fsynced and renamed into place), on the quickstart model at its state after
``--warm`` steps. A schedule's run then takes::

    T = steps · t_step + n_eval · t_eval + n_checkpoint · t_checkpoint

and holds ``n_checkpoint`` checkpoint folders (their measured size) and ``n_eval`` metrics rows.

- even: the quickstart's schedule (``eval_every = 50``, ``checkpoint_every = 100``);
- log: ``eval_schedule = checkpoint_schedule = "log"`` with ``--count`` of each (300 by default).

Ends with ``ratio=`` (even's time / log's time) and both disks.

    python benchmarks/long_run.py [--steps 1000000] [--count 300] [--rounds 5] [--threads 1]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import torch

from grokkit.train.runs import _prepare
from grokkit.train.trainer import Member, Trainer
from grokkit.model.build import build_model
from grokkit.run import Run
from grokkit.spec import load_spec
from grokkit.train.cadence import scheduled
from grokkit.train.device import flush_subnormals, retain_freed_memory

ROOT = Path(__file__).resolve().parent.parent


def folder_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--spec", default=str(ROOT / "tasks" / "quickstart.toml"))
    parser.add_argument("--steps", type=int, default=1_000_000, help="the run's length the schedules are for")
    parser.add_argument("--count", type=int, default=300, help="evaluations and checkpoints of the log schedule")
    parser.add_argument("--warm", type=int, default=300, help="steps trained before timing (past memorisation)")
    parser.add_argument("--block", type=int, default=50,
                        help="steps per timed block (evaluations and checkpoints: a fifth as many)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    retain_freed_memory()

    even = load_spec(args.spec, [f"train.steps={args.steps}", 'train.device="cpu"'])
    log = load_spec(args.spec, [f"train.steps={args.steps}", 'train.device="cpu"', 'train.eval_schedule="log"',
                                'train.checkpoint_schedule="log"', f"train.eval_count={args.count}",
                                f"train.checkpoint_count={args.count}"])
    with tempfile.TemporaryDirectory(prefix="grokkit-long-") as tmp, flush_subnormals("cpu"):
        run = Run.create(Path(tmp) / "run", even)
        device = torch.device("cpu")
        member = Member(run, build_model(even.model, even.task, device=device))
        _prepare(member, None, device)
        trainer = Trainer([member], 0, device, [])
        for _ in range(args.warm):
            trainer.step()
        small = max(args.block // 5, 1)
        t_step, t_eval, t_ckpt = [], [], []
        for _ in range(args.rounds):
            start = time.perf_counter()
            for _ in range(args.block):
                trainer.step()
            t_step.append((time.perf_counter() - start) / args.block)
            start = time.perf_counter()
            for _ in range(small):
                trainer.evaluate([0])
            t_eval.append((time.perf_counter() - start) / small)
            start = time.perf_counter()
            for _ in range(small):
                trainer.global_step += 1  # a checkpoint at a new step each time, as a run writes them
                trainer.checkpoint(0)
            t_ckpt.append((time.perf_counter() - start) / small)
        steps_written = run.checkpoint_steps()
        per_ckpt = folder_bytes(run.folder.checkpoint_root) / len(steps_written)
        per_row = run.folder.metrics_path.stat().st_size / len(run.metrics())
    step_s, eval_s, ckpt_s = (statistics.median(v) for v in (t_step, t_eval, t_ckpt))
    out = {}
    for name, cfg in (("even", even.train), ("log", log.train)):
        n_eval, n_ckpt = scheduled(cfg, "eval"), scheduled(cfg, "checkpoint")
        total = args.steps * step_s + n_eval * eval_s + n_ckpt * ckpt_s
        disk = n_ckpt * per_ckpt + n_eval * per_row
        out[name] = (total, disk, n_eval, n_ckpt)
        print(f"# {name}: {n_eval} evaluations, {n_ckpt} checkpoints: {total / 3600:.2f} h "
              f"({args.steps / total:.1f} steps/s over the run), {disk / 2**30:.2f} GiB")
    print(f"# per step {step_s * 1e3:.2f} ms (rounds {', '.join(f'{t * 1e3:.2f}' for t in t_step)}), "
          f"per evaluation {eval_s * 1e3:.2f} ms, per checkpoint {ckpt_s * 1e3:.2f} ms "
          f"({per_ckpt / 2**20:.2f} MiB), per metrics row {per_row:.0f} B; threads {torch.get_num_threads()}")
    (te, de, _, _), (tl, dl, _, _) = out["even"], out["log"]
    print(f"ratio={te / tl:.3f} even_h={te / 3600:.2f} log_h={tl / 3600:.2f} even_gib={de / 2**30:.2f} "
          f"log_gib={dl / 2**30:.3f} disk_ratio={de / dl:.1f} step_ms={step_s * 1e3:.2f} eval_ms={eval_s * 1e3:.2f} "
          f"checkpoint_ms={ckpt_s * 1e3:.2f} steps={args.steps} count={args.count}")


if __name__ == "__main__":
    main()
