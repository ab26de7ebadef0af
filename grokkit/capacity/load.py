"""A finished capacity study, read back: ``load_study(dir)`` returns its spec, curves, results and theory, checked.

>>> study = grokkit.capacity.load_study("runs/capacity_phase")
>>> study.steps, study.spec.stack.widths
>>> study.curve("s", N=8, task=3)                 # [(step, s_3)] of the width-8 model(s)
>>> study.theories[1.0].optimum(8).loss_norm      # Theorem 3 at width 8 (grokkit.capacity.theory)
>>> grokkit.plots.capacity(study)["interference"].show()   # what the report shows
>>> models = study.models()                       # the final encoders and decoders (CapacityModels)

Every file passes the folder's own checks (``grokkit.capacity.folder``), and two more here: theory.json must
be the theory of the study's spec, and results.jsonl the final rows of its curves beside that theory, so an
edited or swapped file is refused in one line rather than drawn.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grokkit.capacity.config import Member
from grokkit.capacity.folder import SPEC_FILE, THEORY_FILE, CapacityFolder, is_capacity_folder
from grokkit.capacity.outcome import final_rows
from grokkit.capacity.spec import CapacitySpec
from grokkit.capacity.theory import MixtureTheory, mixture_theory, theory_record
from grokkit.errors import RunError
from grokkit.files.jsonl import dumps_row
from grokkit.files.results import RESULTS_JSONL


@dataclass
class Study:
    """A finished capacity study: what it is, what it measured, what the theory predicts."""

    path: Path
    """Its folder."""
    spec: CapacitySpec
    """Its spec (train.steps: the steps it was last trained to)."""
    steps: int
    """Steps trained."""
    members: list[Member]
    """The models of the stack, in order: ``member`` in every row indexes this list."""
    theories: dict[float, MixtureTheory]
    """Per β: Theorem 3's optimum, F, Proposition 6 (``grokkit.capacity.theory``)."""
    theory: list[dict]
    """theory.json: per β, the theory as JSON (the optimum at each stacked width)."""
    curves: list[dict]
    """One row per member and measurement: loss_norm, s, s_tilde (per task), delta_F, interference …"""
    injections: list[dict]
    """One row per member and injection: s̃_r just before and just after."""
    results: list[dict]
    """One row per member and task at the end: measured beside predicted."""
    summary: dict
    """Agreement with the staircase per β, the injection summary, timings."""
    extended: list[dict] = field(default_factory=list)
    """Each ``grokkit resume --steps``: ``{"from_step", "to_step"}``."""

    def rows(self, N: int | None = None, seed: int | None = None, beta: float | None = None,
             gap: int | None = None) -> list[dict]:
        """The curves' rows of the members that match every given setting, in step order."""
        want = {"N": N, "seed": seed, "beta": beta, "gap": gap}
        return [r for r in self.curves if all(v is None or r[k] == v for k, v in want.items())]

    def curve(self, key: str, task: int | None = None, **member: Any) -> list[tuple[int, Any]]:
        """``[(step, value)]`` of one measure (``task``: 1-based, for the per-task ones) over the matching rows."""
        if not self.curves or key not in self.curves[0]:
            raise RunError(f"{self.path}: no measure {key!r}; have {', '.join(sorted(self.curves[0]))}")
        out = []
        for r in self.rows(**member):
            value = r[key]
            out.append((r["step"], value[task - 1] if isinstance(value, list) and task is not None else value))
        return out

    def models(self):
        """The final stack (``grokkit.capacity.model.CapacityModels``, on the CPU)."""
        from grokkit.capacity.model import CapacityModels

        models = CapacityModels.init(self.members, self.spec.capacity)
        weights = CapacityFolder(self.path).weights()
        models.load(weights["W"], weights["decoders"])
        return models

    def __repr__(self) -> str:
        return (f"Study({str(self.path)!r}: K = {self.spec.capacity.K}, widths {self.spec.stack.widths}, "
                f"{len(self.members)} models, {self.steps} steps)")


def _canonical(value: Any) -> Any:
    return json.loads(dumps_row({"v": value}))["v"]


def load_study(path: str | Path) -> Study:
    """Open a finished capacity study (see the module docstring); one RunError naming what is wrong otherwise."""
    path = Path(path)
    if not is_capacity_folder(path):
        if (path / "config.json").is_file():
            raise RunError(f"{path}: a grokkit run, not a capacity study (no {SPEC_FILE}); open it with "
                           "grokkit.load_run")
        raise RunError(f"{path}: not a capacity study (no {SPEC_FILE})")
    folder = CapacityFolder.open(path)
    spec = folder.spec()
    summary = folder.summary()  # before the logs: a study that did not finish is named as such
    members = spec.members()
    if summary["members"] != len(members) or summary["steps"] != spec.train.steps:
        raise RunError(f"{path / 'summary.json'}: {summary['members']} models, {summary['steps']} steps; "
                       f"capacity.json makes {len(members)} models, {spec.train.steps} steps (edited, or from "
                       "another study)")
    theories = {beta: mixture_theory(spec.capacity, beta) for beta in spec.betas}
    theory = folder.theory()
    expected = [_canonical(theory_record(theories[b], spec.stack.widths, spec.measures.learned)) for b in spec.betas]
    if theory != expected:
        raise RunError(f"{path / THEORY_FILE}: is not the theory of the spec in {SPEC_FILE} (edited, or from "
                       "another study)")
    curves = folder.curves(spec)
    injections = folder.injections(spec)
    results = folder.results()
    if results != _canonical(final_rows(spec, curves, theories)):
        raise RunError(f"{path / RESULTS_JSONL}: is not the final measurements of curves.jsonl beside the theory "
                       "(edited, or from another study)")
    return Study(path, spec, summary["steps"], members, theories, theory, curves, injections, results, summary,
                 folder.extensions())
