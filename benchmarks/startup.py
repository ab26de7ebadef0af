"""Start-up: wall time of the commands that only read a run, against importing TransformerLens.

``grokkit --help``, ``grokkit info RUN``, ``grokkit report RUN`` (a measured run: the static
figures come from the checkpoint, the curves from the stored measures) and ``grokkit compare``
(a toy sweep and a transformer sweep) each run as a fresh process, as a user runs them; the
baseline is a fresh ``python -c "import transformer_lens"``, what every command paid before
TransformerLens was imported only where a bridge is needed. The fixtures (a tiny run, measured;
two tiny sweeps) are trained first, in a temporary folder.

Rounds alternate between the commands so drift on a noisy machine hits all alike; figures are
medians. ``--before DIR`` also times another checkout's grokkit (e.g. the commit before a
change) in the same rounds, on fixtures of the same settings that it trains itself. Ends with one line:
``ratio=… help_s=… info_s=… report_s=… compare_s=… baseline_s=…`` where ratio = baseline / info.

    python benchmarks/startup.py [--rounds 5] [--before DIR]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUN = {"task": {"op": "add", "p": 23, "frac_train": 0.5},
       "model": {"d_model": 32, "n_heads": 2, "d_head": 16, "d_mlp": 64},
       "train": {"steps": 60, "lr": 1e-2, "eval_every": 10, "checkpoint_every": 20}}
SWEEP = {**RUN, "sweep": {"grid": {"task.frac_train": [0.5, 0.7]}}}
TOY = ["toy.n=30", "toy.S=0.8", "toy.test_points=50", "train.steps=40", "train.warmup_steps=4",
       "sweep.T=[3,20]", "sweep.seeds=2", "sweep.chunk_instances=4", "train.best_of=1"]


def make_fixtures(root: Path) -> None:
    """A measured run, a toy sweep and a transformer sweep (seconds each at these sizes) in ``root``."""
    import torch

    from grokkit import Run, measure_run, run_sweep, train_run
    from grokkit.spec import config_from_dict
    from grokkit.sweep.spec import expand
    from grokkit.toy import load_toy_spec
    from grokkit.toy import run_sweep as run_toy

    torch.set_num_threads(1)
    run = Run.create(root / "run", config_from_dict(RUN))
    train_run(run, progress=False)
    measure_run(run, progress=False)
    run_toy(load_toy_spec(ROOT / "tasks" / "toy_cpu.toml", TOY), root / "toy", log=lambda *_: None)
    run_sweep(expand(SWEEP), root / "sweep", report=lambda _: None)
    for run_dir in sorted((root / "sweep" / "runs").iterdir()):  # compare reads stored measures
        measure_run(Run(run_dir), ["excluded"], key_freqs=[1, 2], progress=False)


def timed(argv: list[str], env: dict[str, str], cwd: str) -> float:
    t0 = time.perf_counter()
    done = subprocess.run(argv, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if done.returncode:
        raise SystemExit(f"{' '.join(argv)}: exit {done.returncode}: {done.stderr.strip()}")
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--before", default=None, metavar="DIR",
                        help="also time the grokkit of this checkout (e.g. the commit before a change), "
                             "in the same rounds, as before_<command>")
    parser.add_argument("--fixtures", default=None, help=argparse.SUPPRESS)  # internal: make them in DIR, exit
    args = parser.parse_args()
    if args.fixtures:
        make_fixtures(Path(args.fixtures))
        return
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    envs = {"": env}
    if args.before:
        envs["before_"] = {**env, "PYTHONPATH": str(Path(args.before).resolve())}
    with tempfile.TemporaryDirectory() as tmp:
        grokkit = [sys.executable, "-m", "grokkit"]
        commands: dict[str, tuple[list[str], dict[str, str]]] = {}
        for prefix, e in envs.items():  # each grokkit reads fixtures it wrote (newer configs have newer keys)
            f = Path(tmp) / f"{prefix}fixtures"
            f.mkdir()
            subprocess.run([sys.executable, str(Path(__file__).resolve()), "--fixtures", str(f)], env=e, cwd=tmp,
                           check=True, stdout=subprocess.DEVNULL)
            commands.update({
                f"{prefix}help": ([*grokkit, "--help"], e),
                f"{prefix}info": ([*grokkit, "info", str(f / "run")], e),
                f"{prefix}report": ([*grokkit, "report", str(f / "run"), "--out", str(f / "report.html")], e),
                f"{prefix}compare": ([*grokkit, "compare", "--toy", str(f / "toy"), "--transformer", str(f / "sweep"),
                                      "--out", str(f / "compare.html")], e),
            })
        commands["baseline"] = ([sys.executable, "-c", "import transformer_lens"], env)
        times: dict[str, list[float]] = {name: [] for name in commands}
        # in the temporary folder: `-m grokkit` would import a checkout's grokkit from the cwd
        for argv, e in commands.values():  # one unmeasured pass: the page cache holds every module
            timed(argv, e, tmp)
        for _ in range(args.rounds):
            for name, (argv, e) in commands.items():
                times[name].append(timed(argv, e, tmp))
    med = {name: statistics.median(values) for name, values in times.items()}
    for name, values in times.items():
        print(f"{name:15s} median {med[name]:.2f} s  (rounds: {', '.join(f'{v:.2f}' for v in values)})")
    print(f"ratio={med['baseline'] / med['info']:.2f} "
          + " ".join(f"{name}_s={value:.2f}" for name, value in med.items()))


if __name__ == "__main__":
    main()
