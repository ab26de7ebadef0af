"""One tiny trained run shared by the measures and ablation tests (trained once per session)."""

from __future__ import annotations

import atexit
import functools
import shutil
import tempfile

TINY = {
    "task": {"p": 13, "frac_train": 0.5},
    "model": {"d_model": 32, "n_heads": 2, "d_head": 16, "d_mlp": 64},
    "train": {"steps": 40, "eval_every": 20, "checkpoint_every": 20, "device": "cpu"},
    "measures": {"live": ["all"], "key_freqs": [1, 3]},
}


@functools.lru_cache(maxsize=None)
def tiny_run():
    """A 40-step p = 13 run with live measures (key freqs 1, 3): checkpoints 0, 20, 40."""
    from grokkit.run import Run
    from grokkit.spec import config_from_dict
    from grokkit.workflow import train_run as train

    path = tempfile.mkdtemp(prefix="grokkit-tiny-")
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    run = Run.create(f"{path}/run", config_from_dict(TINY))
    train(run, progress=False)  # the spec's [measures] live rows are written by train itself
    return run
