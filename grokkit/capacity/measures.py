"""The study's measures, per member and task, and the callback that takes them during training.

- normalised loss ℓ_k / ℓ_k(mean predictor): the exact expected MSE (``model.task_losses``) over
  Σ_j λ_{k,j} / d_T, the mean predictor's (the targets have mean 0);
- subspace signal s_k = Tr(P_W C_k) / Tr(C_k), P_W = Wᵀ(WWᵀ)⁻¹W the projector onto W's row space;
  C_k is diagonal (λ_{k,j} on block k), so only diag(P_W) is needed. Normalised against a random
  N-dimensional projection (E s_k = N/D): s̃_k = (s_k − N/D) / (1 − N/D) (NaN at N = D);
- δ_F = Σ_{k∈F} π_k (1 − s_k) ‖a_k‖², ‖a_k‖² = Tr C_k;
- interference: cosine between the encoder gradients of a batch of the rare task and a batch of the
  frequent set F (tasks drawn ∝ π within F), both from a measurement generator of the member's data
  key (training's batches are untouched); ``interference_expected`` is the same cosine between the
  exact expected gradients (no sampling noise);
- injection: s̃_r just before and just after each injection step, whence the gain per injection
  (after − before) and the decay between injections (after one − before the next; > 0: it fell).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from grokkit.capacity.callbacks import StackCallback
from grokkit.capacity.config import MeasureConfig, Member, MixtureConfig
from grokkit.capacity.data import data_keys, load_generators, pad_batches, task_batch
from grokkit.capacity.mixture import frequencies, frequent_set
from grokkit.capacity.model import CapacityModels, task_losses
from grokkit.data.seeds import derive_seed


def projector_diagonal(W: Tensor, widths: list[int]) -> Tensor:
    """diag(P_W) of each member, ``[I, D]`` float64, from W ``[I, N_max, D]`` whose rows past N_i are zero.

    P_W = Wᵀ G⁻¹ W with G = WWᵀ; a padded row gets 1 on G's diagonal (it meets only zeros in W),
    so G stays invertible and the padded rows add nothing: diag(P_W) = Σ_n (L⁻¹W)²_{n,:} with G = LLᵀ.
    """
    W = W.detach().double()
    n_max = W.shape[1]
    pad = torch.arange(n_max, device=W.device)[None, :] >= torch.tensor(widths, device=W.device)[:, None]
    gram = torch.bmm(W, W.transpose(1, 2)) + torch.diag_embed(pad.double())
    L, info = torch.linalg.cholesky_ex(gram)
    if bool((info != 0).any()):  # a collapsed row: the row space is smaller than N; use the pseudo-inverse
        P = W.transpose(1, 2) @ torch.linalg.pinv(gram, hermitian=True) @ W
        return torch.diagonal(P, dim1=1, dim2=2)
    Z = torch.linalg.solve_triangular(L, W, upper=False)  # [I, N_max, D]
    return Z.pow(2).sum(1)


def subspace_signal(diag_P: Tensor, lam: Tensor) -> Tensor:
    """s_k = Σ_j λ_{k,j} (P_W)_{block k, j} / Σ_j λ_{k,j}: ``[I, K]`` from diag(P_W) ``[I, D]`` and λ ``[K, d_T]``."""
    K, d_T = lam.shape
    lam = lam.to(diag_P)
    return (diag_P[:, : K * d_T].view(-1, K, d_T) * lam).sum(2) / lam.sum(1)


def normalised_signal(s: Tensor, widths: list[int], D: int) -> Tensor:
    """s̃_k = (s_k − N/D) / (1 − N/D), per member's own N: 0 for a random subspace, 1 for the task's own."""
    chance = torch.tensor([N / D for N in widths], dtype=s.dtype, device=s.device)[:, None]
    return torch.where(chance < 1, (s - chance) / (1 - chance).clamp_min(1e-300), torch.full_like(s, math.nan))


def delta_F(s: Tensor, pi: Tensor, lam: Tensor, F: list[int]) -> Tensor:
    """δ_F = Σ_{k∈F} π_k (1 − s_k) ‖a_k‖²: ``[I]`` from s ``[I, K]``, π ``[I, K]``, λ ``[K, d_T]``."""
    norm2 = lam.sum(1).to(s)  # ‖a_k‖² = Tr C_k
    idx = torch.tensor(F, dtype=torch.long, device=s.device)
    return (pi[:, idx].to(s) * (1 - s[:, idx]) * norm2[idx]).sum(1)


def normalised_losses(models: CapacityModels) -> Tensor:
    """ℓ_k / ℓ_k(mean predictor): ``[I, K]`` float64."""
    with torch.no_grad():
        losses = models.task_losses().double()
    lam = models.sqrt_lam.double().pow(2)
    return losses / (lam.sum(1) / lam.shape[1])


def _cosine(a: Tensor, b: Tensor) -> Tensor:
    a, b = a.flatten(1).double(), b.flatten(1).double()
    return (a * b).sum(1) / (a.norm(dim=1) * b.norm(dim=1)).clamp_min(1e-300)


def batch_interference(models: CapacityModels, rare: tuple[Tensor, Tensor, Tensor],
                       frequent: tuple[Tensor, Tensor, Tensor]) -> Tensor:
    """Cosine of the encoder gradients of two batches (each ``[I, B, …]`` x, task, weight): ``[I]``."""
    grads = []
    for x, task, weight in (rare, frequent):
        W = models.W.detach().clone().requires_grad_(True)
        loss = models.batch_loss(x, task, weight, W=W, decoders=models.decoders.detach())
        (grad,) = torch.autograd.grad(loss.sum(), W)
        grads.append(grad)
    return _cosine(*grads)


def expected_interference(models: CapacityModels, pi: Tensor, rare: int, F: list[int]) -> Tensor:
    """Cosine of the exact expected encoder gradients of ℓ_r and of Σ_{k∈F} π_k ℓ_k: ``[I]``."""
    W = models.W.detach().clone().requires_grad_(True)
    losses = task_losses(W, models.decoders.detach(), models.sqrt_lam)  # [I, K]
    idx = torch.tensor(F, dtype=torch.long, device=W.device)
    (g_rare,) = torch.autograd.grad(losses[:, rare].sum(), W, retain_graph=True)
    (g_freq,) = torch.autograd.grad((losses[:, idx] * pi[:, idx]).sum(), W)
    return _cosine(g_rare, g_freq)


class StudyRecorder(StackCallback):
    """Takes the measures every ``eval_every`` steps (and at 0 and the end), and s̃_r around each injection.

    ``rows``: one per member and measurement; ``injections``: one per member and injection step.
    """

    def __init__(self, members: list[Member], mix: MixtureConfig, cfg: MeasureConfig, steps: int, device: str = "cpu"):
        self.members, self.mix, self.cfg, self.steps, self.device = members, mix, cfg, steps, device
        self.widths = [m.N for m in members]
        self.pi = torch.stack([frequencies(mix.K, m.beta) for m in members]).to(device)  # [I, K] float64
        self.F = {m.beta: frequent_set(frequencies(mix.K, m.beta), mix.frequent_mass) for m in members}
        self.keys, key_of = data_keys(members)
        self.key_index = torch.tensor(key_of, device=device)
        self.generators = []
        for seed, beta, gap in self.keys:
            gen = torch.Generator(device=device)
            gen.manual_seed(derive_seed("capacity-measure", seed, float(beta), gap, mix.K, mix.d_T, mix.dim))
            self.generators.append(gen)
        self.lam: Tensor | None = None  # [K, d_T] float64, the models' spectra (set on_start)
        self.rows: list[dict] = []
        self.injections: list[dict] = []
        self._before: dict[int, float] = {}

    def signals(self, models: CapacityModels) -> tuple[Tensor, Tensor]:
        """(s, s̃), each ``[I, K]``."""
        s = subspace_signal(projector_diagonal(models.W, self.widths), self.lam)
        return s, normalised_signal(s, self.widths, self.mix.dim)

    def interference_batches(self) -> tuple[tuple, tuple]:
        """One rare-task batch and one frequent-set batch per data key, indexed out to members."""
        rare, freq = [], []
        n, D = self.cfg.interference_batch, self.mix.dim
        for g, (_, beta, _) in enumerate(self.keys):
            pi = frequencies(self.mix.K, beta)
            only_rare = torch.zeros_like(pi)
            only_rare[self.mix.rare] = 1.0
            in_F = torch.zeros_like(pi)
            in_F[self.F[beta]] = pi[self.F[beta]]
            rare.append(task_batch(only_rare.float().to(self.device), n, D, self.generators[g]))
            freq.append(task_batch((in_F / in_F.sum()).float().to(self.device), n, D, self.generators[g]))
        out = []
        for parts in (rare, freq):
            batch = pad_batches(parts)
            out.append((batch.x[self.key_index], batch.task[self.key_index], batch.weight[self.key_index]))
        return out[0], out[1]

    def expected_interference(self, models: CapacityModels) -> Tensor:
        """``[I]``: per β (F depends on it), the cosine of the exact expected gradients."""
        out = torch.empty(len(self.members), dtype=torch.float64)
        for beta in sorted({m.beta for m in self.members}):
            idx = [i for i, m in enumerate(self.members) if m.beta == beta]
            sub = models.select(idx) if len(idx) < len(self.members) else models
            out[idx] = expected_interference(sub, self.pi[idx].to(models.W.dtype), self.mix.rare, self.F[beta]).cpu()
        return out

    def measure(self, step: int, models: CapacityModels, train_loss: Tensor | None) -> None:
        s, s_tilde = self.signals(models)
        loss_norm = normalised_losses(models)
        cos = batch_interference(models, *self.interference_batches())
        cos_expected = self.expected_interference(models)
        for i, member in enumerate(self.members):
            d_F = float(delta_F(s[i : i + 1], self.pi[i : i + 1], self.lam, self.F[member.beta])[0])
            self.rows.append({"member": i, "N": member.N, "seed": member.seed, "beta": member.beta, "gap": member.gap,
                              "step": step, "loss_norm": loss_norm[i].tolist(), "s": s[i].tolist(),
                              "s_tilde": s_tilde[i].tolist(), "delta_F": d_F, "interference": float(cos[i]),
                              "interference_expected": float(cos_expected[i]),
                              "train_loss": None if train_loss is None else float(train_loss[i])})

    def on_start(self, models: CapacityModels, step: int = 0) -> None:
        self.lam = models.sqrt_lam.double().pow(2)
        if step == 0:  # a resumed study measured its step already, before it stopped
            self.measure(0, models, None)

    def state(self) -> dict[str, Tensor]:
        """The measurement generators' states (the interference batches go on as in one long run)."""
        return {f"generator{g}": gen.get_state() for g, gen in enumerate(self.generators)}

    def load_state(self, state: dict[str, Tensor], rows: list[dict], injections: list[dict]) -> None:
        """Go on from ``state()``'s tensors and the rows measured so far (ValueError: a state of other keys)."""
        load_generators(self.generators, state)
        self.rows, self.injections = list(rows), list(injections)

    def _injecting(self, step: int) -> list[int]:
        return [i for i, m in enumerate(self.members) if m.gap and step % m.gap == 0]

    def before_step(self, step: int, models: CapacityModels) -> None:
        who = self._injecting(step)
        if who:
            s_tilde = self.signals(models)[1][:, self.mix.rare]
            self._before = {i: float(s_tilde[i]) for i in who}

    def after_step(self, step: int, models: CapacityModels, loss: Tensor) -> None:
        who = self._injecting(step)
        if who:
            s_tilde = self.signals(models)[1][:, self.mix.rare]
            for i in who:
                member = self.members[i]
                self.injections.append({"member": i, "N": member.N, "seed": member.seed, "beta": member.beta,
                                        "gap": member.gap, "step": step, "before": self._before[i],
                                        "after": float(s_tilde[i])})
        if step % self.cfg.eval_every == 0 or step == self.steps:
            self.measure(step, models, loss)


def injection_summary(injections: list[dict]) -> list[dict]:
    """Per member: the mean gain in s̃_r at an injection (after − before), the mean decay between consecutive
    injections (s̃_r just after one minus just before the next: > 0 when the signal fell), and their count."""
    by_member: dict[int, list[dict]] = {}
    for row in injections:
        by_member.setdefault(row["member"], []).append(row)
    out = []
    for member, rows in sorted(by_member.items()):
        rows = sorted(rows, key=lambda r: r["step"])
        gains = [r["after"] - r["before"] for r in rows]
        decays = [a["after"] - b["before"] for a, b in zip(rows, rows[1:])]  # fall from one injection to the next
        out.append({key: rows[0][key] for key in ("member", "N", "seed", "beta", "gap")}
                   | {"injections": len(rows), "gain": sum(gains) / len(gains),
                      "decay": sum(decays) / len(decays) if decays else None})
    return out
