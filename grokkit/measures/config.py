"""The ``[measures]`` section of a task spec: what to measure live, and how to find key frequencies."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from grokkit.analysis.keys import DEFAULT_RULE, EXPLAIN, KEY_RULES
from grokkit.errors import ConfigError
from grokkit.measures.sgld import SGLD

GINI_OVER = ("freqs", "rows")


@dataclass
class MeasuresConfig:
    """Progress measures of a run. The defaults measure nothing during training."""

    live: list[str] = field(default_factory=list)
    """Measures computed at every checkpoint while training (names from ``grokkit measure --list``);
    ``["all"]`` means every measure that applies to the task. Empty: none (the default)."""
    key_freqs: list[int] | None = None
    """Key frequencies to use instead of detecting them (e.g. [14, 35, 41, 42, 52])."""
    key_freq_rule: str = DEFAULT_RULE
    """How key components are detected (``grokkit.analysis.keys.select_keys``), in the task's group basis:
    logits (default: the fewest components, largest first, that explain ``key_explain`` of the centred
    logit table), neurons (the paper's clustering: components owning a neuron > 85 % explained) or
    embedding (W_E norm > max/4)."""
    key_explain: float = EXPLAIN
    """The share of the centred logit table the logits rule's components must explain together (0 < x ≤ 1)."""
    gini_over: str = "freqs"
    """What the Gini coefficient's N counts: freqs (p//2 per-frequency norms √(cos²+sin²)) or rows (all p basis rows)."""
    llc_lr: float = SGLD.lr
    """Local learning coefficient (measure ``llc``, off unless named): SGLD step size ε."""
    llc_gamma: float = SGLD.gamma
    """… localisation strength γ: how tightly the samples stay around the checkpoint."""
    llc_draws: int = SGLD.draws
    """… SGLD steps per chain whose losses are averaged (each a forward and backward on the train rows)."""
    llc_burnin: int = SGLD.burnin
    """… SGLD steps per chain run before the draws and not averaged."""
    llc_chains: int = SGLD.chains
    """… independent chains, averaged."""
    llc_seed: int = SGLD.seed
    """… seed of the SGLD noise (the same at every checkpoint)."""

    def __post_init__(self) -> None:
        if not isinstance(self.live, list) or not all(isinstance(name, str) for name in self.live):
            raise ConfigError(f"measures.live: must be a list of measure names, got {self.live!r}")
        from grokkit.measures.registry import MEASURES

        unknown = [name for name in self.live if name != "all" and name not in MEASURES]
        if unknown:
            raise ConfigError(f"measures.live: unknown measure(s) {unknown}; allowed: all, {', '.join(MEASURES)}")
        if self.key_freqs is not None and (
            not isinstance(self.key_freqs, list)
            or not all(isinstance(k, int) and not isinstance(k, bool) and k >= 1 for k in self.key_freqs)
        ):
            raise ConfigError(f"measures.key_freqs: must be a list of integers >= 1, got {self.key_freqs!r}")
        if self.key_freq_rule not in KEY_RULES:
            raise ConfigError(
                f"measures.key_freq_rule: must be one of {', '.join(KEY_RULES)}, got {self.key_freq_rule!r}"
            )
        if isinstance(self.key_explain, bool) or not isinstance(self.key_explain, (int, float)) \
                or not 0 < self.key_explain <= 1:
            raise ConfigError(f"measures.key_explain: must be a number in (0, 1], got {self.key_explain!r}")
        if self.gini_over not in GINI_OVER:
            raise ConfigError(f"measures.gini_over: must be one of {', '.join(GINI_OVER)}, got {self.gini_over!r}")
        for name in ("llc_lr", "llc_gamma"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
                raise ConfigError(f"measures.{name}: must be a number > 0, got {value!r}")
        for name, low in (("llc_draws", 1), ("llc_burnin", 0), ("llc_chains", 1)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ConfigError(f"measures.{name}: must be an integer >= {low}, got {value!r}")
        if isinstance(self.llc_seed, bool) or not isinstance(self.llc_seed, int):
            raise ConfigError(f"measures.llc_seed: must be an integer, got {self.llc_seed!r}")

    @property
    def sgld(self) -> SGLD:
        """The ``llc_*`` fields as the sampler's settings."""
        return SGLD(float(self.llc_lr), float(self.llc_gamma), self.llc_draws, self.llc_burnin, self.llc_chains,
                    self.llc_seed)

    def check_task(self, task: Any) -> None:
        """``key_freqs`` must be components of the task's group basis: 1 … p // 2 over Z_p and Z_p*, 1 … 6 over S5."""
        if self.key_freqs is None:
            return
        if task.operation.group == "finite":  # the real irreps of task.group, trivial excluded
            from grokkit.analysis.groups.irreps import group_irreps

            names = group_irreps(task.finite_group).names
            outside = [k for k in self.key_freqs if k >= len(names)]
            if outside:
                raise ConfigError(f"measures.key_freqs: {outside} are not irreps of {task.finite_group.name}; "
                                  f"allowed: 1 … {len(names) - 1} ({', '.join(names[1:])})")
            return
        s5 = task.operation.group == "s5"
        top = 6 if s5 else task.p // 2  # S5's 7 irreps, the trivial one excluded (grokkit.analysis.groups.s5)
        outside = [k for k in self.key_freqs if k > top]
        if outside:
            what = "irreps of S5" if s5 else f"frequencies of p = {task.p}"
            raise ConfigError(f"measures.key_freqs: {outside} are not {what}; "
                              f"allowed: 1 … {top}{'' if s5 else ' (p // 2)'}")
