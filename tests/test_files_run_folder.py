"""The run folder: the typed, tagged status record (older untagged files still read), the step-keyed
measures table, the metrics rewind and the recovery of interrupted checkpoint writes; damaged or deeply
nested run files are one line (issue 12, 7; issue 16, 6)."""

from __future__ import annotations

import json

import pytest
import torch

from conftest import DEEP, cli, made_run, one_line_error
from grokkit.errors import RunError
from grokkit.files.layout import MEASURES_FILE, STATUS_FILE, STATUS_FORMAT, STATUS_VERSION
from grokkit.files.run_folder import RunFolder, RunStatus, fold_rows


def test_a_status_record_is_written_tagged_and_reads_back_typed(tmp_path):
    folder = RunFolder(tmp_path)
    assert folder.status() is None  # nothing written while training has not ended
    done = RunStatus.ended(120, True, 80)
    folder.write_status(done)
    record = json.loads((tmp_path / STATUS_FILE).read_text())
    assert record == {"format": STATUS_FORMAT, "version": STATUS_VERSION, "finished": True, "final_step": 120,
                      "stopped_early": True, "grok_step": 80}
    back = folder.status()
    assert back == done and back.finished and back.stopped_early and not back.diverged and not back.imported
    assert back.grok_step == 80 and back.to_dict() == {"finished": True, "final_step": 120, "stopped_early": True,
                                                       "grok_step": 80}  # the plain record, as the file holds it
    folder.write_status(RunStatus.divergence(30, "the loss is not finite", 20, None))
    assert folder.status().to_dict() == {"finished": False, "diverged": True, "diverged_at": 30,
                                         "reason": "the loss is not finite", "last_good_checkpoint": 20,
                                         "grok_step": None}


@pytest.mark.parametrize("record", [
    {"finished": True, "final_step": 60, "stopped_early": False, "grok_step": None},
    {"finished": False, "diverged": True, "diverged_at": 0, "reason": "the training loss is not finite",
     "last_good_checkpoint": None, "grok_step": None},
    {"finished": True, "imported": True, "final_step": 100, "stopped_early": False, "grok_step": 50,
     "source": {"format": "saved-run"}},
], ids=["finished", "diverged", "imported"])
def test_an_untagged_status_from_an_older_grokkit_still_reads(tmp_path, record):
    (tmp_path / STATUS_FILE).write_text(json.dumps(record))
    status = RunFolder(tmp_path).status()
    assert isinstance(status, RunStatus) and status.to_dict() == record
    assert status.imported == ("source" in record) and status.diverged == ("diverged" in record)


@pytest.mark.parametrize("text, needle", [
    ('{"finished": "yes"}', "finished = 'yes'; allowed: true or false"),
    ('{"finished": true, "grok_step": 1.5}', "grok_step = 1.5; allowed: an integer or null"),
    ('{"finished": false, "diverged": true}', "diverged_at = None; allowed: an integer"),
    ('{"format": "grokkit-status", "version": 99, "finished": true}', "version 99"),
    ('{"format": "other", "version": 1}', "not a grokkit status record"),
    ('[1]', "not a grokkit status record"),
    ('{"finished": tr', "not valid JSON"),
])
def test_a_damaged_status_is_one_line_naming_the_file_and_field(tmp_path, text, needle):
    (tmp_path / STATUS_FILE).write_text(text)
    with pytest.raises(RunError) as caught:
        RunFolder(tmp_path).status()
    message = str(caught.value)
    assert "\n" not in message and str(tmp_path / STATUS_FILE) in message and needle in message


def test_the_measures_table_is_keyed_by_step_and_a_narrower_merge_keeps_every_column_and_row(tmp_path):
    folder = RunFolder(tmp_path)
    full = [{"step": s, "test_loss": 1.0 / (s + 1), "restricted_loss": 2.0, "key_freqs": [1, 3]} for s in (0, 20, 40)]
    assert folder.merge_measures(full) == full
    narrow = [{"step": s, "weight_norm": 10.0 + s} for s in (20, 40, 60)]  # and a step measured first now
    table = folder.merge_measures(narrow)
    assert [row["step"] for row in table] == [0, 20, 40, 60]
    assert table[1] == {"step": 20, "test_loss": 1 / 21, "restricted_loss": 2.0, "key_freqs": [1, 3], "weight_norm": 30.0}
    assert table[0] == full[0] and table[3] == {"step": 60, "weight_norm": 70.0}
    assert folder.measures() == table  # what was written is what is read
    folder.append_measures({"step": 40, "weight_norm": 0.5})  # an appended row for a step updates its columns
    assert folder.measures()[2] == {**table[2], "weight_norm": 0.5}
    forget = folder.merge_measures([{"step": 0, "key_freqs": [2]}], forget={0: ["restricted_loss"]})
    assert forget[0] == {"step": 0, "test_loss": 1.0, "key_freqs": [2]}
    assert folder.merge_measures(narrow[:1], replace=True) == narrow[:1]  # --replace: the old overwrite
    assert fold_rows([{"step": 2, "a": 1}, {"step": 1}, {"step": 2, "b": 2}]) == [{"step": 1}, {"step": 2, "a": 1, "b": 2}]


def test_rewinding_keeps_the_rows_up_to_the_checkpoint_and_drops_a_torn_line(tmp_path):
    folder = RunFolder(tmp_path)
    for step in (0, 10, 20):
        folder.append_metrics({"step": step, "train_loss": 1.0, "test_loss": 1.0, "train_acc": 0.0, "test_acc": 0.0})
    with open(folder.metrics_path, "a") as handle:
        handle.write('{"step": 3')  # a hard kill mid-write
    assert [row["step"] for row in folder.rewind_metrics(10)] == [0, 10]
    assert folder.metrics_path.read_text().endswith("}\n") and [r["step"] for r in folder.metrics()] == [0, 10]
    assert folder.rewind_metrics(None) == [] and not folder.metrics_path.exists()
    (tmp_path / MEASURES_FILE).write_text("".join(json.dumps({"step": s}) + "\n" for s in (0, 10, 20)))
    folder.rewind_measures(10)
    assert folder.measures() == [{"step": 0}, {"step": 10}]


def test_recovery_puts_back_a_checkpoint_moved_aside_and_removes_half_written_ones(tmp_path):
    folder = RunFolder(tmp_path)
    weights = {"w": torch.ones(2)}
    good = folder.save_checkpoint(10, weights, {}, {"config": None})
    aside = good.parent / f".old-{good.name}-123"  # killed between moving it aside and its replacement
    good.rename(aside)
    (good.parent / ".tmp-step_0000020-99").mkdir()  # killed while writing step 20
    (good.parent / "step_0000030").mkdir()  # a folder without its meta.json
    notes = folder.recover_checkpoints()
    assert len(notes) == 3 and any("restored step_0000010" in note for note in notes)
    assert folder.checkpoint_steps() == [10] and sorted(p.name for p in folder.checkpoint_root.iterdir()) == [good.name]
    assert folder.recover_checkpoints() == []


DAMAGED = {
    "not a row": "[1, 2]\n",
    "missing keys": '{"step": 0}\n',
    "string step": '{"step": "10", "train_loss": 1.0, "test_loss": 1.0, "train_acc": 0.5, "test_acc": 0.5}\n',
    "invalid UTF-8": b'{"step": 0, "note": "\xff\xfe"}\n',
    "string value": '{"step": 0, "train_loss": "x", "test_loss": 1.0, "train_acc": 0.5, "test_acc": 0.5}\n',
}


@pytest.mark.parametrize("log", ["metrics.jsonl", "measures.jsonl"])
@pytest.mark.parametrize("damage", list(DAMAGED))
@pytest.mark.parametrize("command", ["info", "report"])
def test_logs_that_are_json_but_not_rows_give_one_line(tmp_path, capsys, command, damage, log):
    run = made_run(tmp_path)
    good = '{"step": 0, "train_loss": 1.0, "test_loss": 1.0, "train_acc": 0.5, "test_acc": 0.5}\n'
    (run.path / "metrics.jsonl").write_text(good)
    content = DAMAGED[damage]
    if log == "measures.jsonl" and damage == "missing keys":
        content = '{"train_loss": 1.0}\n'  # measures rows need only a step
    (run.path / log).write_bytes(content if isinstance(content, bytes) else content.encode())
    code, _, err = cli(capsys, command, run.path)
    assert code == 2
    one_line_error(err, log)


def test_a_config_json_without_its_config_is_one_line(tmp_path, capsys):
    run = made_run(tmp_path)
    record = json.loads((run.path / "config.json").read_text())
    del record["config"]
    (run.path / "config.json").write_text(json.dumps(record))
    for command in ("info", "report", "measure"):
        code, _, err = cli(capsys, command, run.path)
        assert code == 2
        one_line_error(err, "config.json", "lacks config")


@pytest.mark.parametrize("name", ["config.json", "status.json", "metrics.jsonl", "checkpoints/step_0000000/meta.json"])
def test_run_files_nested_too_deeply_are_one_line(tmp_path, capsys, name):
    run = made_run(tmp_path)
    path = run.path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if name.startswith("checkpoints"):
        (path.parent / "model.safetensors").write_bytes(b"")
    path.write_text(DEEP + "\n")
    for command in ("report", "measure") if name.endswith("meta.json") else ("info", "report"):
        code, _, err = cli(capsys, command, run.path)
        assert code == 2, err[-500:]
        one_line_error(err, name.split("/")[-1])
