"""Specs and --set overrides: every value is checked before a run directory exists (issue 12, findings 2
and 8: non-finite values, sizes, empty splits, devices, key frequencies), and a spec or an override
nested too deeply or holding a huge value is one short line (issue 16, 6)."""

from __future__ import annotations

import pytest
import torch

from conftest import DEEP, SMALL_SPEC, cli, one_line_error, write_spec
from grokkit.errors import ConfigError


@pytest.fixture
def spec(tmp_path):
    return write_spec(tmp_path, SMALL_SPEC)


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
