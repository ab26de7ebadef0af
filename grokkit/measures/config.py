"""The ``[measures]`` section of a task spec: what to measure live, and how to find key frequencies."""

from __future__ import annotations

from dataclasses import dataclass, field

from grokkit.analysis.fourier import KEY_FREQ_RULES
from grokkit.errors import ConfigError

GINI_OVER = ("freqs", "rows")


@dataclass
class MeasuresConfig:
    """Progress measures of a run. The defaults measure nothing during training."""

    live: list[str] = field(default_factory=list)
    """Measures computed at every checkpoint while training (names from ``grokkit measure --list``);
    ``["all"]`` means every measure that applies to the task. Empty: none (the default)."""
    key_freqs: list[int] | None = None
    """Key frequencies to use instead of detecting them (e.g. [14, 35, 41, 42, 52])."""
    key_freq_rule: str = "neurons"
    """How key frequencies are detected: neurons (clustering, the standard rule) or embedding (W_E norm > max/4)."""
    gini_over: str = "freqs"
    """What the Gini coefficient's N counts: freqs (p//2 per-frequency norms √(cos²+sin²)) or rows (all p basis rows)."""

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
        if self.key_freq_rule not in KEY_FREQ_RULES:
            raise ConfigError(
                f"measures.key_freq_rule: must be one of {', '.join(KEY_FREQ_RULES)}, got {self.key_freq_rule!r}"
            )
        if self.gini_over not in GINI_OVER:
            raise ConfigError(f"measures.gini_over: must be one of {', '.join(GINI_OVER)}, got {self.gini_over!r}")
