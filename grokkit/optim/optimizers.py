"""AdamW, Adam (L2) and SGD with momentum over stacked parameters, with every hyper-parameter per run.

For parameters ``θ`` of shape ``[R, ...]`` and a gradient ``g``, run r's update is PyTorch's
(``torch.optim`` single-tensor path, dampening 0, no Nesterov, no amsgrad)::

    adamw:  θ ← θ·(1 − lr·wd);  m ← lerp(m, g, 1 − β1);  v ← β2·v + (1 − β2)·g²
            θ ← θ − (lr / (1 − β1ᵗ)) · m / (√v / √(1 − β2ᵗ) + ε)
    adam:   g ← g + wd·θ, then the same moments and step without the decoupled decay
    sgd:    g ← g + wd·θ;  b ← μ·b + g;  θ ← θ − lr·b

Runs of one stack may use different optimisers: each kind updates its own runs (the whole
tensor in place when every run uses it, else a gathered slice written back). Per-run
scalars are computed in float64 and rounded once to the parameters' dtype.
``state_of(r)`` / ``load_state(r, tensors)`` save and restore one run's state under
names that do not depend on the stack (``optim.step``, ``optim.NAME.exp_avg`` …).
"""

from __future__ import annotations

from dataclasses import dataclass

from typing import Any, Callable

import torch
from torch import Tensor

from grokkit.optim.kinds import OPTIMIZERS

STATE_PREFIX = "optim."
Reshape = Callable[[str, Tensor], Tensor]  # (parameter name, tensor) → the tensor at another width


@dataclass(frozen=True)
class Hyper:
    """One run's optimiser and its hyper-parameters (the learning rate comes per step)."""

    kind: str = "adamw"
    weight_decay: float = 0.0
    beta1: float = 0.9
    beta2: float = 0.999
    momentum: float = 0.0
    eps: float = 1e-8

    @classmethod
    def from_config(cls, tcfg: Any) -> "Hyper":
        """A training config's optimiser (``train.optimizer``, weight decay, betas, momentum)."""
        return cls(tcfg.optimizer, tcfg.weight_decay, tcfg.beta1, tcfg.beta2, tcfg.momentum)


def _col(values: Tensor, like: Tensor) -> Tensor:
    """``[r]`` float64 → ``[r, 1, …]`` in ``like``'s dtype, broadcastable against it."""
    return values.to(like.dtype).view(-1, *([1] * (like.dim() - 1)))


class StackOptimizer:
    """The optimisers of R runs over named ``[R, ...]`` leaves (see the module docstring)."""

    def __init__(self, params: dict[str, Tensor], hypers: list[Hyper], decay: dict[str, bool] | None = None):
        for h in hypers:
            if h.kind not in OPTIMIZERS:
                raise ValueError(f"optimizer: unknown kind {h.kind!r}; allowed: {', '.join(OPTIMIZERS)}")
        self.params = params
        self.hypers = list(hypers)
        self.decay = decay or {}  # name → is it weight-decayed (default: yes, as torch.optim does)
        device = next(iter(params.values())).device
        self.t = torch.zeros(len(hypers), dtype=torch.float64, device=device)  # updates taken, per run
        slots = {slot for h in hypers for slot in OPTIMIZERS[h.kind].slots}
        self.state = {slot: {name: torch.zeros_like(p, memory_format=torch.preserve_format) for name, p in params.items()}
                      for slot in sorted(slots)}
        self._refresh()

    def _refresh(self) -> None:
        """Per-run hyper-parameter columns and each kind's run indices (after construction or selection)."""
        hypers = self.hypers
        device = self.t.device

        def col(field: str) -> Tensor:
            return torch.tensor([getattr(h, field) for h in hypers], dtype=torch.float64, device=device)

        self.weight_decay, self.beta1, self.beta2 = col("weight_decay"), col("beta1"), col("beta2")
        self.momentum, self.eps = col("momentum"), col("eps")
        self.groups = {}
        for kind in OPTIMIZERS:
            idx = [i for i, h in enumerate(hypers) if h.kind == kind]
            if idx:
                self.groups[kind] = None if len(idx) == len(hypers) else torch.tensor(idx, device=device)

    @torch.no_grad()
    def step(self, lr: Tensor) -> None:
        """One update of every run; ``lr``: ``[R]`` float64 on the parameters' device."""
        self.t += 1
        names = list(self.params)
        leaves = [self.params[name] for name in names]
        grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in leaves]
        params = [p.detach() for p in leaves]
        for kind, idx in self.groups.items():
            sel = slice(None) if idx is None else idx
            coefs = {decay: self._coefficients(kind, lr[sel], sel, decay)  # once per kind, not per parameter
                     for decay in {self.decay.get(name, True) for name in names}}
            c = [coefs[self.decay.get(name, True)] for name in names]
            slots = OPTIMIZERS[kind].slots
            if idx is None:  # every run uses this optimiser: update in place
                state = {s: [self.state[s][name] for name in names] for s in slots}
                self._update(kind, params, grads, state, c)
                continue
            part = {s: [self.state[s][name].index_select(0, idx) for name in names] for s in slots}
            theta = [p.index_select(0, idx) for p in params]
            self._update(kind, theta, [g.index_select(0, idx) for g in grads], part, c)
            for p, value in zip(params, theta):
                p.index_copy_(0, idx, value)
            for s, values in part.items():
                for name, value in zip(names, values):
                    self.state[s][name].index_copy_(0, idx, value)

    def _coefficients(self, kind: str, lr: Tensor, sel, decay: bool = True) -> dict[str, Tensor]:
        """This step's per-run scalars, computed in float64 and rounded once to float32, ``[r]`` each."""
        wd = self.weight_decay[sel] if decay else torch.zeros_like(lr)
        if kind == "sgd":
            c = {"l2": wd, "momentum": self.momentum[sel], "lr": lr}
        else:
            beta1, beta2, t = self.beta1[sel], self.beta2[sel], self.t[sel]
            c = {"l2": wd if kind == "adam" else None, "decay": 1 - lr * wd if kind == "adamw" else None,
                 "one_minus_beta1": 1 - beta1, "beta2": beta2, "one_minus_beta2": 1 - beta2,
                 "bias_correction2_sqrt": (1 - beta2**t).sqrt(), "eps": self.eps[sel], "step_size": lr / (1 - beta1**t)}
        dtype = next(iter(self.params.values())).dtype
        return {k: None if v is None else v.to(dtype) for k, v in c.items()}

    @staticmethod
    def _update(kind: str, p: list[Tensor], g: list[Tensor], state: dict[str, list[Tensor]],
                c: list[dict[str, Tensor]]) -> None:
        """The update of parameters ``p`` (lists: one tensor per parameter, ``c`` their coefficients).

        ``torch._foreach_*`` ops: one call per operation for every parameter instead of one per
        parameter (the per-step Python overhead); each applies the same elementwise operation to
        each tensor as the single-tensor op would, so the result is the same bit for bit.
        """
        def col(key: str) -> list[Tensor]:  # each parameter's [r] coefficient as [r, 1, …], a view
            return [ci[key].view(-1, *([1] * (pi.dim() - 1))) for pi, ci in zip(p, c)]

        if c[0]["l2"] is not None:
            g = torch._foreach_add(g, torch._foreach_mul(col("l2"), p))  # L2 penalty in the gradient (no sync)
        if kind == "sgd":
            buf = state["momentum_buffer"]
            torch._foreach_mul_(buf, col("momentum"))
            torch._foreach_add_(buf, g)  # b starts at 0, so the first b is g, as torch's clone
            torch._foreach_sub_(p, torch._foreach_mul(col("lr"), buf))
            return
        if kind == "adamw":
            torch._foreach_mul_(p, col("decay"))
        m, v = state["exp_avg"], state["exp_avg_sq"]
        torch._foreach_lerp_(m, g, col("one_minus_beta1"))
        torch._foreach_mul_(v, col("beta2"))
        torch._foreach_addcmul_(v, g, torch._foreach_mul(g, col("one_minus_beta2")))
        denom = torch._foreach_sqrt(v)
        torch._foreach_div_(denom, col("bias_correction2_sqrt"))
        torch._foreach_add_(denom, col("eps"))
        update = torch._foreach_mul(col("step_size"), m)  # addcdiv's order: value · m / denom
        torch._foreach_div_(update, denom)
        torch._foreach_sub_(p, update)

    def zero_grad(self) -> None:
        for p in self.params.values():
            p.grad = None

    # --- one run's state ------------------------------------------------------------------
    def state_of(self, index: int, crop: Reshape | None = None) -> dict[str, Tensor]:
        """Run ``index``'s state: its step count and its slots (moments or momentum buffer) per parameter.

        ``crop(name, tensor)``: the run's own shape of a padded stack's tensor (``grokkit.model.pad``)."""
        out = {f"{STATE_PREFIX}step": self.t[index].clone()}
        for slot in OPTIMIZERS[self.hypers[index].kind].slots:
            for name, value in self.state[slot].items():
                out[f"{STATE_PREFIX}{name}.{slot}"] = value[index] if crop is None else crop(name, value[index])
        return out

    @torch.no_grad()
    def load_state(self, index: int, tensors: dict[str, Tensor], pad: Reshape | None = None) -> None:
        """Restore run ``index`` from ``state_of``'s tensors; a run that never stepped may have none.

        ``pad(name, tensor)``: a run's own tensor at a padded stack's shape (``grokkit.model.pad``)."""
        step = tensors.get(f"{STATE_PREFIX}step")
        if step is None:
            return
        self.t[index] = float(step)
        for slot in OPTIMIZERS[self.hypers[index].kind].slots:
            for name, value in self.state[slot].items():
                key = f"{STATE_PREFIX}{name}.{slot}"
                if key not in tensors:
                    raise KeyError(key)
                own = tensors[key] if pad is None else pad(name, tensors[key])
                value[index] = own.to(value.device, value.dtype)

    @staticmethod
    def upgrade_v1(tensors: dict[str, Tensor], names: list[str]) -> dict[str, Tensor]:
        """A format-1 checkpoint's state under today's names; other tensors pass through.

        Format 1 numbered the optimiser's tensors by parameter position (``optim.3.exp_avg``);
        ``names`` are the parameters in that order.
        """
        out = {}
        for key, value in tensors.items():
            parts = key.split(".")
            if parts[0] == STATE_PREFIX[:-1] and len(parts) > 1 and parts[1].isdigit():
                slot = ".".join(parts[2:])
                key = f"{STATE_PREFIX}step" if slot == "step" else f"{STATE_PREFIX}{names[int(parts[1])]}.{slot}"
            out[key] = value
        return out

    def select(self, params: dict[str, Tensor], keep: list[int]) -> None:
        """Follow a stack that dropped runs: new leaves, the kept runs' state and hyper-parameters only."""
        idx = torch.tensor(keep, device=self.t.device)
        self.params = params
        self.t = self.t[idx].clone()
        self.state = {slot: {k: v[idx].clone() for k, v in values.items()} for slot, values in self.state.items()}
        self.hypers = [self.hypers[i] for i in keep]
        self._refresh()
