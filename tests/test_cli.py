"""Bad input: a one-line error naming the field, exit status 2, nothing half-written."""

import json
import subprocess
import sys
import time

import pytest

from conftest import SMALL_MODEL, SMALL_SPEC, cli, made_run, one_line_error, tiny_toml, write_spec
from grokkit.cli import main
from grokkit.errors import RunError


BASE = "[model]\nd_model = 16\nn_heads = 2\nd_head = 8\nd_mlp = 32\n"  # the task's defaults (p = 113)


@pytest.mark.parametrize(
    "spec, field",
    [
        ("[task]\np = 2\n", "task.p"),
        ("[task]\np = 7.5\n", "task.p"),
        ("[task]\nop = \"div\"\np = 15\n", "task.p"),
        ("[task]\nfrac_train = 1.5\n", "task.frac_train"),
        ("[task]\nfrac_train = 0\n", "task.frac_train"),
        ("[train]\nlr = -0.001\n", "train.lr"),
        ("[train]\nweight_decay = -1\n", "train.weight_decay"),
        ("[train]\nsteps = -5\n", "train.steps"),
        ("[task]\nop = \"pow\"\n", "task.op"),
        ("[train]\nlearning_rate = 0.1\n", "train.learning_rate"),
        ("[optimiser]\nlr = 0.1\n", "[optimiser]"),
        ("[task\np = 7\n", "not valid TOML"),
    ],
)
def test_bad_spec_values(tmp_path, capsys, spec, field):
    out_dir = tmp_path / "run"
    code, _, err = cli(capsys, "train", write_spec(tmp_path, spec), "--out", out_dir)
    assert code == 2
    assert field in err and err.startswith("grokkit: error:") and err.count("\n") == 1
    assert not out_dir.exists()


def test_bad_override_is_rejected_before_writing(tmp_path, capsys):
    code, _, err = cli(capsys, "train", write_spec(tmp_path, BASE), "--out", tmp_path / "run", "--set", "train.lr=-1")
    assert code == 2 and "train.lr" in err and not (tmp_path / "run").exists()
    code, _, err = cli(capsys, "train", write_spec(tmp_path, BASE), "--out", tmp_path / "run", "--set", "lr")
    assert code == 2 and "section.key=value" in err


def test_missing_spec_file(tmp_path, capsys):
    code, _, err = cli(capsys, "train", tmp_path / "nope.toml", "--out", tmp_path / "run")
    assert code == 2 and "does not exist" in err and not (tmp_path / "run").exists()


def tiny_run(tmp_path, capsys, name="run", extra=()):
    spec = write_spec(tmp_path, tiny_toml(task={"p": 7, "frac_train": 0.3}, model=SMALL_MODEL, train={"steps": 20}))
    code, out, err = cli(capsys, "train", spec, "--out", tmp_path / name, "--no-progress", *extra)
    assert code == 0, err
    return spec, tmp_path / name


def test_out_dir_holding_a_different_run(tmp_path, capsys):
    spec, run_dir = tiny_run(tmp_path, capsys)
    before = sorted(p.name for p in run_dir.rglob("*"))
    code, _, err = cli(capsys, "train", spec, "--out", run_dir, "--set", "train.lr=0.01")
    assert code == 2 and "different run" in err
    assert sorted(p.name for p in run_dir.rglob("*")) == before


def test_out_dir_that_is_not_a_run(tmp_path, capsys):
    (tmp_path / "stuff").mkdir()
    (tmp_path / "stuff" / "notes.txt").write_text("mine")
    code, _, err = cli(capsys, "train", write_spec(tmp_path, BASE), "--out", tmp_path / "stuff")
    assert code == 2 and "not an empty directory" in err
    assert [p.name for p in (tmp_path / "stuff").iterdir()] == ["notes.txt"]


def test_resume_on_something_that_is_not_a_run(tmp_path, capsys):
    code, _, err = cli(capsys, "resume", tmp_path)
    assert code == 2 and "not a grokkit run" in err
    (tmp_path / "config.json").write_text(json.dumps({"hello": 1}))
    code, _, err = cli(capsys, "resume", tmp_path)
    assert code == 2 and "not a grokkit run" in err


@pytest.mark.parametrize("damage", ["truncate", "flip", "meta", "foreign"])
def test_damaged_checkpoint_is_detected_never_used(tmp_path, capsys, damage):
    _, run_dir = tiny_run(tmp_path, capsys)
    # make the run resumable again: pretend it was cut at step 20 of 40
    config = json.loads((run_dir / "config.json").read_text())
    config["config"]["train"]["steps"] = 40
    (run_dir / "config.json").write_text(json.dumps(config))
    (run_dir / "status.json").unlink()
    latest = run_dir / "checkpoints" / "step_0000020"
    weights = latest / "model.safetensors"
    if damage == "truncate":
        weights.write_bytes(weights.read_bytes()[:-100])
    elif damage == "flip":
        data = bytearray(weights.read_bytes())
        data[-10] ^= 0xFF
        weights.write_bytes(bytes(data))
    elif damage == "meta":
        (latest / "meta.json").write_text("{\"format\": \"grokkit-checkpoint\", \"ste")
    else:
        (latest / "meta.json").write_text(json.dumps({"format": "someone-else", "step": 20}))
    code, _, err = cli(capsys, "resume", run_dir, "--no-progress")
    assert code == 2 and "step_0000020" in err and err.count("\n") == 1
    assert not (run_dir / "checkpoints" / "step_0000030").exists()


def test_info_reports_progress_and_milestones(tmp_path, capsys):
    _, run_dir = tiny_run(tmp_path, capsys)
    code, out, _ = cli(capsys, "info", run_dir, "--json")
    summary = json.loads(out)
    assert code == 0 and summary["progress"] == {"step": 20, "of": 20, "checkpoints": 3}
    assert summary["finished"] and 0 <= summary["best_test_acc"] <= 1


def test_threads_option(tmp_path, capsys):
    import torch

    before = torch.get_num_threads()
    try:
        code, _, err = cli(capsys, "train", tmp_path / "spec.toml", "--out", tmp_path / "run", "--threads", "0")
        assert code == 2 and "--threads" in err and ">= 1" in err and not (tmp_path / "run").exists()
        tiny_run(tmp_path, capsys, extra=("--threads", "1"))
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


def test_help_is_fast_and_does_not_import_torch():
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-c", "import sys; from grokkit.cli import main\n"
                             "try: main(['--help'])\nexcept SystemExit: pass\nprint('torch' in sys.modules)"],
                            capture_output=True, text=True, check=True)
    assert result.stdout.strip().endswith("False")
    assert time.perf_counter() - start < 5  # generous for a loaded CI box; ~0.1 s when quiet


@pytest.fixture
def spec(tmp_path):
    return write_spec(tmp_path, SMALL_SPEC)


@pytest.mark.parametrize("device", ["nosuchdev", "cuda:7", "meta"])
def test_measure_refuses_an_unknown_device_in_one_line(tmp_path, capsys, device):
    code, _, err = cli(capsys, "measure", made_run(tmp_path).path, "--device", device)
    assert code == 2
    one_line_error(err, "--device", device)


def test_an_unwritable_out_is_one_line(tmp_path, spec, capsys):
    code, _, err = cli(capsys, "train", spec, "--out", "/proc/grokkit-run", "--no-progress")
    assert code == 2
    one_line_error(err, "/proc/grokkit-run")
    code, _, err = cli(capsys, "report", made_run(tmp_path).path, "--out", "/proc/grokkit/report.html")
    assert code == 2
    one_line_error(err, "/proc/grokkit")


def test_os_errors_that_are_bugs_keep_their_traceback(monkeypatch):
    import grokkit.commands.info as info

    def broken(args):
        raise OSError("an internal failure with no user path")

    monkeypatch.setattr(info, "run", broken)
    with pytest.raises(OSError):
        main(["info", "anything"])


def test_a_multi_line_library_message_is_printed_on_one_line(monkeypatch, capsys):
    import grokkit.commands.info as info

    def mismatch(args):
        raise RunError("checkpoint X: weights do not fit (Error(s) in loading state_dict:\n\tsize mismatch for W_E)")

    monkeypatch.setattr(info, "run", mismatch)
    assert main(["info", "anything"]) == 2
    one_line_error(capsys.readouterr().err, "size mismatch for W_E")


def test_a_foreign_checkpoint_is_one_line_for_measure_and_report(tmp_path, spec, capsys):
    import shutil

    for name, extra in (("a", []), ("b", ["--set", "model.d_mlp=64"])):
        assert cli(capsys, "train", spec, "--out", tmp_path / name, "--no-progress", *extra)[0] == 0
    last = sorted((tmp_path / "b" / "checkpoints").iterdir())[-1]
    shutil.rmtree(tmp_path / "a" / "checkpoints" / last.name)
    shutil.copytree(last, tmp_path / "a" / "checkpoints" / last.name)  # another model's shapes
    for command in ("measure", "report"):
        code, _, err = cli(capsys, command, tmp_path / "a")
        assert code == 2
        one_line_error(err, last.name)


def test_a_closed_stdout_is_quiet(tmp_path):
    import subprocess
    import sys

    run = made_run(tmp_path)
    reader = subprocess.Popen([sys.executable, "-m", "grokkit", "info", str(run.path)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE)
    reader.stdout.close()  # as `| head -1` does once it has its line
    _, err = reader.communicate(timeout=120)
    assert err == b"", err.decode()[-2000:]
    assert reader.returncode == 141  # a shell's status for a writer stopped by SIGPIPE
