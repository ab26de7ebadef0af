"""Log-spaced evaluations and checkpoints (grokkit.train.cadence): the schedule's properties and a run that keeps it."""

from __future__ import annotations

import json
import math

import pytest
from conftest import cli, one_line_error, tiny_dict, tiny_toml, write_spec

from grokkit.train.cadence import checkpoints_at, evaluates_at, log_steps, scheduled


@pytest.mark.parametrize("steps,count", [(10**6, 300), (3750, 60), (25_000, 1000), (100, 3), (10, 5),
                                         (7, 2), (5, 10), (1, 2), (0, 2), (50, 50), (50, 51)])
def test_a_log_schedule_has_the_first_and_last_step_and_never_a_step_twice(steps, count):
    out = log_steps(steps, count)
    assert out[0] == 0 and out[-1] == steps
    assert out == sorted(set(out))  # strictly increasing: no step twice
    assert len(out) == min(count, steps + 1)  # exactly the count asked for, when there are enough steps
    assert all(isinstance(s, int) for s in out)


def test_a_log_schedule_is_spaced_evenly_in_log_step_once_it_thins_out():
    out = log_steps(10**6, 300)
    ratios = [b / a for a, b in zip(out[100:], out[101:])]  # past the dense start (one a step)
    ideal = math.exp(math.log(10**6) / 299)
    assert max(ratios) / min(ratios) < 1.01 and abs(ratios[-1] / ideal - 1) < 0.05
    assert out[:20] == list(range(20))  # the start keeps every step: the early loss changes fastest


def test_the_even_and_log_schedules_decide_each_step(tiny_config):
    even = tiny_config(train={"steps": 45, "eval_every": 10, "checkpoint_every": 20}).train
    assert [s for s in range(46) if evaluates_at(even, s)] == [0, 10, 20, 30, 40, 45]
    assert [s for s in range(46) if checkpoints_at(even, s)] == [0, 20, 40, 45]
    assert scheduled(even, "eval") == 6 and scheduled(even, "checkpoint") == 4
    log = tiny_config(train={"steps": 1000, "eval_schedule": "log", "eval_count": 30,
                             "checkpoint_schedule": "log", "checkpoint_count": 12}).train
    assert [s for s in range(1001) if evaluates_at(log, s)] == log_steps(1000, 30)
    assert [s for s in range(1001) if checkpoints_at(log, s)] == log_steps(1000, 12)
    assert scheduled(log, "eval") == 30 and scheduled(log, "checkpoint") == 12


def test_a_run_with_a_log_schedule_evaluates_and_checkpoints_at_its_steps(tmp_path, capsys):
    spec = write_spec(tmp_path, tiny_toml(train={"steps": 60, "eval_schedule": "log", "eval_count": 9,
                                                 "checkpoint_schedule": "log", "checkpoint_count": 6,
                                                 "device": "cpu"}))
    result = cli(capsys, "train", spec, "--out", tmp_path / "run", "--no-progress")
    assert result.code == 0, result.err
    rows = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert [row["step"] for row in rows] == log_steps(60, 9)
    folders = sorted(p.name for p in (tmp_path / "run" / "checkpoints").iterdir())
    assert folders == [f"step_{s:07d}" for s in log_steps(60, 6)]
    config = json.loads((tmp_path / "run" / "config.json").read_text())["config"]["train"]
    assert config["checkpoint_schedule"] == "log" and config["checkpoint_count"] == 6
    info = cli(capsys, "info", tmp_path / "run")
    assert info.code == 0 and "6 checkpoints" in info.out, info.out
    measured = cli(capsys, "measure", tmp_path / "run", "--measures", "loss,weight_norm", "--no-progress")
    assert measured.code == 0, measured.err
    assert [row["step"] for row in json.loads(f"[{','.join(open(tmp_path / 'run' / 'measures.jsonl'))}]")] \
        == log_steps(60, 6)
    assert cli(capsys, "report", tmp_path / "run").code == 0 and (tmp_path / "run" / "report.html").is_file()
    resumed = cli(capsys, "resume", tmp_path / "run", "--steps", "90", "--no-progress")
    assert resumed.code == 0, resumed.err  # the rest follows the schedule of a 90-step run
    more = sorted(p.name for p in (tmp_path / "run" / "checkpoints").iterdir())
    assert more == sorted({f"step_{s:07d}" for s in [*log_steps(60, 6), *(s for s in log_steps(90, 6) if s > 60)]})


@pytest.mark.parametrize("override,needle", [("train.checkpoint_schedule=linear", "train.checkpoint_schedule"),
                                             ("train.eval_schedule=3", "train.eval_schedule"),
                                             ("train.checkpoint_count=1", "train.checkpoint_count"),
                                             ("train.eval_count=0", "train.eval_count")])
def test_a_bad_schedule_is_one_line_naming_the_field(tmp_path, capsys, override, needle):
    spec = write_spec(tmp_path, tiny_toml(train={"device": "cpu"}))
    result = cli(capsys, "train", spec, "--out", tmp_path / "run", "--set", override, "--no-progress")
    assert result.code != 0 and not (tmp_path / "run").exists()
    one_line_error(result.err, needle)


def test_an_old_config_without_the_schedule_keys_reads_as_evenly_spaced(tiny_config):
    from grokkit.spec import config_from_dict

    data = tiny_dict()
    train = config_from_dict(data).train
    assert train.eval_schedule == train.checkpoint_schedule == "even"
