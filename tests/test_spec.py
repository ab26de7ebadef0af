"""Hostile and careless input: refused before anything is written, with one line naming the field.

Covers issue 12's findings 2 (non-finite values accepted: lr = inf, init_scale = inf),
7 (tracebacks instead of one-line errors), 8 (checked too late: sizes, empty splits,
devices, key frequencies, sweeps) and 9 (toy chunks without hashes).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch

from conftest import SMALL_MODEL, TASKS, cli, one_line_error, tiny_toml, write_spec
from grokkit.cli import main
from grokkit.errors import ConfigError, RunError

SPEC = tiny_toml(model=SMALL_MODEL, train={"steps": 20, "device": "cpu"})


@pytest.fixture
def spec(tmp_path):
    return write_spec(tmp_path, SPEC)


# --- every value checked before a run directory exists (findings 2 and 8) ------------------

BAD = [
    ("train.lr=inf", "train.lr"),
    ("train.lr=nan", "train.lr"),
    ("train.weight_decay=1e400", "train.weight_decay"),  # TOML reads 1e400 as inf
    ("train.grokfast_lamb=inf", "train.grokfast_lamb"),
    ("model.init_scale=inf", "model.init_scale"),
    ("model.init_scale=nan", "model.init_scale"),
    ("task.p=1000000007", "task.p"),
    ("task.p=100003", "task.p"),
    ("model.d_mlp=1000000000", "model.d_mlp"),
    ("task.frac_train=0.0001", "task.frac_train"),
    ("measures.key_freqs=[1000]", "measures.key_freqs"),
]
if not torch.cuda.is_available():
    BAD.append(("train.device='cuda'", "train.device"))


@pytest.mark.parametrize("override, field", BAD)
def test_bad_values_are_refused_before_the_run_directory_exists(tmp_path, spec, override, field):
    from grokkit.run import Run
    from grokkit.spec import load_spec

    out = tmp_path / "run"
    with pytest.raises(ConfigError, match=field.replace(".", r"\.")) as caught:
        Run.create(out, load_spec(spec, [override]))
    assert "\n" not in str(caught.value)
    assert not out.exists()
    Run.create(out, load_spec(spec))  # the corrected retry is not refused ("already holds a different run")
    assert (out / "config.json").is_file()


@pytest.mark.parametrize("override, field", [BAD[0], BAD[6], BAD[9], BAD[10]])
def test_the_cli_refuses_them_in_one_line(tmp_path, spec, capsys, override, field):
    out = tmp_path / "run"
    code, _, err = cli(capsys, "train", spec, "--out", out, "--set", override, "--no-progress")
    assert code == 2
    one_line_error(err, field)
    assert not out.exists()


def test_resource_refusal_names_the_field_value_and_what_fits():
    from grokkit.limits import _with, check_resources, estimate, largest_fitting
    from grokkit.spec import config_from_dict

    config = config_from_dict({"task": {"p": 100003}, "train": {"device": "cpu"}})
    total = lambda c: estimate(c).total  # noqa: E731
    top = largest_fitting(config, "task", "p", 3, 10**9, total)
    assert total(_with(config, "task", "p", top)) <= 10**9 < total(_with(config, "task", "p", top + 1))
    with pytest.raises(ConfigError, match=rf"^task\.p: 100003 \(10000600009 input pairs\) needs about .* GB of "
                                          rf"host memory; 1 GB is available; allowed: task\.p <= {top} "):
        check_resources(config, host=10**9)
    with pytest.raises(ConfigError, match=r"^model\.d_mlp: 1000000000 needs"):
        check_resources(config_from_dict({"model": {"d_mlp": 10**9}, "train": {"device": "cpu"}}))
    assert check_resources(config_from_dict({"train": {"device": "cpu"}})).total < 10**9  # the paper's run: ~0.2 GB


def test_on_cuda_the_gpu_is_checked_against_the_whole_estimate(monkeypatch):
    import grokkit.train.config as train_config
    from grokkit.limits import check_resources, estimate
    from grokkit.spec import config_from_dict

    monkeypatch.setattr(train_config, "resolve_device", lambda device: "cuda")  # as on a machine with a GPU
    config = config_from_dict({})
    need = estimate(config)
    check_resources(config, host=need.inputs, cuda=need.total)  # only the inputs stay on the host
    with pytest.raises(ConfigError, match=r"of GPU memory; 0\.1 GB is available; allowed: task\.p <= \d+"):
        check_resources(config_from_dict({"task": {"p": 2003}}), host=10**12, cuda=10**8)


def test_toy_configs_refuse_non_finite_numbers():
    from grokkit.toy import spec_from_dict

    for section, key, value in [("train", "lr", math.inf), ("train", "weight_decay", math.inf),
                                ("train", "eps", math.inf), ("train", "lr", math.nan), ("toy", "S", math.nan),
                                ("sweep", "weight_decay", [math.inf])]:
        with pytest.raises(ConfigError, match=f"{section}.{key}"):
            spec_from_dict({section: {key: value}})


# --- sweeps: every run checked before any trains; another grid is not silently replaced (8) ---

SWEEP = SPEC + """
[sweep]
[sweep.grid]
"task.frac_train" = {fracs}
"""


def sweep_spec(tmp_path, fracs):
    path = tmp_path / f"sweep{len(fracs)}.toml"
    path.write_text(SWEEP.format(fracs=json.dumps(fracs)))
    return path


@pytest.mark.parametrize("extra, field", [([], "task.frac_train"),
                                          (["--set", "task.p=100003"], "run task.frac_train=0.5: task.p: 100003")])
def test_sweep_validates_every_run_before_training_any(tmp_path, capsys, extra, field):
    out = tmp_path / "sw"
    fracs = [0.5, 0.6, 0.0001] if not extra else [0.5, 0.6]
    code, _, err = cli(capsys, "sweep", sweep_spec(tmp_path, fracs), "--out", out, "--no-progress", *extra)
    assert code == 2
    one_line_error(err, field)
    assert not out.exists()


def test_a_stack_that_does_not_fit_is_refused_with_the_largest_that_does():
    from grokkit.limits import check_stack, estimate
    from grokkit.spec import config_from_dict

    config = config_from_dict({"train": {"device": "cpu"}})
    one = estimate(config).total
    check_stack(config, 4, host=4 * one)
    with pytest.raises(ConfigError, match=r"^sweep\.max_stack: a stack of 32 runs .* allowed: sweep\.max_stack <= 3$"):
        check_stack(config, 32, host=3 * one + 1)


def test_a_different_grid_on_an_existing_sweep_is_refused_unless_restart(tmp_path, capsys):
    out = tmp_path / "sw"
    assert cli(capsys, "sweep", sweep_spec(tmp_path, [0.5, 0.6]), "--out", out, "--no-progress")[0] == 0
    before = {name: (out / name).read_bytes() for name in ("sweep.json", "results.csv", "report.html")}
    other = sweep_spec(tmp_path, [0.4])
    code, _, err = cli(capsys, "sweep", other, "--out", out, "--no-progress")
    assert code == 2
    one_line_error(err, "--restart", "a sweep of 2 runs")
    assert {name: (out / name).read_bytes() for name in before} == before  # nothing replaced
    code, out_text, _ = cli(capsys, "sweep", other, "--out", out, "--no-progress", "--restart")
    assert code == 0 and "--restart: removing 2 run folder(s)" in out_text
    assert sorted(p.name for p in (out / "runs").iterdir()) == ["task.frac_train=0.4"]


def test_restart_never_deletes_a_folder_that_is_not_a_sweep(tmp_path, capsys):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    code, _, err = cli(capsys, "sweep", sweep_spec(tmp_path, [0.5]), "--out", out, "--restart")
    assert code == 2
    one_line_error(err, "not an empty directory or a grokkit sweep")
    assert (out / "notes.txt").read_text() == "keep me"


# --- toy chunks carry a SHA-256 (finding 9) --------------------------------------------------

TOY = ["toy.n=20", "toy.S=0.8", "toy.test_points=20", "train.steps=20", "train.warmup_steps=2",
       "sweep.T=[3,10]", "sweep.seeds=1", "sweep.chunk_instances=1"]


@pytest.fixture
def toy_sweep(tmp_path):
    from grokkit.toy import load_toy_spec, run_sweep

    spec = load_toy_spec(TASKS / "toy_cpu.toml", TOY)
    result = run_sweep(spec, tmp_path / "toy", log=lambda *_: None)
    assert result.trained_chunks == 2
    return spec, result.path


def flip_bit(path: Path, offset: int = -20) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("damage", ["flip", "torn"])
def test_a_damaged_toy_chunk_is_refused_by_rerun_report_and_compare(toy_sweep, capsys, damage):
    from grokkit.compare.collect import load_toy
    from grokkit.toy import load_rows, run_sweep, write_report

    spec, out = toy_sweep
    chunk = out / "chunks" / "chunk_0001.safetensors"
    if damage == "flip":
        flip_bit(chunk)
    else:
        chunk.write_bytes(chunk.read_bytes()[: chunk.stat().st_size // 2])
    for read in (lambda: run_sweep(spec, out, log=lambda *_: None), lambda: load_rows(out),
                 lambda: write_report(out), lambda: load_toy(out)):
        with pytest.raises(RunError, match=r"chunk_0001\.safetensors: SHA-256 differs from the one in "
                                           r"chunk_0001\.json"):
            read()
    args = ["toy", TASKS / "toy_cpu.toml", "--out", out, "--no-progress"]
    for item in TOY:
        args += ["--set", item]
    code, _, err = cli(capsys, *args)
    assert code == 2
    one_line_error(err, "chunk_0001.safetensors")


def test_a_chunk_record_without_a_hash_or_with_foreign_rows_is_refused(toy_sweep):
    from grokkit.toy import load_rows

    _, out = toy_sweep
    record_path = out / "chunks" / "chunk_0000.json"
    record = json.loads(record_path.read_text())
    record_path.write_text(json.dumps(record["rows"]))  # the old format: rows only
    with pytest.raises(RunError, match="without the SHA-256"):
        load_rows(out)
    record["rows"][0]["chunk"] = 1
    record_path.write_text(json.dumps(record))
    with pytest.raises(RunError, match="not a list of this chunk's models"):
        load_rows(out)


# --- one line, not a traceback (finding 7) ----------------------------------------------------

DAMAGED = {
    "not a row": "[1, 2]\n",
    "missing keys": '{"step": 0}\n',
    "string step": '{"step": "10", "train_loss": 1.0, "test_loss": 1.0, "train_acc": 0.5, "test_acc": 0.5}\n',
    "invalid UTF-8": b'{"step": 0, "note": "\xff\xfe"}\n',
    "string value": '{"step": 0, "train_loss": "x", "test_loss": 1.0, "train_acc": 0.5, "test_acc": 0.5}\n',
}


def made_run(root: Path):
    from grokkit.run import Run
    from grokkit.spec import config_from_dict

    return Run.create(root / "run", config_from_dict({
        "task": {"p": 13, "frac_train": 0.5}, "model": {"d_model": 16, "n_heads": 2, "d_head": 8, "d_mlp": 32},
        "train": {"steps": 20, "device": "cpu"}}))


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


def test_a_config_json_without_its_config_is_one_line(tmp_path, capsys):
    run = made_run(tmp_path)
    record = json.loads((run.path / "config.json").read_text())
    del record["config"]
    (run.path / "config.json").write_text(json.dumps(record))
    for command in ("info", "report", "measure"):
        code, _, err = cli(capsys, command, run.path)
        assert code == 2
        one_line_error(err, "config.json", "lacks config")


def test_compare_refuses_a_sweep_record_naming_a_path_outside_its_runs(tmp_path, capsys):
    from grokkit.compare.collect import load_transformer

    made_run(tmp_path / "sw" / "runs")
    record = {"format": "grokkit-sweep", "version": 1, "runs": {"../../elsewhere": {}}}
    (tmp_path / "sw" / "sweep.json").write_text(json.dumps(record))
    with pytest.raises(RunError, match="not a folder name"):
        load_transformer(tmp_path / "sw")


@pytest.mark.parametrize("content", ['{"format": "grokkit-sweep", "version": 1, "runs": [1, 2]}', "{not json",
                                     '{"format": "grokkit-toy-sweep", "version": 1, "spec": "x"}'])
def test_a_damaged_sweep_record_is_one_line_and_left_alone(tmp_path, capsys, content):
    out = tmp_path / "sw"
    out.mkdir()
    (out / "sweep.json").write_text(content)
    for argv in (["sweep", sweep_spec(tmp_path, [0.5]), "--out", out, "--restart"],
                 ["toy", TASKS / "toy_cpu.toml", "--out", out, *[a for item in TOY for a in ("--set", item)]],
                 ["compare", "--toy", out, "--transformer", out, "--out", tmp_path / "page.html"]):
        code, _, err = cli(capsys, *argv)
        assert code == 2
        one_line_error(err, str(out))
    assert (out / "sweep.json").read_text() == content


# --- issue 16, 6: specs nested too deeply or holding huge values: one short line ------------------

DEEP = "[" * 100_000 + "]" * 100_000
HUGE = "x" * 10_000_000
MAX_ERROR = 2_000  # characters of stderr a refused spec may print


@pytest.mark.parametrize("command", ["train", "toy"])
@pytest.mark.parametrize("content", [f"[task]\np = {DEEP}\n", f'[task]\nop = "{HUGE}"\n', f"[toy]\nn = {DEEP}\n",
                                     f'[toy]\nn = "{HUGE}"\n', f'[{HUGE}]\n', f'[task]\n{HUGE} = 1\n'],
                         ids=["deep", "huge", "toy-deep", "toy-huge", "huge-section", "huge-key"])
def test_a_spec_nested_too_deeply_or_too_long_is_one_short_line(tmp_path, capsys, command, content):
    path = tmp_path / "spec.toml"
    path.write_text(content)
    code, _, err = cli(capsys, command, path, "--out", tmp_path / "out")
    assert code == 2 and len(err) < MAX_ERROR, err[:300]
    one_line_error(err)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("value", [DEEP, f'"{HUGE}"', f"[{', '.join(['7'] * 200_000)}]"], ids=["deep", "huge", "list"])
def test_an_override_nested_too_deeply_or_too_long_is_one_short_line(tmp_path, spec, capsys, value):
    for key in ("task.op", "measures.key_freqs"):
        code, _, err = cli(capsys, "train", spec, "--out", tmp_path / "out", "--set", f"{key}={value}")
        assert code == 2 and len(err) < MAX_ERROR, err[:300]
        one_line_error(err)
    assert not (tmp_path / "out").exists()


def test_error_messages_keep_their_field_and_their_end_when_shortened():
    from grokkit.errors import ConfigError, bounded

    message = str(ConfigError(f"task.op: unknown operation {HUGE!r}; allowed: add, sub"))
    assert len(message) < MAX_ERROR
    assert message.startswith("task.op: unknown operation 'xxx") and message.endswith("; allowed: add, sub")
    assert "characters" in message  # says that it was cut, and by how much
    assert bounded("short: 'value'") == "short: 'value'"


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


# --- issue 16, 3: sizes read from a file are checked before anything is allocated ------------------

@pytest.mark.parametrize("command", ["info", "resume", "measure", "report"])
def test_a_run_whose_config_says_a_huge_p_is_refused_before_allocating(tmp_path, capsys, command):
    run = made_run(tmp_path)
    record = json.loads((run.path / "config.json").read_text())
    record["config"]["task"]["p"] = 100003
    (run.path / "config.json").write_text(json.dumps(record))
    code, _, err = cli(capsys, command, run.path, *(["--no-progress"] if command == "resume" else []))
    assert code == 2
    one_line_error(err, "config.json", "task.p: 100003", "allowed: task.p <=")


# --- issue 16, 8: a closed pipe; W&B without an API key -----------------------------------------

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


def test_a_toy_sweep_too_large_for_the_host_is_refused_before_its_folder_exists(tmp_path, capsys):
    from grokkit.toy.spec import check_memory, least_bytes, load_toy_spec

    out = tmp_path / "toy"
    code, _, err = cli(capsys, "toy", TASKS / "toy_cpu.toml", "--out", out, "--no-progress",
                       *[a for item in TOY for a in ("--set", item)], "--set", "toy.n=1000000000")
    assert code == 2
    one_line_error(err, "toy.n: 1000000000", "allowed: toy.n <=")
    assert not out.exists()
    spec = load_toy_spec(TASKS / "toy_cpu.toml", TOY)
    host = 10 * least_bytes(spec, spec.toy.n)
    top = host // least_bytes(spec, 1)
    assert least_bytes(spec, top) <= host < least_bytes(spec, top + 1)
    spec.toy.n = top + 1
    with pytest.raises(ConfigError, match=rf"^toy\.n: {top + 1} needs .* allowed: toy\.n <= {top} "):
        check_memory(spec, host=host)
    spec.toy.n = top
    check_memory(spec, host=host)  # the largest that fits is accepted
