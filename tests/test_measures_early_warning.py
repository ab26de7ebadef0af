"""The early-warning measures that need no test data: the weights' power-law exponent α (htsr_alpha)
and the spectral signature of the training-loss curve (loss_spectrum)."""

from __future__ import annotations

import math

import pytest
import torch
from conftest import cli, tiny_run, tiny_toml, write_spec

from grokkit.measures.htsr import eigenvalues, fit_power_law
from grokkit.measures.loss_spectrum import spectrum
from grokkit.measures.registry import MEASURES
from grokkit.run import Run


@pytest.mark.parametrize("alpha", [2.0, 3.0, 4.5])
def test_the_power_law_fit_recovers_the_exponent_of_pareto_samples(alpha):
    g = torch.Generator().manual_seed(int(alpha * 10))
    u = torch.rand(2000, generator=g, dtype=torch.float64)
    x = (1 - u) ** (-1 / (alpha - 1))  # density ∝ x^-alpha above 1
    fit = fit_power_law(x.sort().values)
    assert abs(fit.alpha - alpha) / alpha < 0.08 and fit.tail >= 5


def test_a_heavy_tailed_matrix_has_a_smaller_alpha_than_a_gaussian_one():
    torch.manual_seed(0)
    gauss = fit_power_law(eigenvalues(torch.randn(512, 128))).alpha
    heavy = fit_power_law(eigenvalues(torch.distributions.StudentT(1.5).sample((512, 128)))).alpha
    assert heavy < 3 < gauss


def test_eigenvalues_are_the_squared_singular_values_over_the_larger_side():
    W = torch.randn(40, 20, dtype=torch.float64)
    expected = torch.linalg.eigvalsh(W.T @ W / 40)
    assert torch.allclose(eigenvalues(W), expected) and torch.allclose(eigenvalues(W.T), expected)


def test_the_loss_spectrum_is_the_variance_by_parseval_and_reads_a_slow_oscillation_as_low_frequency():
    steps = list(range(0, 400, 4))
    t = torch.tensor(steps, dtype=torch.float64)
    slow = (torch.sin(2 * math.pi * t / 400) + 2).tolist()  # one period over the curve
    fast = (torch.sin(2 * math.pi * t / 10) + 2).tolist()  # 40 periods
    s_slow, s_fast = spectrum(steps, slow), spectrum(steps, fast)
    assert s_slow.loss_spectrum_low > 10 * s_fast.loss_spectrum_low
    variance = torch.tensor(slow, dtype=torch.float64).var(unbiased=False).item()
    assert math.isclose(s_slow.loss_hjorth_activity, variance, rel_tol=1e-9)
    assert spectrum([0, 1, 2], [1.0, 2.0, 3.0]).loss_spectrum_low is None  # too few points


def test_a_log_spaced_curve_is_read_on_an_even_grid():
    line = lambda s: 5.0 - s / 100  # noqa: E731: a straight line reads the same from any sampling
    even = list(range(0, 1001, 10))
    log = sorted({0, *(round(1000 ** (i / 100)) for i in range(101))})[:101]
    a = spectrum(even, [line(s) for s in even])
    b = spectrum(log, [line(s) for s in log])
    assert math.isclose(a.loss_hjorth_activity, b.loss_hjorth_activity, rel_tol=0.02)


def test_both_are_registered_and_measured_on_two_trained_models(tmp_path, capsys):
    assert {"htsr_alpha", "loss_spectrum"} <= MEASURES.keys()
    spec = write_spec(tmp_path, tiny_toml(train={"steps": 40, "eval_every": 4, "checkpoint_every": 20,
                                                 "device": "cpu"}))
    assert cli(capsys, "train", spec, "--out", tmp_path / "run", "--no-progress").code == 0
    for path in (tmp_path / "run", tiny_run().path):
        target = path
        if path != tmp_path / "run":  # the shared run is read-only: measure a copy
            import shutil

            target = tmp_path / "shared"
            shutil.copytree(path, target)
        result = cli(capsys, "measure", target, "--measures", "htsr_alpha,loss_spectrum", "--no-progress")
        assert result.code == 0, result.err
        rows = Run(target).measures()
        last = rows[-1]
        assert math.isfinite(last["htsr_alpha"]) and last["htsr_alpha"] > 0
        per = last["htsr_alpha_per_matrix"]
        assert "W_pos" not in per and {"W_in", "W_out"} <= per.keys()  # W_E, W_U: under MIN_EIGS rows at p = 13
        assert last["htsr_alpha"] == pytest.approx(sum(per.values()) / len(per))
    rows = Run(tmp_path / "run").measures()
    assert rows[0]["loss_spectrum_low"] is None  # step 0: one logged loss, no spectrum
    assert rows[-1]["loss_spectrum_low"] > 0 and rows[-1]["loss_hjorth_activity"] > 0
