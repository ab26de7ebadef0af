"""A training step and an evaluation with every tensor on the ``meta`` device.

Elementwise ops on meta refuse a CPU operand as CUDA would (``meta + cpu`` raises), so a
tensor created on the wrong device inside the step fails here, on CPU in CI, not on a
user's GPU. ``meta @ cpu`` and CPU indices do not raise on meta, so the stack asserts
the devices of what it is handed (``expect_device``); a test checks that too.
"""

import pytest
import torch

from grokkit.model.param_stack import Shape
from grokkit.optim.filters import GradientFilter
from grokkit.optim.optimizers import Hyper, StackOptimizer
from grokkit.train.step import Grid, StackState

META = torch.device("meta")


def meta_stack(tiny_config, n_layers=1, layer_norm=False, kinds=("adamw", "adam", "sgd"), grokfast="ema"):
    from grokkit.data.dataset import AlgorithmicDataset
    from grokkit.model.build import build_model
    from grokkit.model.param_stack import stack_bridges

    config = tiny_config(model={"n_layers": n_layers, "layer_norm": layer_norm, "train_biases": True})
    bridge = build_model(config.model, config.task)  # shapes from a real bridge, tensors moved to meta
    stack = {k: v.detach().to(META).requires_grad_(True) for k, v in stack_bridges([bridge] * len(kinds)).items()}
    ds = AlgorithmicDataset(config.task)
    union = ds.split.train
    union_pos = torch.full((len(ds),), -1, dtype=torch.long)
    union_pos[union] = torch.arange(len(union))
    grid = Grid(ds.tokens.to(META), ds.labels.to(META), union.to(META), union_pos.to(META), same_last=True)
    optimizer = StackOptimizer(stack, [Hyper(kind=k, weight_decay=0.1, momentum=0.9) for k in kinds])
    return StackState(stack, Shape.of(bridge), optimizer, GradientFilter(grokfast, orthograd=True), grid), len(union)


@pytest.mark.parametrize("depth", [dict(n_layers=1), dict(n_layers=2, layer_norm=True)])
def test_a_step_and_an_evaluation_run_entirely_on_the_meta_device(tiny_config, depth):
    state, n = meta_stack(tiny_config, **depth)
    runs = state.runs
    lr = torch.full((runs,), 1e-3, dtype=torch.float64, device=META)
    weights = torch.full((runs, n), 1.0 / n, dtype=torch.float64, device=META)
    losses = state.step(lr, weights)
    assert losses.device.type == "meta" and losses.shape == (runs,)
    assert all(v.device.type == "meta" for v in state.stack.values())
    assert all(v.device.type == "meta" for slot in state.optimizer.state.values() for v in slot.values())
    logits = state.logits()
    assert logits.device.type == "meta" and logits.shape[:2] == (runs, len(state.grid.tokens))
    state.select([0, 2])
    assert state.runs == 2 and state.optimizer.t.device.type == "meta"


def test_a_cpu_tensor_handed_to_a_meta_stack_is_refused(tiny_config):
    state, n = meta_stack(tiny_config, kinds=("adamw",), grokfast="none")
    lr = torch.full((1,), 1e-3, dtype=torch.float64)  # on the CPU: `meta * cpu` would not catch a matmul use
    with pytest.raises(RuntimeError, match="lr is on cpu"):
        state.step(lr, torch.full((1, n), 1.0 / n, dtype=torch.float64, device=META))


def test_freed_activations_are_reused_without_page_faults():
    """Each step frees and allocates the same few MiB: once retained, the next step finds them in the heap."""
    import platform
    import resource

    from grokkit.train.device import retain_freed_memory

    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        pytest.skip("mallopt is glibc's")
    assert retain_freed_memory()
    for _ in range(3):
        torch.ones(1 << 20).add_(1)  # 4 MiB, as a step's activations: 1 024 pages when mapped afresh
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(20):
        torch.ones(1 << 20).add_(1)
    assert resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before < 200  # not 20 × 1 024
