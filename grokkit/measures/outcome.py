"""How a run ended, as one word: not fitted, memorised, semi-grokked, unsettled, grokked or ungrokked.

Every threshold is here, and ``info``, the report and sweep results (the ``outcome`` column)
all call ``classify``, so a run has one outcome wherever it is shown. Read from the metrics
rows only (train and test accuracy per evaluation), in this order:

1. **not fitted**: the last row's train accuracy is below ``GROKKED_ACC`` (0.99).
2. **grokked**: the last row's test accuracy is ≥ ``GROKKED_ACC``.
3. **ungrokked**: an earlier row's test accuracy reached ``GROKKED_ACC`` and the last row's is below
   ``LOST_BELOW`` (0.9): grokked, then lost (Varma et al. 2023 train a grokked network further on a
   dataset below the critical size; ``grokkit resume RUN --set task.frac_train=F``). A grokked run
   that only dips between 0.9 and 0.99 stays grokked.
4. The *settled window* is the rows of the last ``SETTLE_SHARE`` (25 %) of the steps (at least the
   last two rows); its mean test accuracy is the settled accuracy and max − min its spread.
   **memorised**: the settled test accuracy is below ``SEMI_BOUNDS[0]`` (0.2).
5. **semi-grokked**: the settled test accuracy lies in ``SEMI_BOUNDS`` = [0.2, 0.99) and its spread is
   at most ``SETTLED_SPREAD`` (0.1): test accuracy rose part way and stayed there (Varma et al. 2023's
   semi-grokking, near the critical dataset size).
6. **unsettled**: in those bounds but still moving (spread above 0.1): train longer to tell.

Varma, Shah, Kenton, Kramár, Kumar 2023, "Explaining grokking through circuit efficiency".
"""

from __future__ import annotations

from typing import Any, Iterable, NamedTuple

from grokkit.measures.milestones import GROKKED_ACC

LOST_BELOW = 0.9
"""A run that grokked and whose last test accuracy is below this has ungrokked."""
SEMI_BOUNDS = (0.2, GROKKED_ACC)
"""Settled test accuracy in [low, high): semi-grokked; below low: memorised."""
SETTLED_SPREAD = 0.1
"""Largest max − min of test accuracy over the settled window for a run to count as settled."""
SETTLE_SHARE = 0.25
"""The settled window: the rows of the last quarter of the steps a run logged."""
OUTCOMES = ("not fitted", "memorised", "semi-grokked", "unsettled", "grokked", "ungrokked")


class Outcome(NamedTuple):
    """A run's outcome and the numbers it was read from."""

    outcome: str  # one of OUTCOMES
    final_train_acc: float
    final_test_acc: float
    best_test_acc: float
    settled_test_acc: float  # mean test accuracy over the settled window
    settled_spread: float  # max − min test accuracy over the settled window
    window: tuple[int, int]  # first and last step of the settled window

    def describe(self) -> str:
        """One line for ``info`` and the report."""
        a, b = self.window
        settled = f"test acc {self.settled_test_acc:.1%} ± {self.settled_spread / 2:.1%} over steps {a}–{b}"
        why = {
            "not fitted": f"train acc {self.final_train_acc:.1%} < {GROKKED_ACC:.0%} at the end",
            "grokked": (f"test acc {self.final_test_acc:.1%} ≥ {GROKKED_ACC:.0%} at the end"
                        if self.final_test_acc >= GROKKED_ACC else
                        f"test acc reached {self.best_test_acc:.1%}, {self.final_test_acc:.1%} at the end "
                        f"(≥ {LOST_BELOW:.0%}: a dip, not lost)"),
            "ungrokked": f"test acc reached {self.best_test_acc:.1%}, then fell to {self.final_test_acc:.1%} "
                         f"(< {LOST_BELOW:.0%})",
            "memorised": f"{settled} (< {SEMI_BOUNDS[0]:.0%})",
            "semi-grokked": f"{settled}, settled between {SEMI_BOUNDS[0]:.0%} and {SEMI_BOUNDS[1]:.0%}",
            "unsettled": f"{settled}: still moving (spread > {SETTLED_SPREAD:.0%}); train longer to tell",
        }[self.outcome]
        return f"{self.outcome}: {why}"


def classify(rows: Iterable[dict[str, Any]]) -> Outcome | None:
    """The outcome of metrics rows (``step``, ``train_acc``, ``test_acc``) by the rules of the module
    docstring; None without a row that has both accuracies."""
    rows = sorted((r for r in rows if r.get("train_acc") is not None and r.get("test_acc") is not None),
                  key=lambda r: r["step"])
    if not rows:
        return None
    last = rows[-1]
    start = last["step"] * (1 - SETTLE_SHARE)
    window = [r for r in rows if r["step"] >= start]
    if len(window) < 2:
        window = rows[-2:]
    test = [r["test_acc"] for r in window]
    settled, spread = sum(test) / len(test), max(test) - min(test)
    best = max(r["test_acc"] for r in rows)
    if last["train_acc"] < GROKKED_ACC:
        outcome = "not fitted"
    elif last["test_acc"] >= GROKKED_ACC:
        outcome = "grokked"
    elif best >= GROKKED_ACC and last["test_acc"] < LOST_BELOW:
        outcome = "ungrokked"
    elif best >= GROKKED_ACC:
        outcome = "grokked"  # a dip between LOST_BELOW and GROKKED_ACC
    elif settled < SEMI_BOUNDS[0]:
        outcome = "memorised"
    elif spread <= SETTLED_SPREAD:
        outcome = "semi-grokked"
    else:
        outcome = "unsettled"
    return Outcome(outcome, last["train_acc"], last["test_acc"], best, settled, spread,
                   (window[0]["step"], window[-1]["step"]))
