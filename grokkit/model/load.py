"""A verified checkpoint's weights in a model: the one loader.

``grokkit.files.checkpoint`` reads and verifies a checkpoint's tensors; this module puts them
where a caller reads them, and refuses weights that do not fit the run's model in one line
(``CheckpointError``, naming the checkpoint and the first tensor that differs):

- ``load_weights(model, ckpt)``: into a built model (a TransformerLens bridge or a ``HookedMLP``),
  on the model's device: training resumes into its bridges this way, and the offline measures
  load every checkpoint into one model whose weight views they keep;
- ``model_at(ckpt, model_cfg, task_cfg, device)``: a freshly built model holding them
  (``Run.load_model``);
- ``weights_at(ckpt, model_cfg, task_cfg, device)``: a one-layer model's weights by name
  (``grokkit.model.run_weights``) straight from the tensors, no model built: no TransformerLens
  import, so a report of a measured run starts in a fraction of a second.
"""

from __future__ import annotations

from typing import Any

import torch

from grokkit.errors import CheckpointError
from grokkit.files.checkpoint import Checkpoint
from grokkit.model.run_weights import MLPWeights, Weights, weights_from_state
from grokkit.model.param_stack import check_shapes


def _refuse(ckpt: Checkpoint, detail: str) -> CheckpointError:
    return CheckpointError(f"checkpoint {ckpt.path}: its weights do not fit this run's model ({detail})")


def load_weights(model: Any, ckpt: Checkpoint) -> Any:
    """Copy ``ckpt``'s weights into ``model`` (every tensor of its state dict, strictly), on the model's
    device; return the model."""
    device = next(model.parameters()).device
    try:
        model.load_state_dict({k: v.to(device) for k, v in ckpt.model.items()}, strict=True)
    except RuntimeError as exc:  # torch's message spans lines and a bridge's inner names: say it by state-dict name
        lines = [line.strip() for line in str(exc).splitlines() if line.strip()] or [""]
        raise _refuse(ckpt, _difference(model.state_dict(), ckpt.model) or lines[-1][:200]) from None
    return model


def _difference(own: dict[str, torch.Tensor], stored: dict[str, torch.Tensor]) -> str:
    """The first tensor, by state-dict name, that the stored weights lack or hold in another shape ("" if none)."""
    for name, tensor in own.items():
        if name not in stored:
            return f"{name} is missing"
        if stored[name].shape != tensor.shape:
            return f"{name} is {tuple(stored[name].shape)}, the model's is {tuple(tensor.shape)}"
    extra = sorted(stored.keys() - own.keys())
    return f"{extra[0]} is not one of the model's tensors" if extra else ""


def model_at(ckpt: Checkpoint, model_cfg: Any, task_cfg: Any, device: str | torch.device = "cpu") -> Any:
    """A model built for ``model_cfg`` and ``task_cfg`` (``grokkit.model.build.build_model``) holding ``ckpt``'s weights."""
    from grokkit.model.build import build_model  # TransformerLens: imported only when a model is built

    return load_weights(build_model(model_cfg, task_cfg, device=device), ckpt)


def weights_at(ckpt: Checkpoint, model_cfg: Any, task_cfg: Any,
               device: str | torch.device = "cpu") -> Weights | MLPWeights:
    """``ckpt``'s weights by name, as ``weights_of(model_at(...))`` gives them, without building the model.

    The tensors are the checkpoint's own (on ``device``), not parameters: they require no gradient.
    A model ``weights_of`` refuses (deeper than one layer, LayerNorm) is refused the same way (ConfigError).
    """
    try:  # what load_state_dict(strict=True) refuses on a built model
        check_shapes(ckpt.model, model_cfg, task_cfg)
    except ValueError as exc:
        raise _refuse(ckpt, str(exc)) from None
    # copies: safetensors hands out tensors at unaligned addresses, on which the BLAS kernels round the
    # last bit differently; in fresh memory the forward gives a loaded model's numbers to the bit
    return weights_from_state({k: v.to(device, copy=True) for k, v in ckpt.model.items()}, model_cfg)
