"""Any value in any file grokkit reads is checked before use: a table of file × field × bad value × command.

One tiny sweep (one run, p = 7, 20 steps) is trained once; each case copies it, damages one value of one
file (wrong type, a string for a number, an integer of thousands of digits, a list far longer than the
model could make, a line of megabytes) and runs every command that reads that file, in this process.
Each must exit non-zero with one ``grokkit: error:`` line naming the file (and the field where it has
one), within seconds: never a traceback, never minutes of work or gigabytes of memory.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any, Callable

import pytest

from conftest import SMALL_MODEL, cli, one_line_error, tiny_toml

RUN = "runs/train.lr=0.01"  # the sweep's one run, relative to the sweep folder
HUGE = "1" + "0" * 5000  # an integer of 5 001 digits, as JSON text
SPEC = tiny_toml(task={"p": 7, "frac_train": 0.6}, model=SMALL_MODEL,
                 train={"steps": 20, "eval_every": 10, "checkpoint_every": 10, "device": "cpu"}) + """
[sweep.grid]
"train.lr" = [0.01]
"""


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    """A trained one-run sweep whose run is also measured (weight_norm, key frequencies)."""
    from grokkit.measures.offline import measure_run
    from grokkit.run import Run
    from grokkit.sweep.driver import run_sweep
    from grokkit.sweep.spec import load_sweep

    root = tmp_path_factory.mktemp("values")
    (root / "sweep.toml").write_text(SPEC)
    run_sweep(load_sweep(root / "sweep.toml"), root / "sw", report=lambda _: None)
    assert (root / "sw" / RUN).is_dir(), sorted(p.name for p in (root / "sw" / "runs").iterdir())
    measure_run(Run(root / "sw" / RUN), ["weight_norm", "attention"], key_freqs=[1, 2], progress=False)
    return root


# --- damaging one value ----------------------------------------------------------------------------------
def row_edit(key: str, text: str) -> Callable[[Path], None]:
    """Set ``key`` of a JSONL log's last row to the JSON ``text``."""
    def edit(path: Path) -> None:
        lines = path.read_text().splitlines()
        row = json.loads(lines[-1])
        row[key] = "@@"
        lines[-1] = json.dumps(row).replace('"@@"', text)
        path.write_text("\n".join(lines) + "\n")
    return edit


def record_edit(*keys: Any, text: str) -> Callable[[Path], None]:
    """Set the value at ``keys`` of a JSON record to the JSON ``text``."""
    def edit(path: Path) -> None:
        record = json.loads(path.read_text())
        here = record
        for key in keys[:-1]:
            here = here[key]
        here[keys[-1]] = "@@"
        path.write_text(json.dumps(record).replace('"@@"', text))
    return edit


def extension(**entry: Any) -> Callable[[Path], None]:
    """An ``extended`` record with ``entry``'s keys over a plausible one."""
    def edit(path: Path) -> None:
        record = json.loads(path.read_text())
        good = {"from_step": 10, "changed": {"train.steps": [10, 20]}, "at": "2026-12-07T00:00:00+00:00",
                "previous": {**record["config"], "train": {**record["config"]["train"], "steps": 10}}}
        record["extended"] = [{**good, **entry}]
        path.write_text(json.dumps(record).replace('"@@"', HUGE))
    return edit


RUN_READERS = ("info", "report", "measure", "resume", "sweep", "compare")
CASES = [  # file, what is damaged, the edit, the words the error names, the commands that read it
    ("metrics.jsonl", "a string loss", row_edit("test_loss", '"0.5"'), ["test_loss"], RUN_READERS),
    ("metrics.jsonl", "a huge loss", row_edit("test_loss", HUGE), [], RUN_READERS),
    ("metrics.jsonl", "a 40-digit loss", row_edit("train_acc", "1" + "0" * 40), ["train_acc"], RUN_READERS),
    ("metrics.jsonl", "a list loss", row_edit("test_acc", "[0.5]"), ["test_acc"], RUN_READERS),
    ("metrics.jsonl", "a string step", row_edit("step", '"20"'), ["step"], RUN_READERS),
    ("metrics.jsonl", "a 20-digit step", row_edit("step", "1" + "0" * 20), ["step"], RUN_READERS),
    ("metrics.jsonl", "a line of megabytes", row_edit("lr", "[" + ", ".join(["0.1"] * 400_000) + "]"), [],
     RUN_READERS),
    ("status.json", "a string flag", record_edit("finished", text='"yes"'), ["finished"],
     ("info", "report", "resume", "sweep")),
    ("status.json", "a string step", record_edit("final_step", text='"20"'), ["final_step"],
     ("info", "report", "resume", "sweep")),
    ("status.json", "a huge step", record_edit("grok_step", text=HUGE), [], ("info", "report", "resume", "sweep")),
    ("status.json", "a 30-digit step", record_edit("final_step", text="1" + "0" * 30), ["final_step"],
     ("info", "report", "resume", "sweep")),
    ("config.json", "a string size", record_edit("config", "task", "p", text='"7"'), ["task.p"], RUN_READERS),
    ("config.json", "a 30-digit seed", record_edit("config", "model", "seed", text="1" + "0" * 30), ["model.seed"],
     RUN_READERS),
    ("config.json", "a huge count", record_edit("config", "train", "steps", text=HUGE), [], RUN_READERS),
    ("config.json", "a list of 200 000 keys", record_edit("config", "measures", "key_freqs",
                                                         text=json.dumps([1] * 200_000)), ["measures.key_freqs"],
     RUN_READERS),
    ("config.json", "extended not a list", record_edit("extended", text='"x"'), ["extended"], RUN_READERS),
    ("config.json", "extended from a 30-digit step", extension(from_step=10**30), ["from_step"], RUN_READERS),
    ("config.json", "extended changing task.op", extension(changed={"task.op": ["add", "sub"]}), ["task.op"],
     RUN_READERS),
    ("config.json", "extended with a string change", extension(changed={"train.steps": "10 → 20"}), ["changed"],
     RUN_READERS),
    ("config.json", "extended with a huge step", extension(from_step="@@"), [], RUN_READERS),
    ("measures.jsonl", "a string measure", row_edit("weight_norm", '"12.5"'), ["weight_norm"],
     ("info", "report", "measure", "resume", "compare")),
    ("measures.jsonl", "string key frequencies", row_edit("key_freqs", '["a"]'), ["key_freqs"],
     ("info", "report", "measure", "resume", "compare")),
    ("measures.jsonl", "a list far longer than the model's", row_edit("attn_eq_to_a", json.dumps([0.5] * 5000)),
     ["attn_eq_to_a", "5000 entries"], ("info", "report", "measure", "resume", "compare")),
    ("measures.jsonl", "a huge measure", row_edit("weight_norm", HUGE), [],
     ("info", "report", "measure", "resume", "compare")),
    ("../../sweep.json", "runs not a table", record_edit("runs", text="[1, 2]"), ["runs"], ("sweep", "compare")),
    ("../../sweep.json", "a huge setting", record_edit("runs", "train.lr=0.01", "train.lr", text=HUGE), [], ("sweep", "compare")),
    ("../../nodes.json", "a node that is a number", lambda path: path.write_text('{"train.lr=0.01": 5}'), [], ("sweep",)),
]


def command(name: str, root: Path, capsys) -> tuple[int, str]:
    """Run one command on the damaged copy at ``root`` (in this process); its exit code and stderr."""
    sweep, run = root / "sw", root / "sw" / RUN
    if name == "compare":  # the transformer side, as `grokkit compare` reads it (no toy sweep needed)
        from grokkit.compare.collect import load_transformer
        from grokkit.errors import GrokkitError

        try:
            load_transformer(sweep, log=lambda *_: None)
        except GrokkitError as exc:
            return 2, f"grokkit: error: {exc}\n"
        return 0, ""
    argv = {"info": ("info", run), "report": ("report", run),
            "measure": ("measure", run, "--measures", "weight_norm", "--no-progress"),
            "resume": ("resume", run, "--no-progress"),
            "sweep": ("sweep", root / "sweep.toml", "--out", sweep, "--no-progress")}[name]
    res = cli(capsys, *argv)
    return res.code, res.err


@pytest.mark.parametrize("file, what, edit, needles, readers", CASES, ids=[f"{c[0]}: {c[1]}" for c in CASES])
def test_a_damaged_value_is_one_line_naming_the_file_in_every_command_that_reads_it(
        base, tmp_path, capsys, file, what, edit, needles, readers):
    root = tmp_path / "copy"
    shutil.copytree(base, root)
    path = root / "sw" / RUN / file
    if not path.exists():
        path.write_text("{}")
    edit(path)
    for name in readers:
        started = time.perf_counter()
        code, err = command(name, root, capsys)
        assert code != 0, (name, err)
        one_line_error(err, Path(file).name, *needles)
        assert time.perf_counter() - started < 20, name


@pytest.mark.parametrize("key", ["task.seed", "model.seed", "train.seed", "train.lr", "train.steps"])
def test_a_spec_or_set_value_of_thousands_of_digits_is_one_line_before_anything_is_written(tmp_path, capsys, key):
    spec = tmp_path / "spec.toml"
    spec.write_text(tiny_toml())
    res = cli(capsys, "train", spec, "--out", tmp_path / "run", "--set", f"{key}=1{'0' * 30}")
    assert res.code != 0
    one_line_error(res.err, key, "64-bit")
    assert not (tmp_path / "run").exists()  # was: a traceback after config.json was written
