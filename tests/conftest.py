"""Shared fixtures: tiny specs and runs that train in a second or two on CPU."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

torch.set_num_threads(1)  # tiny models: threads cost more than they save, and CI has 2 cores

TINY_SPEC = """
[task]
op = "add"
p = 13
frac_train = 0.5
[model]
d_model = 32
n_heads = 2
d_head = 16
d_mlp = 64
[train]
steps = 40
eval_every = 10
checkpoint_every = 10
"""


@pytest.fixture
def tiny_spec(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.toml"
    path.write_text(TINY_SPEC)
    return path


@pytest.fixture
def tiny_config():
    from grokkit.spec import config_from_dict

    def make(**sections):
        base = {"task": {"p": 13, "frac_train": 0.5}, "model": {"d_model": 32, "n_heads": 2, "d_head": 16, "d_mlp": 64},
                "train": {"steps": 40, "eval_every": 10, "checkpoint_every": 10}}
        for name, values in sections.items():
            base.setdefault(name, {}).update(values)
        return config_from_dict(base)

    return make
