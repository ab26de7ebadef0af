"""Finite groups as tables (grokkit.data.groups) and the compose task over them (issue 22, §2)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from conftest import cli, one_line_error, tiny_toml, write_spec
from grokkit.data import groups as groups_module
from grokkit.data.dataset import AlgorithmicDataset, TaskConfig
from grokkit.data.groups import (MAX_ORDER, generated_group, group_order, named_group, table_group)
from grokkit.data.ops import OPERATIONS
from grokkit.errors import ConfigError

NAMES = {"C_12": 12, "C_7": 7, "D_5": 10, "D_59": 118, "A4": 12, "S4": 24, "A5": 60, "S5": 120, "S_3": 6,
         "Q_8": 8, "Dic_3": 12, "C_12 x C_2": 24, "S3 x C_2": 12, "C_2 × C_2 × C_2": 8}


def is_group_table(t: np.ndarray) -> bool:
    n = len(t)
    ok = (t[0] == np.arange(n)).all() and (t[:, 0] == np.arange(n)).all()
    ok &= (np.sort(t, 1) == np.arange(n)).all() and (np.sort(t, 0) == np.arange(n)[:, None]).all()
    return bool(ok and all(np.array_equal(t[t[a]], t[a][t]) for a in range(n)))  # (a∘b)∘c = a∘(b∘c)


@pytest.mark.parametrize("name,order", NAMES.items())
def test_named_groups_have_their_order_and_are_groups(name, order):
    g = named_group(name)
    assert g.n == order == group_order(name) and len(g.elements) == order
    assert is_group_table(g.table)
    assert (g.table[np.arange(order), g.inverse] == 0).all()


def test_families_are_the_groups_they_name():
    c = named_group("C_10").table
    i = np.arange(10)
    assert np.array_equal(c, (i[:, None] + i) % 10)  # element i is the rotation by i: compose over C_n is add mod n
    d = named_group("D_6")
    assert not np.array_equal(d.table, d.table.T)  # non-abelian
    assert (d.table[6:, 6:][np.arange(6), np.arange(6)] == 0).all()  # every r^i s is an involution
    a4, s4 = named_group("A4"), named_group("S4")
    assert not np.array_equal(a4.table, a4.table.T) and a4.n * 2 == s4.n
    q8 = named_group("Q_8")
    squares = q8.table[np.arange(8), np.arange(8)]
    assert (squares == 0).sum() == 2  # the quaternions: only ±1 square to 1


def test_s5_by_name_is_the_s5_ops_s5():
    """``group = "S5"`` lists S5 as the s5_* ops do, so its labels are s5_compose's."""
    s5 = AlgorithmicDataset(TaskConfig(op="s5_compose"))
    named = AlgorithmicDataset(TaskConfig(op="compose", group="S5"))
    assert torch.equal(s5.labels, named.labels) and torch.equal(s5.tokens, named.tokens)


def test_generators_and_tables_give_the_same_group():
    s3 = generated_group([[1, 2, 0], [1, 0, 2]])
    assert s3.n == 6 and is_group_table(s3.table)
    assert np.array_equal(table_group(s3.table.tolist()).table, s3.table)
    shuffled = table_group([[2, 0, 1], [0, 1, 2], [1, 2, 0]])  # C_3 with the identity listed second
    assert shuffled.n == 3 and np.array_equal(shuffled.table[0], np.arange(3))
    ds = AlgorithmicDataset(TaskConfig(op="compose", generators=[[1, 2, 0], [1, 0, 2]], frac_train=0.5))
    assert torch.equal(ds.labels, torch.from_numpy(s3.table.reshape(-1)))


def test_compose_is_an_operation_with_the_usual_split():
    assert "compose" in OPERATIONS and OPERATIONS["compose"].analysis_group == "finite"
    cfg = TaskConfig(op="compose", group="D_5", frac_train=0.5, seed=3)
    ds = AlgorithmicDataset(cfg)
    assert cfg.n_symbols == 10 and cfg.d_vocab == 11 and len(ds) == 100 and ds.is_full_grid
    assert torch.equal(ds.labels, torch.from_numpy(named_group("D_5").table.reshape(-1)))
    assert len(ds.split.train) == 50 and torch.equal(ds.tokens[:, 2], torch.full((100,), 10))


@pytest.mark.parametrize("fields,needle", [
    ({"group": "S7"}, "task.group: S7"),
    ({"group": "C_3 x S6"}, "2160 elements"),
    ({"group": "Q_8x"}, "not a group name"),
    ({"group": "D_2"}, "D_n needs n >= 3"),
    ({}, "exactly one of"),
    ({"group": "C_3", "generators": [[1, 0]]}, "exactly one of"),
    ({"generators": [[0, 0, 1]]}, "not a permutation"),
    ({"generators": [[1, 0], [1, 2, 0]]}, "different numbers of points"),
    ({"generators": [list(range(1, 12)) + [0], [1, 0] + list(range(2, 12))]}, "more than 2048 elements"),
    ({"table": [[0, 1], [1, 2]]}, "not closed"),
    ({"table": [[0, 1], [0, 1]]}, "no element e"),
    ({"table": [[0, 1, 2], [1, 1, 0], [2, 0, 1]]}, "no inverse"),
    ({"table": [[0, 1, 2, 3], [1, 0, 3, 2], [2, 3, 1, 0], [3, 2, 0, 1]]}, None),  # C_4: a group
    ({"table": [[0, 1, 2, 3, 4], [1, 0, 3, 4, 2], [2, 4, 0, 1, 3], [3, 2, 4, 0, 1], [4, 3, 1, 2, 0]]},
     "not associative"),  # a Latin square with an identity that is no group
    ({"table": [[0, 1.5], [1, 0]]}, "table of integers"),
])
def test_a_bad_group_is_one_line_naming_the_field(fields, needle):
    if needle is None:
        assert TaskConfig(op="compose", **fields).n_symbols == 4
        return
    with pytest.raises(ConfigError, match=needle) as info:
        TaskConfig(op="compose", **fields)
    assert "\n" not in str(info.value) and str(info.value).startswith("task.")


def test_only_compose_reads_a_group():
    with pytest.raises(ConfigError, match="only op 'compose' reads a group"):
        TaskConfig(op="add", group="S4")


def test_a_large_group_is_sized_from_its_name_before_any_table_is_built(monkeypatch):
    def refuse(*_):
        raise AssertionError("a table was built")

    monkeypatch.setattr(groups_module, "named_group", refuse)
    cfg = TaskConfig(op="compose", group="S6")
    assert cfg.n_symbols == 720 and cfg.n_rows == 518_400 and MAX_ORDER >= 720
    from grokkit.limits import check_resources
    from grokkit.spec import config_from_dict

    config = config_from_dict({"task": {"op": "compose", "group": "S6"}, "train": {"device": "cpu"}})
    with pytest.raises(ConfigError, match=r"^task\.group: S6 has 720 elements \(518400 input pairs\).*smaller group"):
        check_resources(config, host=10**9)
    with pytest.raises(ConfigError, match=r"^model\.d_mlp: 100000000 needs"):
        check_resources(config_from_dict({"task": {"op": "compose", "group": "S6"}, "model": {"d_mlp": 10**8},
                                          "train": {"device": "cpu"}}), host=10**11)


def test_a_bad_group_in_a_spec_is_refused_before_the_run_folder(tmp_path, capsys):
    spec = write_spec(tmp_path, tiny_toml(task={"op": "compose", "table": [[0, 1], [1, 2]]}))
    result = cli(capsys, "train", spec, "--out", tmp_path / "run")
    assert result.code != 0 and not (tmp_path / "run").exists()
    one_line_error(result.err, "task.table", "not closed")


def test_measuring_a_large_group_is_sized_before_any_checkpoint_is_loaded(tmp_path, capsys, monkeypatch):
    """S6's grid of neurons and logits (518 400 rows × 721 logits, float64 and a copy) is sized from the config: one
    line naming task.group when it does not fit, checked by `grokkit measure` before reading a checkpoint."""
    import shutil
    from pathlib import Path

    import grokkit.limits as limits
    from grokkit.limits import check_measurable, check_readable, estimate, measure_bytes
    from grokkit.spec import config_from_dict

    s6 = config_from_dict({"task": {"op": "compose", "group": "S6"}, "train": {"device": "cpu"}})
    assert measure_bytes(s6) > 518_400 * 721 * 16  # the float64 logits and their grid copy at least
    with pytest.raises(ConfigError, match=r"^task\.group: S6 has 720 elements \(518400 input pairs\); measuring"):
        check_measurable(s6, host=4 * 10**9)
    check_measurable(s6, host=10**11)

    run_dir = tmp_path / "s4"
    shutil.copytree(Path(__file__).resolve().parent / "fixtures" / "groups" / "s4_mlp", run_dir)
    from grokkit.run import Run

    config = Run(run_dir).config
    readable = estimate(config).inputs + estimate(config).parameters
    assert readable < measure_bytes(config)
    monkeypatch.setattr(limits, "host_available", lambda: readable)  # opens, but cannot be measured
    check_readable(config, "config.json")
    result = cli(capsys, "measure", run_dir, "--no-progress")
    assert result.code != 0
    one_line_error(result.err, "task.group: S4 has 24 elements (576 input pairs); measuring a checkpoint")
