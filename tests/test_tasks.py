"""Every shipped spec in tasks/ loads as written and trains for a couple of steps, so none of them rots.

A spec is a toy sweep (``[toy]``), a capacity study (``[capacity]``), a transformer sweep (``[sweep]``)
or one run. Each is
first loaded exactly as shipped (every value validated, a sweep expanded), then trained
briefly: a run or the first and last run of a sweep for two steps at the spec's own
sizes (a few seconds even at p = 113), a toy sweep with small n and the spec's first
training-set sizes, a capacity study for two steps with one seed and its first two widths. Specs meant for a GPU (``device = "cuda"``) are validated as written
and trained on the CPU with their sizes cut down.
"""

from __future__ import annotations

import dataclasses
import math

import pytest

from conftest import TASKS
from grokkit.spec import read_spec

SPECS = sorted(TASKS.glob("*.toml"))
SHORT = {"steps": 2, "eval_every": 1, "checkpoint_every": 1, "device": "cpu", "early_stop_after": None}


def kind(path) -> str:
    data = read_spec(path)
    return "toy" if "toy" in data else "capacity" if "capacity" in data else "sweep" if "sweep" in data else "run"


def test_every_spec_is_covered():
    assert len(SPECS) >= 16 and {kind(p) for p in SPECS} == {"toy", "capacity", "sweep", "run"}


def short(config):
    """``config`` trained for two steps on the CPU, logging and checkpointing at each (validated again)."""
    return dataclasses.replace(config, train=dataclasses.replace(config.train, **SHORT))


def train_briefly(configs, root):
    from grokkit.run import Run
    from grokkit.workflow import train_run

    for i, config in enumerate(configs):
        run = Run.create(root / f"run{i}", short(config))
        result = train_run(run, progress=False)
        assert result.final_step == 2 and not result.diverged
        assert run.checkpoint_steps() == [0, 1, 2]
        assert all(math.isfinite(row["train_loss"]) for row in run.metrics())


BIG_GRID = 100_000  # pairs; S6's 518 400: two steps with their evaluations take minutes on a CPU


def big(path) -> bool:
    from grokkit.spec import load_spec

    return load_spec(path).task.n_rows > BIG_GRID


RUN_SPECS = [p for p in SPECS if kind(p) == "run"]


@pytest.mark.parametrize("path", [pytest.param(p, marks=pytest.mark.slow) if big(p) else p for p in RUN_SPECS],
                         ids=lambda p: p.stem)
def test_run_spec_loads_and_trains(path, tmp_path):
    from grokkit.spec import load_spec

    train_briefly([load_spec(path)], tmp_path)


@pytest.mark.parametrize("path", [p for p in RUN_SPECS if big(p)], ids=lambda p: p.stem)
def test_a_big_spec_loads_and_fits_as_written(path):
    """A spec too big to train in the default run is still validated as written, and its memory estimated."""
    from grokkit.limits import estimate
    from grokkit.spec import load_spec

    config = load_spec(path)  # every value validated
    assert estimate(config).total < 16 * 2**30


@pytest.mark.parametrize("path", [p for p in SPECS if kind(p) == "sweep"], ids=lambda p: p.stem)
def test_sweep_spec_expands_and_its_first_and_last_runs_train(path, tmp_path):
    from grokkit.sweep.spec import load_sweep

    sweep = load_sweep(path)
    assert len(sweep.runs) >= 2 and len({r.name for r in sweep.runs}) == len(sweep.runs)
    train_briefly([sweep.runs[0].config, sweep.runs[-1].config], tmp_path)


@pytest.mark.parametrize("path", [p for p in SPECS if kind(p) == "toy"], ids=lambda p: p.stem)
def test_toy_spec_loads_and_trains_at_a_small_n(path, tmp_path):
    from grokkit.toy import load_toy_spec, run_sweep

    shipped = load_toy_spec(path)  # every value as written, including a GPU-only device
    Ts = shipped.sweep.T[:2]
    spec = load_toy_spec(path, ["toy.n=20", "toy.test_points=10", "train.steps=2", "train.warmup_steps=1",
                                "train.device=cpu", "train.best_of=1", "sweep.seeds=1", f"sweep.T={Ts}"])
    result = run_sweep(spec, tmp_path / "toy", log=lambda *_: None)
    models = len(Ts) * len(spec.sweep.m or [1]) * len(spec.sweep.S or [1]) * len(spec.sweep.R or [1]) * len(
        spec.sweep.weight_decay or [1])
    assert len(result.rows) == models and all(row["steps"] == 2 for row in result.rows)


@pytest.mark.parametrize("path", [p for p in SPECS if kind(p) == "capacity"], ids=lambda p: p.stem)
def test_capacity_spec_loads_and_trains_two_steps(path, tmp_path):
    from grokkit.capacity import load_capacity_spec, run_study

    shipped = load_capacity_spec(path)  # every value as written, including a GPU-only device
    spec = load_capacity_spec(path, ["train.steps=2", "measures.eval_every=1", "measures.interference_batch=16",
                                     "stack.seeds=1", "train.device=cpu", f"stack.widths={shipped.stack.widths[:2]}"])
    result = run_study(spec, tmp_path / "capacity", log=lambda *_: None)
    assert len(result.results) == len(spec.members()) * spec.capacity.K
    assert all(row["step"] == 2 and math.isfinite(row["loss_norm"]) for row in result.results)
    assert (result.path / "report.html").is_file()


def test_gpu_specs_say_so_and_are_refused_without_one(tmp_path):
    """A spec written for a GPU keeps its device; without CUDA it is refused before anything is written."""
    import torch

    from grokkit.errors import ConfigError
    from grokkit.toy import load_toy_spec, run_sweep

    gpu = [p for p in SPECS if kind(p) == "toy" and load_toy_spec(p).train.device == "cuda"]
    assert [p.stem for p in gpu] == ["henighan2023"]
    if torch.cuda.is_available():
        pytest.skip("a CUDA device is present: the paper-scale spec would run")
    with pytest.raises(ConfigError, match="train.device"):
        run_sweep(load_toy_spec(gpu[0]), tmp_path / "out")
    assert not (tmp_path / "out").exists()
