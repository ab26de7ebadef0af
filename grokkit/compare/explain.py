"""The written findings of the comparison page, computed from the numbers, never assumed.

Every sentence states a number read from the sweeps; where a sentence draws a
conclusion (a peak is interior, a count falls, a trend is monotone) it is chosen by
testing that condition on the data, and the opposite wording is used when the test
fails.
"""

from __future__ import annotations

from dataclasses import dataclass

from grokkit.compare.collect import OWN_DIRECTION, ToyCurve, ToySide, TransformerRun
from grokkit.measures.milestones import GROKKED_ACC
from grokkit.toy.summary import test_loss_peak


@dataclass
class MemorisedSummary:
    """The memorised-example count of one transformer run over training."""

    peak: int
    peak_step: int
    final: int
    final_step: int
    half_step: int | None  # first checkpoint after the peak with at most half the peak count
    at_grok: int | None  # count at the last checkpoint at or before the grok step


def memorised_summary(run: TransformerRun) -> MemorisedSummary:
    i = max(range(len(run.memorised)), key=lambda j: run.memorised[j])  # first index of the maximum
    half = next((s for s, c in zip(run.steps[i:], run.memorised[i:]) if c <= run.memorised[i] / 2), None)
    at_grok = None
    if run.grok_step is not None:
        before = [c for s, c in zip(run.steps, run.memorised) if s <= run.grok_step]
        at_grok = before[-1] if before else None
    return MemorisedSummary(run.memorised[i], run.steps[i], run.memorised[-1], run.steps[-1], half, at_grok)


def _pct(part: float, whole: float) -> str:
    return f"{100 * part / whole:.0f} %"


def _leaders(c: ToyCurve) -> dict[str, list[int]]:
    """The T values at which points, features or neither have more vectors with their own direction."""
    out: dict[str, list[int]] = {"points": [], "features": [], "neither": []}
    for po, fo in zip(c.points_own, c.features_own):
        out["points" if po.mean > fo.mean else "features" if fo.mean > po.mean else "neither"].append(po.T)
    return out


def toy_findings(toy: ToySide) -> list[str]:
    c: ToyCurve = toy.base
    name = "" if c.label == "all" else f" ({c.label})"
    peak = test_loss_peak(c.test_loss)
    first, last = c.test_loss[0], c.test_loss[-1]
    out = [
        f"Toy model{name}, n = {toy.n}, {first.count} dataset seed(s) per T: test loss − 1 is "
        f"{first.mean - 1:+.4f} at T = {first.T}, {last.mean - 1:+.4f} at T = {last.T}, and highest at T = {peak.T} "
        f"({peak.loss - 1:+.4f}); "
        + ("an interior peak: the double-descent bump." if peak.interior
           else "the highest value sits at an end of the swept T, so no bump is resolved.")
    ]
    top = max(c.points_own, key=lambda p: p.mean)
    out.append(
        f"Training points with their own direction (D_t ≥ {OWN_DIRECTION:g}): {c.points_own[0].mean:.1f} of "
        f"{c.points_own[0].T} at T = {c.points_own[0].T}, at most {top.mean:.1f} (T = {top.T}), "
        f"{c.points_own[-1].mean:.1f} of {c.points_own[-1].T} at T = {c.points_own[-1].T}. Features with their own "
        f"direction: {c.features_own[0].mean:.1f} at T = {c.features_own[0].T}, {c.features_own[-1].mean:.1f} at "
        f"T = {c.features_own[-1].T}."
    )
    lead = _leaders(c)
    parts = [f"{who} at T = {', '.join(map(str, Ts))}" for who, Ts in
             (("training points", lead["points"]), ("features", lead["features"])) if Ts]
    text = "More vectors with their own direction belong to " + "; to ".join(parts) + "." if parts else ""
    if lead["neither"]:
        text += f" Neither leads at T = {', '.join(map(str, lead['neither']))} (equal counts)."
    out.append(text.strip())
    i = [p.T for p in c.test_loss].index(peak.T)
    po, fo = c.points_own[i].mean, c.features_own[i].mean
    text = f"At the test-loss peak (T = {peak.T}), {po:.1f} training points and {fo:.1f} features have their own direction"
    if po > fo:
        text += ": training points lead there."
    elif fo > po:
        text += ": features lead there."
    elif any(T < peak.T for T in lead["points"]) and any(T > peak.T for T in lead["features"]):
        text += ": the peak lies between the T where training points lead and the T where features lead."
    else:
        text += "."
    out.append(text)
    return out


def transformer_findings(runs: list[TransformerRun]) -> list[str]:
    out = []
    for run in runs:
        s = memorised_summary(run)
        text = f"Transformer, {run.label}: "
        if run.grok_step is None:
            text += (f"test accuracy stayed below {GROKKED_ACC:.0%} up to step {run.final_step} "
                     f"(final {run.test_acc[-1]:.1%}). ")
        else:
            text += f"test accuracy reached {GROKKED_ACC:.0%} at step {run.grok_step}. "
        if not run.key_freqs:
            text += ("No key frequency was found, so nothing is removed and the count is the number of training "
                     f"examples answered correctly: {s.peak} at most (step {s.peak_step}), {s.final} at step "
                     f"{s.final_step}.")
            out.append(text)
            continue
        text += (f"With key frequencies {run.key_freqs} removed, it still answered {s.peak} of {run.n_train} "
                 f"training examples ({_pct(s.peak, run.n_train)}) at the peak (step {s.peak_step}) and "
                 f"{s.final} at step {s.final_step}; chance is {run.chance:.0f}. ")
        if s.half_step is None:
            text += "The count never fell to half its peak."
        else:
            text += f"The count fell to half its peak by step {s.half_step}"
            if run.grok_step is not None:
                gap = s.half_step - run.grok_step
                text += (f", {abs(gap)} steps {'before' if gap < 0 else 'after'} the {GROKKED_ACC:.0%} test accuracy"
                         if gap else f", at the step test accuracy reached {GROKKED_ACC:.0%}")
            text += "."
            if s.final > s.peak / 2:
                text += f" It rose again to {s.final} by step {s.final_step}, {s.final / run.chance:.1f}× chance."
        out.append(text)
    return out


def comparison_findings(toy: ToySide, runs: list[TransformerRun]) -> list[str]:
    out = []
    sizes = sorted({r.n_train for r in runs})
    mean = {n: sum(r.final_test_loss for r in runs if r.n_train == n) / sum(r.n_train == n for r in runs)
            for n in sizes}
    ends = sorted({r.final_step for r in runs})
    when = f"at step {ends[0]}" if len(ends) == 1 else f"at each run's last evaluation (steps {ends[0]}–{ends[-1]})"
    text = (f"Test loss against training-set size: the transformer's test loss {when} is "
            + ", ".join(f"{mean[n]:.3g} at n_train {n}" for n in sizes) + ". ")
    if len(sizes) >= 2:
        falling = all(mean[a] > mean[b] for a, b in zip(sizes, sizes[1:]))
        text += ("It falls with every larger training set (no bump over the sizes swept). " if falling else
                 f"It is not monotone in the training-set size; it is highest at n_train {max(sizes, key=mean.get)}. ")
    grokked = [r.n_train for r in runs if r.grok_step is not None]
    not_grokked = [r.n_train for r in runs if r.grok_step is None]
    if grokked and not_grokked:
        text += (f"Every run from n_train {min(grokked)} up reached {GROKKED_ACC:.0%} test accuracy and none below it. "
                 if max(not_grokked) < min(grokked) else
                 f"Runs reached {GROKKED_ACC:.0%} test accuracy at n_train {sorted(grokked)} but not at "
                 f"{sorted(not_grokked)}: no clean size threshold. ")
    elif runs:
        text += f"{'Every' if grokked else 'No'} run reached {GROKKED_ACC:.0%} test accuracy. "
    peak = test_loss_peak(toy.base.test_loss)
    out.append(text + f"The toy model's test loss is highest at T = {peak.T}"
               + (" (an interior peak)." if peak.interior else " (an end of the swept range)."))
    if len(sizes) >= 2:
        share = {n: sum(memorised_summary(r).peak / r.n_train for r in runs if r.n_train == n)
                 / sum(r.n_train == n for r in runs) for n in sizes}
        falling = all(share[a] > share[b] for a, b in zip(sizes, sizes[1:]))
        out.append("Peak share of the training set the transformer answers correctly without its key frequencies "
                   "(everything it answers correctly, for a run without key frequencies), by training-set size: "
                   + ", ".join(f"{100 * share[n]:.0f} % of {n}" for n in sizes) + "; "
                   + ("it falls with every larger training set." if falling else
                      "it does not fall monotonically with size."))
        c = toy.base
        toy_falls = (c.points_own[-1].mean < max(p.mean for p in c.points_own)
                     and c.points_own[-1].mean < c.features_own[-1].mean)
        if falling and toy_falls:
            out.append("Both models hold fewer training examples individually as the training set grows: at the "
                       f"largest T ({c.points_own[-1].T}) fewer training points than features have their own "
                       "direction in the toy model, and the transformer's peak share of memorised examples falls "
                       "with n_train.")
        elif falling != toy_falls:
            which, other = ("the transformer", "toy model") if falling else ("the toy model", "transformer")
            out.append(f"Only {which} holds fewer training examples individually as the training set grows in "
                       f"these sweeps; the {other} does not, so the sweeps show no shared trend.")
        else:
            out.append("Neither model holds fewer training examples individually as the training set grows in these "
                       "sweeps.")
    measured = [r for r in runs if r.key_freqs]
    dropped = [r for r in measured if memorised_summary(r).half_step is not None]
    if measured:
        out.append(
            f"Over training, {len(dropped)} of {len(measured)} transformer runs with key frequencies dropped "
            "at least half of their memorised examples after the peak"
            + (f" ({', '.join(r.label for r in dropped)})" if dropped else "")
            + ". The toy sweep shows memorisation across training-set sizes only (one trained model per T); the "
            "transformer sweep also shows it across training time within one training set."
        )
    return out
