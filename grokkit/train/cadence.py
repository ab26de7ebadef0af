"""When a run evaluates and when it checkpoints: evenly spaced (the default) or log-spaced steps.

- ``even`` (``train.eval_every``, ``train.checkpoint_every``): every k-th step, and the last.
- ``log`` (``train.eval_count``, ``train.checkpoint_count``): ``count`` distinct steps from 0 to
  ``train.steps`` spaced evenly in log(step), as Chughtai et al. keep ~1 000 log-spaced
  checkpoints of runs of 10⁶ steps and more. Early steps, where the loss changes fastest, are
  dense (one a step at first); late ones sparse (a 10⁶-step run with 300 checkpoints keeps
  one every ~45 000 steps at the end).

``log_steps(steps, count)`` builds the list: step 0, step 1, then each next step is the previous
one times the ratio that would spread the remaining ones evenly in log up to ``steps``, rounded,
and at least one more than the previous (so no step repeats, and the last is ``steps``)::

    s_0 = 0, s_1 = 1,  s_{i+1} = clamp(round(s_i · (steps / s_i)^(1 / r_i)), s_i + 1, steps − r_i + 1)

with r_i the steps still to place. With ``count ≥ steps + 1`` every step is kept.
A run extended by ``grokkit resume --steps`` follows the schedule of its new step count from then on.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

CADENCES = ("even", "log")  # train.eval_schedule and train.checkpoint_schedule


def log_steps(steps: int, count: int) -> list[int]:
    """``min(count, steps + 1)`` distinct steps from 0 to ``steps`` (both included), log-spaced (module docstring)."""
    if steps < 0 or count < 2:
        raise ValueError(f"log_steps: needs steps >= 0 and count >= 2, got steps={steps}, count={count}")
    if count >= steps + 1:
        return list(range(steps + 1))
    if count == 2:
        return [0, steps]
    out = [0, 1]
    while len(out) < count:
        prev, left = out[-1], count - len(out)  # left >= 1 steps still to place, the last being `steps`
        ideal = round(prev * (steps / prev) ** (1.0 / left))
        out.append(min(max(ideal, prev + 1), steps - left + 1))
    return out


@lru_cache(maxsize=64)
def _log_set(steps: int, count: int) -> frozenset[int]:
    return frozenset(log_steps(steps, count))


def _due(schedule: str, every: int, count: int, steps: int, step: int) -> bool:
    if step == steps:
        return True
    if schedule == "log":
        return step in _log_set(steps, count)
    return step % every == 0


def evaluates_at(cfg: Any, step: int) -> bool:
    """Whether a run with train config ``cfg`` logs a metrics row after ``step`` updates (always at the last)."""
    return _due(cfg.eval_schedule, cfg.eval_every, cfg.eval_count, cfg.steps, step)


def checkpoints_at(cfg: Any, step: int) -> bool:
    """Whether a run with train config ``cfg`` writes a checkpoint after ``step`` updates (always at the last)."""
    return _due(cfg.checkpoint_schedule, cfg.checkpoint_every, cfg.checkpoint_count, cfg.steps, step)


def scheduled(cfg: Any, kind: str) -> int:
    """How many evaluations (``kind = "eval"``) or checkpoints (``"checkpoint"``) a full run of ``cfg`` makes."""
    schedule, every, count = ((cfg.eval_schedule, cfg.eval_every, cfg.eval_count) if kind == "eval" else
                              (cfg.checkpoint_schedule, cfg.checkpoint_every, cfg.checkpoint_count))
    if schedule == "log":
        return len(_log_set(cfg.steps, count))
    return cfg.steps // every + 1 + (cfg.steps % every != 0)

