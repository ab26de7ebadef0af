"""Recognise what a loaded file holds and read it into one ``Source``.

Three shapes of file are known:

- **saved-run**: one model in a ``torch.save`` dict, as the progress-measures paper
  saves its runs: ``model`` with optional ``epoch``, ``train_losses`` / ``test_losses``,
  ``config`` (a plain dict), ``optimizer``, ``scheduler`` (both ignored), ``train_data``;
- **checkpoints**: many state dicts, ``checkpoints`` (or ``state_dicts``) with
  ``checkpoint_epochs`` (or ``epochs``), optional ``model``, curves, ``train_indices`` /
  ``test_indices`` and ``config``, as the TransformerLens demo saves its run;
- **state-dict**: a bare state dict.

Each state dict is either in the paper's layout or TransformerLens's
``HookedTransformer`` layout (told apart by ``blocks.0.attn.W_O``: 2-D in the paper,
``[n_heads, d_head, d_model]`` in TransformerLens), and is returned in
HookedTransformer names (``grokkit.model.hooked``).

**Steps.** grokkit's step s is the model after s optimiser updates. Both sources save a
checkpoint right after the update of 0-based epoch e, so a checkpoint at epoch e is
step e + 1, except the paper's final save (``epoch`` = number of epochs run, with the
full ``train_losses``), which is step ``epoch``. The paper logs ``train_losses[i]`` and
``test_losses[i]`` before update i (step i); the demo logs ``train_losses[i]`` before
update i (step i) and ``test_losses[i]`` after it (step i + 1). A curve shorter than the
train curve by a whole factor c was logged every c epochs (step c·j).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor

from grokkit.files.checkpoint import non_finite
from grokkit.importer.load import ImportFileError, LoadedFile, RecordedObject
from grokkit.model import hooked as hooked_names
from grokkit.model import paper as paper_names
from grokkit.model.hooked import hooked_to_bridge
from grokkit.model.paper import paper_to_hooked

PAPER_OPS = {"add": "add", "subtract": "sub", "x2xyy2": "x2_xy_y2"}  # the paper's fn_name → task.op


@dataclass
class Source:
    """Everything grokkit takes from one imported file."""

    format: str  # saved-run | checkpoints | state-dict
    layout: str  # paper | hooked: whose parameter names the file uses
    checkpoints: list[tuple[int, dict[str, Tensor]]]  # (step, the bridge's state dict), ascending
    n_heads: int  # read off W_Q before the heads are flattened into the bridge's layout
    train_curve: list[tuple[int, float]] = field(default_factory=list)  # (step, train loss)
    test_curve: list[tuple[int, float]] = field(default_factory=list)  # (step, test loss)
    config: dict[str, dict[str, Any]] = field(default_factory=dict)  # grokkit sections read from the file
    train_rows: Tensor | None = None  # grid rows (x·p + y) the file says were trained on
    notes: list[str] = field(default_factory=list)  # what was inferred, for the user and the metadata


def _is_state_dict(value: Any) -> bool:
    return isinstance(value, dict) and bool(value) and all(isinstance(v, Tensor) for v in value.values()) \
        and "embed.W_E" in value


def layout_of(state: dict[str, Tensor]) -> str:
    W_O = state.get("blocks.0.attn.W_O")
    if W_O is None:
        raise ImportFileError("state dict has no blocks.0.attn.W_O; not a one-layer grokking transformer")
    return "paper" if W_O.dim() == 2 else "hooked"


def to_bridge(state: dict[str, Tensor], where: str) -> dict[str, Tensor]:
    """A paper- or HookedTransformer-named state dict as the bridge's state dict; unknown keys refused."""
    layout = layout_of(state)
    names = paper_names if layout == "paper" else hooked_names
    known = set(names.DRAW_ORDER if layout == "paper" else names.WEIGHTS) | set(names.BIASES) | set(names.BUFFERS)
    required = paper_names.DRAW_ORDER if layout == "paper" else hooked_names.WEIGHTS
    extra = sorted(set(state) - known)
    if extra:
        raise ImportFileError(f"{where}: keys a one-layer, LayerNorm-free model lacks: {', '.join(extra[:6])}")
    missing = [name for name in required if name not in state]
    if missing:
        raise ImportFileError(f"{where}: lacks {', '.join(missing)}")
    complex_ = next((k for k, v in state.items() if v.is_complex()), None)
    if complex_ is not None:
        raise ImportFileError(f"{where}: {complex_} holds complex numbers; a model's weights are real")
    weights = {k: v.float() for k, v in state.items() if k not in names.BUFFERS}
    for name, tensor in weights.items():
        rank = expected_rank(name, layout)
        if tensor.dim() != rank or tensor.numel() == 0:
            raise ImportFileError(f"{where}: {name} has shape {list(tensor.shape)}; a {layout}-layout model's is "
                                  f"{rank}-D and not empty")
    bad = non_finite(weights)
    if bad is not None:
        raise ImportFileError(f"{where}: {bad} holds NaN or infinity")
    try:
        return hooked_to_bridge(paper_to_hooked(weights) if layout == "paper" else weights)
    except (RuntimeError, IndexError, ValueError) as exc:
        raise ImportFileError(f"{where}: weight shapes do not fit together ({exc})") from None


def expected_rank(name: str, layout: str) -> int:
    """Dimensions of a weight: per-head Q/K/V (and the hooked W_O, b_Q/K/V) carry a head axis."""
    short = name.rsplit(".", 1)[-1]
    if short in ("W_Q", "W_K", "W_V") or (layout == "hooked" and short == "W_O"):
        return 3
    if layout == "hooked" and short in ("b_Q", "b_K", "b_V"):
        return 2
    return 2 if short.startswith("W_") else 1


MAX_EPOCH = 10**12  # far beyond any run; keeps step folder names and JSON integers sane


def step_after(epoch: Any, where: str, offset: int = 1) -> int:
    """grokkit's step for a file's 0-based ``epoch`` (``offset`` 1: saved after that epoch's update)."""
    if isinstance(epoch, Tensor) and epoch.numel() == 1:
        epoch = epoch.item()
    if isinstance(epoch, bool) or not isinstance(epoch, (int, float)) or not math.isfinite(epoch) \
            or epoch != int(epoch) or not 0 <= epoch <= MAX_EPOCH:
        shown = repr(epoch) if isinstance(epoch, (int, float)) else f"a {type(epoch).__name__}"
        raise ImportFileError(f"{where}: must be a whole number of epochs in 0 … {MAX_EPOCH}, got {shown}")
    return int(epoch) + offset


def _epochs(values: Any, where: str) -> list[Any]:
    if isinstance(values, Tensor) and values.dim() == 1:
        values = values.tolist()
    if not isinstance(values, (list, tuple)):
        raise ImportFileError(f"{where}: must be a list of epochs, got a {type(values).__name__}")
    return list(values)


def _train_rows(indices: Any) -> Tensor:
    """The file's ``train_indices``: a 1-D integer tensor or a list of whole numbers (grid rows)."""
    if isinstance(indices, Tensor):
        if indices.dim() != 1 or indices.is_floating_point() or indices.is_complex() or indices.dtype == torch.bool:
            raise ImportFileError(f"train_indices: must be a 1-D tensor of integer rows, got {indices.dtype} of "
                                  f"shape {list(indices.shape)}")
        return indices.to(torch.int64)
    if not isinstance(indices, (list, tuple)) or not all(isinstance(i, int) and not isinstance(i, bool)
                                                         for i in indices):
        raise ImportFileError(f"train_indices: must be a list of integer rows, got a {type(indices).__name__}")
    try:
        return torch.tensor(indices, dtype=torch.int64)
    except (OverflowError, RuntimeError):
        raise ImportFileError("train_indices: holds a row beyond int64") from None


def _curve(values: Any, where: str) -> list[float]:
    if isinstance(values, Tensor):
        values = values.tolist()
    if not isinstance(values, (list, tuple)) or not all(isinstance(v, (int, float)) for v in values):
        raise ImportFileError(f"{where}: must be a list of numbers")
    try:
        return [float(v) for v in values]
    except OverflowError:  # an integer beyond any float
        raise ImportFileError(f"{where}: holds a number too large for a loss") from None


def _curves(data: dict[str, Any], layout: str, notes: list[str]) -> tuple[list, list]:
    train = _curve(data["train_losses"], "train_losses") if "train_losses" in data else []
    test = _curve(data["test_losses"], "test_losses") if "test_losses" in data else []
    if not train:
        return [], [(i, v) for i, v in enumerate(test)]
    every = 1
    if test and len(test) < len(train):
        every = round(len(train) / len(test))
        notes.append(f"test_losses has {len(test)} points to train_losses' {len(train)}: read as every {every} steps")
    shift = 1 if layout == "hooked" else 0  # the demo logs its test loss after the update
    return [(i, v) for i, v in enumerate(train)], [(j * every + shift, v) for j, v in enumerate(test)]


def _paper_config(config: Any, notes: list[str]) -> dict[str, dict[str, Any]]:
    """grokkit sections from the paper's ``Config`` saved as a dict (``dataclasses.asdict``)."""
    if not isinstance(config, dict):
        raise ImportFileError(f"config: expected a dict of the paper's Config fields, got {type(config).__name__}")
    out: dict[str, dict[str, Any]] = {"task": {}, "model": {}, "train": {}}
    if "fn_name" in config:
        if not isinstance(config["fn_name"], str) or config["fn_name"] not in PAPER_OPS:
            raise ImportFileError(f"config.fn_name: {config['fn_name']!r} has no grokkit task; known: "
                                  f"{', '.join(PAPER_OPS)}")
        out["task"]["op"] = PAPER_OPS[config["fn_name"]]
    for theirs, section, ours in (("p", "task", "p"), ("frac_train", "task", "frac_train"), ("seed", "task", "seed"),
                                  ("lr", "train", "lr"), ("weight_decay", "train", "weight_decay"),
                                  ("num_epochs", "train", "steps"), ("save_every", "train", "checkpoint_every")):
        if theirs in config:
            out[section][ours] = config[theirs]
    if "act_type" in config:
        out["model"]["act_fn"] = str(config["act_type"]).lower()
    if config.get("use_ln"):
        raise ImportFileError("config.use_ln: the run used LayerNorm; grokkit's model has none")
    notes.append("config read from the file's paper Config")
    return out


def _hooked_config(config: Any, notes: list[str]) -> dict[str, dict[str, Any]]:
    """grokkit sections from the demo's ``HookedTransformerConfig`` (or a dict of its fields)."""
    fields = vars(config) if isinstance(config, RecordedObject) else config
    if not isinstance(fields, dict):
        raise ImportFileError(f"config: expected HookedTransformerConfig fields, got {type(config).__name__}")
    if fields.get("n_layers", 1) != 1 or fields.get("normalization_type") not in (None, "None"):
        raise ImportFileError("config: grokkit imports one-layer models without LayerNorm "
                              f"(n_layers {fields.get('n_layers')}, normalization_type {fields.get('normalization_type')!r})")
    out: dict[str, dict[str, Any]] = {"model": {}}
    if isinstance(fields.get("seed"), int):
        out["model"]["seed"] = fields["seed"]
    if isinstance(fields.get("act_fn"), str):
        out["model"]["act_fn"] = fields["act_fn"]
    notes.append("config read from the file's HookedTransformerConfig")
    return out


def _rows_from_pairs(pairs: Any, where: str) -> Tensor:
    """The paper's ``train_data``: a list of (x, y, p) triples → grid rows x·p + y."""
    if not isinstance(pairs, (list, tuple)) or not pairs:
        raise ImportFileError(f"{where}: expected a list of (x, y, =) triples")
    try:
        p = int(pairs[0][2])
        return torch.tensor([int(x) * p + int(y) for x, y, _ in pairs], dtype=torch.int64)
    except (TypeError, ValueError, IndexError):
        raise ImportFileError(f"{where}: expected a list of (x, y, =) triples") from None


def read_source(loaded: LoadedFile, step: int | None = None) -> Source:
    """The checkpoints, curves, config and split a loaded file holds (see the module docstring)."""
    data = loaded.data
    if _is_state_dict(data):
        data = {"model": data}
        fmt = "state-dict"
    elif not isinstance(data, dict):
        raise ImportFileError(f"{loaded.path}: holds a {type(data).__name__}, not a dict of weights")
    else:
        fmt = None
    notes: list[str] = []
    many = next((k for k in ("checkpoints", "state_dicts") if k in data), None)
    if many is not None:
        fmt = "checkpoints"
        epochs_key = "checkpoint_epochs" if "checkpoint_epochs" in data else "epochs"
        states, epochs = data[many], data.get(epochs_key)
        if not isinstance(states, (list, tuple)) or not all(_is_state_dict(s) for s in states):
            raise ImportFileError(f"{loaded.path}: {many} must be a list of state dicts")
        epochs = None if epochs is None else _epochs(epochs, f"{loaded.path}: {epochs_key}")
        if epochs is None or len(epochs) != len(states):
            raise ImportFileError(f"{loaded.path}: {many} needs checkpoint_epochs, one epoch per state dict")
        # saved after the update of epoch e: step e + 1
        pairs = [(step_after(e, f"{loaded.path}: {epochs_key}[{i}]"), s) for i, (e, s) in enumerate(zip(epochs, states))]
        if _is_state_dict(data.get("model")):
            final = len(data["train_losses"]) if "train_losses" in data else pairs[-1][0]
            if final not in {s for s, _ in pairs}:
                pairs.append((final, data["model"]))
    elif _is_state_dict(data.get("model")):
        fmt = fmt or "saved-run"
        if step is None:
            n_losses = len(data["train_losses"]) if "train_losses" in data else None
            if "epoch" in data:
                epoch = step_after(data["epoch"], f"{loaded.path}: epoch", offset=0)
                step = epoch if n_losses == epoch else epoch + 1  # final save vs per-epoch save
            else:
                step = n_losses or 0
                notes.append(f"no epoch recorded: filed under step {step}")
        pairs = [(step, data["model"])]
    else:
        raise ImportFileError(f"{loaded.path}: no model weights found (expected 'model', 'checkpoints' or a "
                              "state dict with embed.W_E)")
    if step is not None and (isinstance(step, bool) or not isinstance(step, int) or not 0 <= step <= MAX_EPOCH):
        raise ImportFileError(f"--step: must be a step in 0 … {MAX_EPOCH}, got {step!r}")
    if step is not None and fmt == "checkpoints":
        raise ImportFileError("--step: only for a file holding one model; this one has many checkpoints")
    layout = layout_of(pairs[0][1])
    if any(layout_of(s) != layout for _, s in pairs):
        raise ImportFileError(f"{loaded.path}: its checkpoints mix parameter layouts")
    if len({s for s, _ in pairs}) != len(pairs):
        raise ImportFileError(f"{loaded.path}: two checkpoints share an epoch")
    checkpoints = sorted(((s, to_bridge(state, f"{loaded.path}: checkpoint at step {s}")) for s, state in pairs),
                         key=lambda pair: pair[0])
    train_curve, test_curve = _curves(data, layout, notes)

    config: dict[str, dict[str, Any]] = {}
    raw = data.get("config")
    if raw is not None:
        is_paper = isinstance(raw, dict) and any(key in raw for key in ("fn_name", "frac_train", "num_epochs"))
        config = _paper_config(raw, notes) if is_paper else _hooked_config(raw, notes)
    train_rows = None
    if "train_indices" in data:
        train_rows = _train_rows(data["train_indices"])
    elif "train_data" in data:
        train_rows = _rows_from_pairs(data["train_data"], "train_data")
    n_heads = pairs[0][1]["blocks.0.attn.W_Q"].shape[0]  # [n_heads, …] in both layouts
    return Source(fmt, layout, checkpoints, n_heads, train_curve, test_curve, config, train_rows, notes)
