"""Fresh Gaussian batches of the task mixture, one seeded stream per data key.

A sample of task k is an input x ~ N(0, I_D) and the task's index; its target
y_k = Λ_k^{1/2} x[block k] depends on the model's spectra, so the model computes it.
There is no dataset: every step draws new inputs from the stream's own
``torch.Generator``, seeded from the key's settings only (seed, β, injection gap and the
mixture's shape), so a member sees the same batches whether it trains alone or stacked,
and members that differ only in width share every batch.

A step's batch holds, per key, round(B·π_k) samples of each task (``fixed``
composition) or B samples whose tasks are drawn from π (``sampled``). With injection
(gap G > 0) the rare task is withheld, and every G-th step carries m = round(G·B·π_r)
samples of it on top of the others. Every sample weighs 1/B, whatever the batch's size
(open in the paper: an injected sample counts as much as one it replaces). Keys whose
batches differ in size are padded with zero-weight rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from grokkit.capacity.config import CapacityTrainConfig, Member, MixtureConfig
from grokkit.capacity.mixture import batch_counts, frequencies, injected_samples
from grokkit.data.seeds import derive_seed


@dataclass
class Batch:
    """One step's samples for every data key, padded to a common length."""

    x: Tensor
    """[G, B_max, D] float32 inputs."""
    task: Tensor
    """[G, B_max] int64 task index of each sample (padding: 0)."""
    weight: Tensor
    """[G, B_max] float32 weight of each sample in its key's loss: 1/B, 0 for padding."""


def pad_batches(parts: list[tuple[Tensor, Tensor, Tensor]]) -> Batch:
    """Stack per-key (x, task, weight) of different lengths into one ``Batch`` (zero-weight padding)."""
    length = max(x.shape[0] for x, _, _ in parts)

    def pad(t: Tensor) -> Tensor:
        return torch.nn.functional.pad(t, (0, 0) * (t.dim() - 1) + (0, length - t.shape[0]))

    return Batch(torch.stack([pad(x) for x, _, _ in parts]), torch.stack([pad(t) for _, t, _ in parts]),
                 torch.stack([pad(w) for _, _, w in parts]))


def data_keys(members: list[Member]) -> tuple[list[tuple], list[int]]:
    """The distinct data keys (in first-seen order) and each member's index into them."""
    keys: list[tuple] = []
    for member in members:
        if member.data_key not in keys:
            keys.append(member.data_key)
    return keys, [keys.index(member.data_key) for member in members]


class BatchStream:
    """The batches of every data key ``(seed, β, gap)``, step after step (see the module docstring)."""

    def __init__(self, keys: list[tuple], mix: MixtureConfig, train: CapacityTrainConfig, device: str = "cpu"):
        self.keys = list(keys)
        self.D, self.B, self.rare = mix.dim, train.batch_size, mix.rare
        self.composition = train.composition
        self.device = device
        self.generators, self.pi, self.counts, self.injected = [], [], [], []
        for seed, beta, gap in self.keys:
            pi = frequencies(mix.K, beta)
            gen = torch.Generator(device=device)
            gen.manual_seed(derive_seed("capacity-data", seed, float(beta), gap, mix.K, mix.d_T, self.D, self.B,
                                        self.composition))
            self.generators.append(gen)
            self.pi.append(pi.to(device, torch.float32))
            self.counts.append(batch_counts(pi, self.B))
            self.injected.append(injected_samples(gap, self.B, float(pi[self.rare])) if gap else 0)

    def task_counts(self, g: int, step: int) -> list[int] | None:
        """Samples of each task in key ``g``'s batch at 1-based ``step`` (None: tasks are drawn)."""
        if self.composition == "sampled":
            return None
        counts = list(self.counts[g])
        gap = self.keys[g][2]
        if gap:
            counts[self.rare] = self.injected[g] if step % gap == 0 else 0
        return counts

    def tasks(self, g: int, step: int) -> Tensor:
        counts = self.task_counts(g, step)
        if counts is None:
            return torch.multinomial(self.pi[g], self.B, replacement=True, generator=self.generators[g])
        K = len(counts)
        return torch.repeat_interleave(torch.arange(K, device=self.device), torch.tensor(counts, device=self.device))

    def state(self) -> dict[str, Tensor]:
        """Each data key's generator state (``generator{g}``): where the stream stands."""
        return {f"generator{g}": gen.get_state() for g, gen in enumerate(self.generators)}

    def load_state(self, state: dict[str, Tensor]) -> None:
        """Go on from ``state()``'s tensors (KeyError / ValueError: a state of other keys)."""
        load_generators(self.generators, state)

    def next(self, step: int) -> Batch:
        """The batch of 1-based ``step`` (call once per step, in order: the generators advance)."""
        parts = []
        for g, gen in enumerate(self.generators):
            task = self.tasks(g, step)
            x = torch.randn(task.shape[0], self.D, generator=gen, device=self.device)
            parts.append((x, task, torch.full(task.shape, 1.0 / self.B, device=self.device)))
        return pad_batches(parts)


def task_batch(probs: Tensor, n: int, D: int, generator: torch.Generator) -> tuple[Tensor, Tensor, Tensor]:
    """``n`` samples whose tasks are drawn from ``probs`` ([K], zeros allowed): (x, task, weight 1/n)."""
    task = torch.multinomial(probs, n, replacement=True, generator=generator)
    x = torch.randn(n, D, generator=generator, device=probs.device)
    return x, task, torch.full((n,), 1.0 / n, device=probs.device)


def load_generators(generators: list[torch.Generator], state: dict[str, Tensor]) -> None:
    """Set each generator ``g`` from ``state["generator{g}"]`` (a saved ``get_state()``); the names must match."""
    if set(state) != {f"generator{g}" for g in range(len(generators))}:
        raise ValueError(f"{len(state)} generator states for {len(generators)} data streams")
    for g, gen in enumerate(generators):
        value = state[f"generator{g}"]
        if value.dtype != torch.uint8 or value.shape != gen.get_state().shape:
            raise ValueError(f"generator{g}'s state is not a generator state of this device")
        gen.set_state(value.cpu())
