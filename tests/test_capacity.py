"""The capacity study's mathematics: the mixture, Theorem 3 against brute force, the measures' identities."""

from __future__ import annotations

import itertools
import pytest
import torch

from grokkit.capacity.config import Member, MixtureConfig
from grokkit.capacity.measures import (delta_F, normalised_signal, projector_diagonal, subspace_signal)
from grokkit.capacity.mixture import batch_counts, frequencies, frequent_set, spectra
from grokkit.capacity.model import CapacityModels, task_losses
from grokkit.capacity.theory import mixture_theory


def test_frequencies_spectra_and_the_frequent_set():
    pi = frequencies(4, 1.0)
    assert torch.allclose(pi, torch.tensor([12, 6, 4, 3], dtype=torch.float64) / 25)
    assert frequent_set(pi, 0.8) == [0, 1, 2]  # 0.88 >= 0.8, while 0.72 is not
    assert frequent_set(pi, 0.72) == [0, 1]
    lam = spectra([2.0, 1.0], 3)
    assert torch.allclose(lam, torch.tensor([[1, 1 / 4, 1 / 9], [1, 1 / 2, 1 / 3]], dtype=torch.float64))


def test_fixed_batches_split_by_largest_remainders():
    pi = frequencies(4, 1.0)  # B·π = 12.48, 6.24, 4.16, 3.12 at B = 26
    assert batch_counts(pi, 26) == [13, 6, 4, 3]
    assert sum(batch_counts(frequencies(32, 2.0), 1000)) == 1000


SMALL = MixtureConfig(K=3, d_T=2, beta=1.0, alpha=1.5)  # utilities without ties


def test_theorem3_staircase_is_the_sorted_utilities():
    theory = mixture_theory(SMALL, 1.0)
    u = theory.u
    # (1,1) .545 > (2,1) .273 > (1,2) .193 > (3,1) .182 > (2,2) .096 > (3,2) .064
    assert theory.ranks.tolist() == [[1, 3], [2, 5], [4, 6]]
    assert theory.first_width == [1, 2, 4]
    for N in range(1, 7):
        opt = theory.optimum(N)
        assert opt.kept.sum() == N
        top = u.flatten().sort(descending=True).values[:N].sum()
        assert opt.total == pytest.approx(float(u.sum() - top))  # Tr M − Tr(Uᵀ M U) at the top-N directions


def test_theorem3_optimum_against_brute_force():
    """Every N-subset of coordinates, random subspaces, and a directly optimised model never beat the theory."""
    theory = mixture_theory(SMALL, 1.0)
    M = torch.diag(theory.u.flatten())  # Σ π_k C_k, blocks in task order
    D = M.shape[0]
    gen = torch.Generator().manual_seed(0)
    for N in range(1, D):
        best = max(float(M.diagonal()[list(c)].sum()) for c in itertools.combinations(range(D), N))
        captured = float(torch.trace(M)) - theory.optimum(N).total
        assert best == pytest.approx(captured)
        for _ in range(200):
            U = torch.linalg.qr(torch.randn(D, N, generator=gen, dtype=torch.float64)).Q
            assert float(torch.trace(U.T @ M @ U)) <= captured + 1e-12
    # the model's own loss, minimised directly (Adam, no weight decay) from 8 inits at once (a stack), at N = 3
    N, inits = 3, 8
    opt = theory.optimum(N)
    g = torch.Generator().manual_seed(0)
    W = torch.randn(inits, N, D, generator=g, dtype=torch.float64).requires_grad_(True)
    dec = torch.randn(inits, N, D, generator=g, dtype=torch.float64).requires_grad_(True)
    adam = torch.optim.Adam([W, dec], lr=0.03)
    for _ in range(600):
        adam.zero_grad()
        total = (task_losses(W, dec, theory.lam.sqrt()) * theory.pi).sum(1)
        total.sum().backward()
        adam.step()
    lbfgs = torch.optim.LBFGS([W, dec], max_iter=500, tolerance_grad=1e-12, tolerance_change=1e-15,
                              line_search_fn="strong_wolfe")

    def closure():
        lbfgs.zero_grad()
        loss = (task_losses(W, dec, theory.lam.sqrt()) * theory.pi).sum()
        loss.backward()
        return loss

    lbfgs.step(closure)
    with torch.no_grad():
        losses = task_losses(W, dec, theory.lam.sqrt())  # [inits, K], per-output MSE: ℓ_k = loss_k / d_T
        total = (losses * theory.pi).sum(1)
    best = int(total.argmin())
    assert float(total[best]) * SMALL.d_T == pytest.approx(opt.total, abs=1e-6)
    assert torch.allclose(losses[best] * SMALL.d_T, opt.loss, atol=1e-4)


def test_learned_and_critical_widths():
    rank1 = MixtureConfig(K=6, d_T=1, beta=2.0)
    theory = mixture_theory(rank1, 2.0)
    assert theory.learned_width() == [1, 2, 3, 4, 5, 6]  # rank-1 tasks: task k from width k
    F = theory.F
    assert F == [0, 1]  # π = .68, .17, … reaches 0.8 with two tasks
    # Proposition 6: task r displaces frequent directions once the N-th eigenvalue of M_F is at most π_r;
    # M_F has rank |F| = 2 here, so every rare task is kept from N = 3
    assert [theory.critical_width(r) for r in range(6)] == [None, None, 3, 3, 3, 3]
    wide = mixture_theory(MixtureConfig(K=3, d_T=4, beta=1.0, alpha=1.0), 1.0)
    assert wide.F == [0, 1]
    mu = wide.frequent_eigenvalues()
    N = wide.critical_width(2)
    assert mu[N - 1] <= wide.pi[2] * 1.0 < mu[N - 2]


def test_signal_of_a_known_subspace():
    mix = MixtureConfig(K=3, d_T=4, alpha=1.0)
    lam = spectra(mix.task_alphas(), mix.d_T)
    gen = torch.Generator().manual_seed(1)
    # rows spanning coordinates 0 and 1 of task 1's block (mixed and scaled: only the row space counts),
    # plus a zero padding row
    basis = torch.eye(mix.dim, dtype=torch.float64)[[0, 1]]
    mixing = torch.tensor([[2.0, 1.0], [0.5, -3.0]], dtype=torch.float64)
    W = torch.zeros(1, 3, mix.dim, dtype=torch.float64)
    W[0, :2] = mixing @ basis
    diag = projector_diagonal(W, [2])
    s = subspace_signal(diag, lam)
    total = lam[0].sum()
    assert torch.allclose(s[0], torch.tensor([float((lam[0, 0] + lam[0, 1]) / total), 0.0, 0.0], dtype=torch.float64))
    s_tilde = normalised_signal(s, [2], mix.dim)
    chance = 2 / mix.dim
    assert float(s_tilde[0, 0]) == pytest.approx((float(s[0, 0]) - chance) / (1 - chance))
    # a random N-dimensional subspace captures N/D of every task on average: s̃ ≈ 0
    N, draws = 4, 400
    W = torch.randn(draws, N, mix.dim, generator=gen, dtype=torch.float64)
    s = subspace_signal(projector_diagonal(W, [N] * draws), lam)
    assert float(s.mean()) == pytest.approx(N / mix.dim, abs=0.01)
    # the task's whole block: s = 1, s̃ = 1
    W = torch.eye(mix.dim, dtype=torch.float64)[None, 4:8]
    s = subspace_signal(projector_diagonal(W, [4]), lam)
    assert float(s[0, 1]) == pytest.approx(1.0) and float(normalised_signal(s, [4], mix.dim)[0, 1]) == pytest.approx(1.0)
    pi = frequencies(3, 1.0)[None]
    assert float(delta_F(s, pi, lam, [0, 1])[0]) == pytest.approx(float(pi[0, 0] * lam[0].sum()))


def test_expected_loss_is_the_mean_of_sampled_losses():
    mix = MixtureConfig(K=3, d_T=2, beta=1.0)
    models = CapacityModels.init([Member(2, 0, 1.0), Member(4, 1, 1.0)], mix)
    exact = models.task_losses()  # [2, K]
    gen = torch.Generator().manual_seed(3)
    n = 200_000
    for k in range(mix.K):
        x = torch.randn(n, mix.dim, generator=gen).expand(2, -1, -1)
        task = torch.full((2, n), k)
        sampled = models.batch_loss(x, task, torch.full((2, n), 1.0 / n))
        assert torch.allclose(sampled, exact[:, k], rtol=0.02), (k, sampled, exact[:, k])


def test_a_tie_of_utilities_marks_the_optimum_ambiguous():
    """β = α/2 … here β = 1, α = 2: u(1, 2) = π_1/4 = u(4, 1), so at N = 4 either direction is optimal."""
    theory = mixture_theory(MixtureConfig(K=4, d_T=2, beta=1.0, alpha=2.0), 1.0)
    opt = theory.optimum(4)
    assert opt.tied and opt.ambiguous.tolist() == [True, False, False, True]
    assert not theory.optimum(3).tied and not theory.optimum(3).ambiguous.any()


def test_injection_summary_gain_and_decay():
    from grokkit.capacity.measures import injection_summary

    rows = [{"member": 0, "N": 4, "seed": 0, "beta": 2.0, "gap": 8, "step": 8 * i, "before": b, "after": a}
            for i, (b, a) in enumerate([(0.0, 0.3), (0.1, 0.4), (0.3, 0.5)], start=1)]
    (summary,) = injection_summary(rows)
    assert summary["injections"] == 3
    assert summary["gain"] == pytest.approx((0.3 + 0.3 + 0.2) / 3)
    assert summary["decay"] == pytest.approx(((0.3 - 0.1) + (0.4 - 0.3)) / 2)  # it fell between injections
