"""Experiment tracking: the trackers' events read back (TensorBoard event files, W&B offline records)."""

from __future__ import annotations

import glob
import struct
from pathlib import Path

import pytest

from conftest import SMALL_SPEC, cli, one_line_error, write_spec
from grokkit.errors import ConfigError
from grokkit.files.jsonl import read_rows
from grokkit.run import Run
from grokkit.track import make_trackers
from grokkit.track.config import LogConfig
from grokkit.track.base import scalars


def test_scalars_flatten_tables_and_lists_and_drop_what_is_not_a_number() -> None:
    row = {"step": 10, "train_loss": 0.5, "group": "Z_13", "key_freqs": [3, 5], "grok": None, "flag": True,
           "excluded_loss_per_freq": {"3": 1.5, "5": float("nan")}}
    assert scalars(row, "measures/") == {"measures/train_loss": 0.5, "measures/key_freqs/0": 3.0,
                                         "measures/key_freqs/1": 5.0, "measures/excluded_loss_per_freq/3": 1.5}


def test_log_config_validates_and_cli_choice_replaces_the_spec() -> None:
    with pytest.raises(ConfigError, match="log.backends"):
        LogConfig(backends=["mlflow"])
    with pytest.raises(ConfigError, match="log.wandb_mode"):
        LogConfig(wandb_mode="cloud")
    assert make_trackers(LogConfig()) == []
    pytest.importorskip("tensorboard")
    [tracker] = make_trackers(LogConfig(backends=["wandb"]), "tensorboard")
    assert tracker.name == "tensorboard"


def _train(tmp_path: Path, tiny_config, trackers, live: bool = True) -> Run:
    from grokkit.measures.live import LiveMeasures
    from grokkit.train.runs import train

    measures = {"live": ["weight_norm"]} if live else {}
    run = Run.create(tmp_path / "run", tiny_config(train={"steps": 20}, measures=measures))
    # the trackers come before the live measures: they must still pick up each checkpoint's row
    train(run, callbacks=[*trackers, LiveMeasures([run])])
    return run


def test_tensorboard_events_hold_every_metric_and_live_measure(tmp_path: Path, tiny_config) -> None:
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    run = _train(tmp_path, tiny_config, make_trackers(LogConfig(backends=["tensorboard"])))

    events = EventAccumulator(str(run.path / "tensorboard"))
    events.Reload()
    metrics = run.metrics()
    logged = events.Scalars("test_loss")
    assert [e.step for e in logged] == [row["step"] for row in metrics]
    assert [e.value for e in logged] == pytest.approx([row["test_loss"] for row in metrics], rel=1e-6)
    measures = read_rows(run.path / "measures.jsonl")
    assert [row["step"] for row in measures] == [0, 10, 20]  # a checkpoint at the start, 10 and 20
    assert [e.step for e in events.Scalars("measures/weight_norm")] == [row["step"] for row in measures]


def _wandb_history(run_dir: Path, path: str | None = None) -> list[dict[str, str]]:
    """History records of an offline W&B run: its .wandb file is a LevelDB-style log of protobuf Records."""
    from wandb.proto import wandb_internal_pb2

    if path is None:
        [path] = glob.glob(str(run_dir / "wandb" / "wandb" / "offline-run-*" / "run-*.wandb"))
    data = Path(path).read_bytes()
    pos, block, records, partial = 7, 32768, [], b""  # a 7-byte file header, then 32 KiB blocks
    while pos + 7 <= len(data):
        if block - pos % block < 7:  # a block's tail too short for a header is padding
            pos += block - pos % block
            continue
        _, length, kind = struct.unpack("<IHB", data[pos:pos + 7])
        if length == 0 and kind == 0:
            break
        partial += data[pos + 7:pos + 7 + length]
        pos += 7 + length
        if kind in (1, 4):  # a full record, or the last piece of one
            records.append(partial)
            partial = b""
    history = []
    for raw in records:
        record = wandb_internal_pb2.Record()
        record.ParseFromString(raw)
        if record.WhichOneof("record_type") == "history":
            history.append({item.key or "/".join(item.nested_key): item.value_json for item in record.history.item})
    return history


def test_wandb_offline_run_holds_every_metric_and_live_measure(tmp_path: Path, tiny_config, monkeypatch) -> None:
    pytest.importorskip("wandb")
    monkeypatch.setenv("WANDB_SILENT", "true")
    monkeypatch.setenv("WANDB_DISABLE_GIT", "true")

    import wandb

    run = _train(tmp_path, tiny_config, make_trackers(LogConfig(backends=["wandb"], wandb_mode="offline")))
    wandb.teardown()  # the W&B service writes the run file in the background; this waits for it

    history = _wandb_history(run.path)
    metrics = [h for h in history if "test_loss" in h]
    assert [int(h["step"]) for h in metrics] == [row["step"] for row in run.metrics()]
    assert [float(h["test_loss"]) for h in metrics] == pytest.approx([r["test_loss"] for r in run.metrics()])
    measured = [int(h["step"]) for h in history if "measures/weight_norm" in h]
    assert measured == [row["step"] for row in read_rows(run.path / "measures.jsonl")] == [0, 10, 20]


def test_a_missing_tracker_package_is_one_line_naming_the_extra(monkeypatch) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "wandb" else real(name, *a))
    with pytest.raises(ConfigError, match=r"pip install 'grokkit\[wandb\]'"):
        make_trackers(LogConfig(backends=["wandb"]))


def test_the_log_flag_of_train_writes_tensorboard_events(tmp_path, tiny_spec):
    pytest.importorskip("tensorboard")
    from grokkit.cli import main

    assert main(["train", str(tiny_spec), "--out", str(tmp_path / "run"), "--log", "tensorboard", "--no-progress"]) == 0
    assert list((tmp_path / "run").rglob("events.out.tfevents*"))


def test_grokkit_run_with_log_also_sends_the_measures_computed_after_training(tmp_path, tiny_spec, capsys):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from grokkit.cli import main

    run_dir = tmp_path / "run"
    assert main(["run", str(tiny_spec), "--out", str(run_dir), "--log", "tensorboard", "--no-progress"]) == 0
    assert "measures: sent to tensorboard" in capsys.readouterr().out
    measures = read_rows(run_dir / "measures.jsonl")
    assert [row["step"] for row in measures] == Run(run_dir).checkpoint_steps()
    for key in ("excluded_loss", "restricted_loss", "gini_W_E"):
        assert all(key in row for row in measures), key
    logged: dict[str, list[tuple[int, float]]] = {}
    for events_file in sorted((run_dir / "tensorboard").glob("events.out.tfevents*")):  # training's, then these
        events = EventAccumulator(str(events_file))
        events.Reload()
        for tag in events.Tags()["scalars"]:
            logged.setdefault(tag, []).extend((e.step, e.value) for e in events.Scalars(tag))
    assert "train_loss" in logged  # training's own metrics are still there
    for key in ("excluded_loss", "restricted_loss", "gini_W_E"):
        values = [(row["step"], row[key]) for row in measures]
        assert [step for step, _ in logged[f"measures/{key}"]] == [step for step, _ in values]
        assert [v for _, v in logged[f"measures/{key}"]] == pytest.approx([v for _, v in values], rel=1e-6)


def test_wandb_offline_measures_sent_after_training_go_to_the_same_wandb_run(tmp_path, tiny_config, monkeypatch):
    pytest.importorskip("wandb")
    monkeypatch.setenv("WANDB_SILENT", "true")
    monkeypatch.setenv("WANDB_DISABLE_GIT", "true")
    import wandb

    from grokkit.measures.offline import measure_run
    from grokkit.track import send_offline_measures

    log = LogConfig(backends=["wandb"], wandb_mode="offline")
    run = _train(tmp_path, tiny_config, make_trackers(log), live=False)
    wandb.teardown()
    rows = measure_run(run, ["weight_norm"])
    monkeypatch.setenv("WANDB_MODE", "offline")  # the run's [log] leaves the mode to W&B's own setting
    assert send_offline_measures(run, "wandb") == ["wandb"]
    wandb.teardown()
    files = sorted(glob.glob(str(run.path / "wandb" / "wandb" / "offline-run-*" / "run-*.wandb")))
    assert len(files) == 2 and len({Path(f).name for f in files}) == 1  # one W&B run id: `wandb sync` joins them
    after = [h for f in files for h in _wandb_history(run.path, f) if "measures/weight_norm" in h]
    assert [int(h["step"]) for h in after] == [row["step"] for row in rows] == [0, 10, 20]
    assert [float(h["measures/weight_norm"]) for h in after] == pytest.approx([r["weight_norm"] for r in rows])


@pytest.fixture
def spec(tmp_path):
    return write_spec(tmp_path, SMALL_SPEC)


def test_wandb_without_an_api_key_is_refused_before_the_run_exists(tmp_path, spec, capsys, monkeypatch):
    pytest.importorskip("wandb")
    for name in ("WANDB_API_KEY", "WANDB_MODE", "WANDB_IDENTITY_TOKEN_FILE", "WANDB_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("NETRC", str(tmp_path / "no-netrc"))
    monkeypatch.setenv("WANDB_CONFIG_DIR", str(tmp_path / "wandb-config"))
    monkeypatch.setenv("WANDB_DIR", str(tmp_path / "wandb-dir"))
    monkeypatch.chdir(tmp_path)
    code, _, err = cli(capsys, "train", spec, "--out", tmp_path / "run", "--log", "wandb", "--no-progress")
    assert code == 2
    one_line_error(err, "wandb", "WANDB_MODE=offline")
    assert not (tmp_path / "run").exists()
