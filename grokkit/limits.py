"""Will a run fit? Its memory, estimated from the config, against what the machine has.

Checked before a run directory is made (``Run.create``) and for every run of a sweep
before any trains, so ``task.p = 100003`` or ``model.d_mlp = 1e9`` is a one-line
``ConfigError`` naming the field, the value and the largest value that fits, instead
of a 512 GB allocation failing in the middle of training.

The estimate (bytes, float32 weights) is a guard against impossible sizes, not an exact
account: it counts the large tensors and leaves out allocator slack and small temporaries.

- inputs: the grid's N rows as tokens, labels, operands and split (≈ 56 bytes a row);
- parameters P, with their gradients and the optimiser's and gradient filter's state
  (``grokkit.optim.kinds.state_tensors``: AdamW's two moments, an EMA's mean, an MA's window);
- activations of the largest forward: all N rows at evaluation, the training rows
  (saved for the backward, so twice) at a step; per row every intermediate of the
  three positions, the MLP at '=', the logits in float32 and float64 (see ``row_bytes``).

On ``cuda`` everything but a copy of the inputs lives on the GPU, so the GPU is checked
against the whole estimate and the host against the inputs.

A config read back from a file (a run's ``config.json``, an imported checkpoint's widths)
is checked too, before its grid or weights are built (``check_readable``).
"""

from __future__ import annotations

import math

import copy
import os
from typing import Any, Callable, NamedTuple

from grokkit.errors import ConfigError
from grokkit.optim.kinds import state_tensors

FLOAT = 4  # float32
INPUT_ROW = 56  # tokens [3] + labels + x + y + permutation, int64 each


class Estimate(NamedTuple):
    """Bytes a run needs, by kind."""

    inputs: int
    parameters: int  # weights, gradients, optimiser moments, gradient-filter buffer
    activations: int

    @property
    def total(self) -> int:
        return self.inputs + self.parameters + self.activations


def n_parameters(config: Any) -> int:
    """Weights of the one-layer model: embeddings, attention, MLP and unembedding."""
    m, task = config.model, config.task
    if m.kind == "mlp":  # grokkit.model.mlp.expected_shapes, plus the first layer's tables the forward folds
        from grokkit.model.mlp_names import expected_shapes

        shapes = expected_shapes(m, task.n_symbols, task.d_vocab_out).values()
        return sum(math.prod(shape) for shape in shapes) + 2 * task.n_symbols * m.d_mlp
    d_model, d_mlp, heads = m.d_model, m.d_mlp, m.n_heads * m.d_head
    d_vocab_out = task.d_vocab_out + 1  # generous: the '=' class when model.eq_output is on
    return (task.d_vocab * d_model + task.n_ctx * d_model  # W_E, W_pos
            + 4 * heads * d_model + 3 * heads + d_model  # W_Q, W_K, W_V, W_O and biases
            + 2 * d_mlp * d_model + d_mlp + d_model  # W_in, W_out and biases
            + d_model * d_vocab_out + d_vocab_out)  # W_U, b_U


def row_bytes(config: Any) -> int:
    """Activations of one input row: residuals, q/k/v/z and scores at every position, the MLP at '=',
    the logits in float32 and once more in float64 for the loss."""
    m, task = config.model, config.task
    if m.kind == "mlp":  # the gathered first layer, pre- and post-activations, the logits (float32 and float64)
        return FLOAT * 4 * m.d_mlp + (FLOAT + 8) * (task.d_vocab_out + 1)
    heads = m.n_heads * m.d_head
    per_position = 3 * m.d_model + 4 * heads + m.n_heads * task.n_ctx
    return FLOAT * (task.n_ctx * per_position + 2 * m.d_mlp) + (FLOAT + 8) * (task.d_vocab_out + 1)


def estimate(config: Any) -> Estimate:
    rows = config.task.n_rows
    n_train = int(config.task.frac_train * rows)
    batch = min(config.train.batch_size or n_train, n_train)
    return Estimate(
        inputs=INPUT_ROW * rows,
        parameters=(2 + state_tensors(config.train)) * FLOAT * n_parameters(config),  # weights, gradients, state
        activations=max(rows, 2 * batch) * row_bytes(config),
    )


def host_available() -> int | None:
    """Bytes of memory the machine can give a new process now (MemAvailable), None when unknown."""
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def cuda_available() -> int | None:
    """Free bytes on the current CUDA device, None when it cannot be asked."""
    import torch

    try:
        return int(torch.cuda.mem_get_info()[0])
    except Exception:  # no driver, or a device busy in another mode: do not guess
        return None


def gigabytes(n: int) -> str:
    return f"{n / 1e9:.3g} GB"


# Fields the message can blame, with the smallest value each may take.
FIELDS = (("task", "p", 3), ("model", "d_mlp", 1), ("model", "d_model", 1), ("model", "d_head", 1),
          ("model", "n_heads", 1))


def _with(config: Any, section: str, name: str, value: int) -> Any:
    """``config`` with one size replaced, unvalidated (``dataclasses.replace`` would test p for primality)."""
    part = copy.copy(getattr(config, section))
    setattr(part, name, value)
    whole = copy.copy(config)
    setattr(whole, section, part)
    return whole


def largest_fitting(config: Any, section: str, name: str, minimum: int, budget: int,
                    cost: Callable[[Any], int]) -> int | None:
    """The largest value of ``section.name`` (others fixed) whose cost fits ``budget``; None if none does."""
    if cost(_with(config, section, name, minimum)) > budget:
        return None
    low, high = minimum, max(minimum, getattr(getattr(config, section), name))
    while low < high:  # cost grows with every size field, so bisect
        mid = (low + high + 1) // 2
        if cost(_with(config, section, name, mid)) <= budget:
            low = mid
        else:
            high = mid - 1
    return low


def _refuse(config: Any, need: int, budget: int, where: str, cost: Callable[[Any], int]) -> None:
    """Blame the size field whose smallest value saves the most, and say how large it may be; for a compose task
    whose group alone is too large (the smallest widths do not fit either), blame ``task.group``."""
    if config.task.operation.group == "finite":
        smallest = config
        for section, name, minimum in FIELDS[1:]:
            smallest = _with(smallest, section, name, minimum)
        if cost(smallest) > budget:
            task = config.task
            what = task.group or ("task.generators" if task.generators else "task.table")
            raise ConfigError(f"task.group: {what} has {task.n_symbols} elements ({task.n_rows} input pairs), which "
                              f"need about {gigabytes(cost(smallest))} of {where} memory even with the smallest "
                              f"widths; {gigabytes(budget)} is available; allowed: a smaller group")
    savings = []
    for section, name, minimum in FIELDS:
        savings.append((need - cost(_with(config, section, name, minimum)), section, name, minimum))
    _, section, name, minimum = max(savings)
    value = getattr(getattr(config, section), name)
    top = largest_fitting(config, section, name, minimum, budget, cost)
    if section == "task" and config.task.operation.group in ("s5", "finite"):
        top = None  # S5 has 120 symbols, a compose task its group's order, whatever p says: no p helps
    allowed = (f"{section}.{name} <= {top} with the other settings as they are" if top is not None
               else "no value of it fits unless other sizes shrink too")
    inputs = f" ({config.task.n_rows} input pairs)" if section == "task" else ""
    raise ConfigError(f"{section}.{name}: {value}{inputs} needs about {gigabytes(need)} of {where} memory; "
                      f"{gigabytes(budget)} is available; allowed: {allowed}")


def check_resources(config: Any, host: int | None = None, cuda: int | None = None) -> Estimate:
    """Refuse (ConfigError) a run that cannot run here: no CUDA device, or more memory than there is.

    ``host`` and ``cuda`` override the measured free bytes (tests). Returns the estimate.
    """
    from grokkit.train.device import resolve_device

    device = resolve_device(config.train.device)  # 'cuda' without a GPU is a ConfigError here
    need = estimate(config)
    host = host_available() if host is None else host
    if device == "cuda":
        cuda = cuda_available() if cuda is None else cuda
        if cuda is not None and need.total > cuda:
            _refuse(config, need.total, cuda, "GPU", lambda c: estimate(c).total)
        if host is not None and need.inputs > host:
            _refuse(config, need.inputs, host, "host", lambda c: estimate(c).inputs)
    elif host is not None and need.total > host:
        _refuse(config, need.total, host, "host", lambda c: estimate(c).total)
    return need


def check_readable(config: Any, where: str, host: int | None = None) -> None:
    """Refuse (ConfigError, naming ``where``) a config read from a file whose input grid and weights alone
    exceed the host's memory: ``config.json`` or an imported file saying p = 100 003 is one line, not a
    74 GB allocation. Checked whenever a run is opened (info, measure, report, compare, resume, import)."""
    cost = lambda c: estimate(c).inputs + estimate(c).parameters  # noqa: E731
    host = host_available() if host is None else host
    need = cost(config)
    if host is not None and need > host:
        try:
            _refuse(config, need, host, "host", cost)
        except ConfigError as exc:
            raise ConfigError(f"{where}: {exc}") from None


def measure_bytes(config: Any) -> int:
    """What measuring one checkpoint holds at once: the inputs, the weights, and per input row the neurons at '='
    (float32), the attention pattern at '=', the logits in float32, in float64 and the group grid's float64 copy."""
    m, task = config.model, config.task
    pattern = 0 if m.kind == "mlp" else FLOAT * m.n_heads * task.n_ctx
    per_row = FLOAT * m.d_mlp + pattern + (FLOAT + 8 + 8) * (task.d_vocab_out + 1)
    return INPUT_ROW * task.n_rows + FLOAT * n_parameters(config) + per_row * task.n_rows


def check_measurable(config: Any, host: int | None = None) -> None:
    """Refuse (one ConfigError naming the task's size field) measuring a run whose grid of neurons and logits does
    not fit the host's free memory: S6's 518 400 pairs × 721 logits are 7.5 GB in float64 and its copy, checked
    before any checkpoint is loaded (training checks its own, larger, need: ``check_resources``)."""
    need = measure_bytes(config)
    host = host_available() if host is None else host
    if host is None or need <= host:
        return
    task = config.task
    if task.operation.group == "finite":
        field, what = "task.group", task.group or ("task.generators" if task.generators else "task.table")
        what = f"{what} has {task.n_symbols} elements ({task.n_rows} input pairs)"
    else:
        field, what = "task.p", f"{task.p} gives {task.n_rows} input pairs"
    raise ConfigError(f"{field}: {what}; measuring a checkpoint holds about {gigabytes(need)} of neurons and logits "
                      f"and {gigabytes(host)} is available; allowed: measuring on a machine with more free memory")


def check_stack(config: Any, n_runs: int, host: int | None = None, cuda: int | None = None) -> None:
    """A sweep trains up to ``n_runs`` like ``config`` in one stack: refuse it when they do not fit together."""
    from grokkit.train.device import resolve_device

    one = estimate(config).total
    device = resolve_device(config.train.device)
    budget = (cuda_available() if cuda is None else cuda) if device == "cuda" else (
        host_available() if host is None else host)
    if budget is None or one * n_runs <= budget:
        return
    fits = max(1, budget // one)
    raise ConfigError(f"sweep.max_stack: a stack of {n_runs} runs like these needs about {gigabytes(one * n_runs)} "
                      f"of {'GPU' if device == 'cuda' else 'host'} memory; {gigabytes(budget)} is available; "
                      f"allowed: sweep.max_stack <= {fits}")


__all__ = ["Estimate", "check_measurable", "check_readable", "check_resources", "check_stack", "estimate",
           "measure_bytes"]
