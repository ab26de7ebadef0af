import itertools

import pytest
import torch

from grokkit.data.dataset import AlgorithmicDataset, TaskConfig
from grokkit.data.ops import OPERATIONS
from grokkit.errors import ConfigError


def test_reference_split_sizes_and_grid_order():
    ds = AlgorithmicDataset(TaskConfig(p=113, frac_train=0.3))
    assert (len(ds.split.train), len(ds.split.test)) == (3830, 8939)
    assert ds.is_full_grid
    row = 5 * 113 + 7  # a-major: row = a·p + b
    assert ds.tokens[row].tolist() == [5, 7, 113]
    assert ds.labels[row].item() == 12


def test_split_is_deterministic_disjoint_and_complete():
    a = AlgorithmicDataset(TaskConfig(p=31, seed=3)).split
    b = AlgorithmicDataset(TaskConfig(p=31, seed=3)).split
    c = AlgorithmicDataset(TaskConfig(p=31, seed=4)).split
    assert torch.equal(a.train, b.train) and not torch.equal(a.train, c.train)
    assert sorted(a.train.tolist() + a.test.tolist()) == list(range(31 * 31))


@pytest.mark.parametrize("op", [name for name, op in OPERATIONS.items() if op.group == "modular"])
def test_modular_ops_match_python(op):
    p = 11
    ds = AlgorithmicDataset(TaskConfig(op=op, p=p))
    ref = {
        "add": lambda x, y: x + y, "sub": lambda x, y: x - y, "mul": lambda x, y: x * y,
        "div": lambda x, y: x * pow(y, -1, p), "x2_plus_y": lambda x, y: x**2 + y,
        "x3_plus_y": lambda x, y: x**3 + y, "x2_plus_y2": lambda x, y: x**2 + y**2,
        "x2_xy_y2": lambda x, y: x**2 + x * y + y**2, "x2_xy_y2_x": lambda x, y: x**2 + x * y + y**2 + x,
        "x3_xy": lambda x, y: x**3 + x * y, "x3_xy2_y": lambda x, y: x**3 + x * y**2 + y,
        "div_if_odd_else_sub": lambda x, y: x * pow(y, -1, p) if y % 2 else x - y,
        "add_if_even_else_mul": lambda x, y: x + y if x % 2 == 0 else x * y,
        "add_if_even_else_sub": lambda x, y: x + y if x % 2 == 0 else x - y,
    }[op]
    for (x, y, eq), label in zip(ds.tokens.tolist(), ds.labels.tolist()):
        assert eq == p and label == ref(x, y) % p
    assert len(ds) == (p * (p - 1) if op == "div" else p * p)


def test_s5_ops_are_group_operations():
    perms = list(itertools.permutations(range(5)))
    compose = lambda x, y: tuple(x[y[k]] for k in range(5))  # noqa: E731
    inv = lambda x: tuple(sorted(range(5), key=lambda k: x[k]))  # noqa: E731
    for op, ref in [("s5_compose", lambda x, y: compose(x, y)),
                    ("s5_conjugate", lambda x, y: compose(compose(x, y), inv(x))),
                    ("s5_xyx", lambda x, y: compose(compose(x, y), x))]:
        ds = AlgorithmicDataset(TaskConfig(op=op))
        assert len(ds) == 120 * 120 and ds.cfg.d_vocab == 121 and ds.cfg.d_vocab_out == 120
        for row in (0, 777, 14399):
            x, y, _ = ds.tokens[row].tolist()
            assert perms[ds.labels[row].item()] == ref(perms[x], perms[y])


@pytest.mark.parametrize(
    "kwargs, field",
    [({"p": 2}, "task.p"), ({"p": 7.5}, "task.p"), ({"p": "7"}, "task.p"),
     ({"op": "div", "p": 15}, "task.p"), ({"op": "div_if_odd_else_sub", "p": 9}, "task.p"),
     ({"frac_train": 0.0}, "task.frac_train"), ({"frac_train": 1.0}, "task.frac_train"),
     ({"frac_train": -0.2}, "task.frac_train"), ({"op": "pow"}, "task.op")],
)
def test_bad_task_values_name_the_field(kwargs, field):
    with pytest.raises(ConfigError, match=field):
        TaskConfig(**kwargs)
