"""Memory checks: a run, a stack or a run folder's config that cannot fit is refused before anything
is allocated, in one line naming the field, its value and the largest that fits (issue 12, 8; issue 16, 3)."""

from __future__ import annotations

import json

import pytest

from conftest import cli, made_run, one_line_error
from grokkit.errors import ConfigError


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
    from grokkit.train import device as train_device
    from grokkit.limits import check_resources, estimate
    from grokkit.spec import config_from_dict

    monkeypatch.setattr(train_device, "resolve_device", lambda device: "cuda")  # as on a machine with a GPU
    config = config_from_dict({})
    need = estimate(config)
    check_resources(config, host=need.inputs, cuda=need.total)  # only the inputs stay on the host
    with pytest.raises(ConfigError, match=r"of GPU memory; 0\.1 GB is available; allowed: task\.p <= \d+"):
        check_resources(config_from_dict({"task": {"p": 2003}}), host=10**12, cuda=10**8)


def test_a_stack_that_does_not_fit_is_refused_with_the_largest_that_does():
    from grokkit.limits import check_stack, estimate
    from grokkit.spec import config_from_dict

    config = config_from_dict({"train": {"device": "cpu"}})
    one = estimate(config).total
    check_stack(config, 4, host=4 * one)
    with pytest.raises(ConfigError, match=r"^sweep\.max_stack: a stack of 32 runs .* allowed: sweep\.max_stack <= 3$"):
        check_stack(config, 32, host=3 * one + 1)


@pytest.mark.parametrize("command", ["info", "resume", "measure", "report"])
def test_a_run_whose_config_says_a_huge_p_is_refused_before_allocating(tmp_path, capsys, command):
    run = made_run(tmp_path)
    record = json.loads((run.path / "config.json").read_text())
    record["config"]["task"]["p"] = 100003
    (run.path / "config.json").write_text(json.dumps(record))
    code, _, err = cli(capsys, command, run.path, *(["--no-progress"] if command == "resume" else []))
    assert code == 2
    one_line_error(err, "config.json", "task.p: 100003", "allowed: task.p <=")
