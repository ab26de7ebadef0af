"""A toy sweep's chunks: each carries a SHA-256 that every reader checks (issue 12, 9), its chunks/ folder
is never written through a link, and chunks that cannot fit the host are refused before the folder exists."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import TASKS, TOY, cli, one_line_error
from grokkit.errors import ConfigError, RunError


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


def test_a_toy_sweep_never_writes_chunks_into_a_linked_folder(tmp_path, capsys):
    out = tmp_path / "toy"
    out.mkdir()
    users = tmp_path / "users-folder"
    users.mkdir()
    (out / "chunks").symlink_to(users, target_is_directory=True)
    code, _, err = cli(capsys, "toy", TASKS / "toy_cpu.toml", "--out", out, "--no-progress",
                       *[a for item in TOY for a in ("--set", item)])
    assert code == 2
    one_line_error(err, "chunks", "symbolic link")
    assert list(users.iterdir()) == []


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
