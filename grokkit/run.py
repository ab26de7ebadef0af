"""A run directory, and Python access to everything in it.

Its files are read and written by ``grokkit.files.run_folder`` (the layout is there);
``Run`` adds the parsed config, the dataset and TransformerLens models.

>>> run = grokkit.load_run("runs/quick")
>>> model = run.load_model()            # TransformerLens bridge at the last checkpoint
>>> logits, cache = model.run_with_cache(run.dataset.tokens)
"""

from __future__ import annotations

from contextlib import contextmanager
from functools import cached_property
from pathlib import Path
from typing import Any, Iterator

import torch

from grokkit.data.dataset import AlgorithmicDataset
from grokkit.errors import CheckpointError, GrokkitError, RunError
from grokkit.spec import RunConfig, config_from_dict
from grokkit.files.checkpoint import Checkpoint, load_checkpoint
from grokkit.files.jsonl import MAX_STEP
from grokkit.files.lock import locked
from grokkit.files.rows import Rows
from grokkit.files.run_folder import RunFolder, RunStatus, extensions_of


class Run:
    """An existing run directory (its files: ``grokkit.files.run_folder``)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.folder = RunFolder(self.path)
        record = self.folder.read_config_record()
        where = str(self.folder.config_path)
        try:
            self.config: RunConfig = config_from_dict(record["config"], source=where)
        except GrokkitError as exc:  # a field's own check names the field; the file is named here
            raise RunError(str(exc) if where in str(exc) else f"{where}: {exc}") from None
        from grokkit.limits import check_readable

        check_readable(self.config, where)  # its sizes, before any grid or weights are built
        self.folder.max_entries = max_entries(self.config)  # the longest list a row of this run's logs can hold
        # changes made by `grokkit resume --steps` (grokkit.extend): from_step, changed, previous config
        self.extended: list[dict[str, Any]] = check_extensions(record, self.config, where)

    @classmethod
    def create(cls, path: str | Path, config: RunConfig) -> "Run":
        """Start a new run at ``path``; an existing run there must have the same config."""
        from grokkit.limits import check_resources

        check_resources(config)  # device and memory, before anything is written
        path = Path(path)
        if not RunFolder(path).has_config():
            if path.is_symlink() or (path.exists() and (not path.is_dir() or not RunFolder(path).is_empty())):
                raise RunError(f"--out {path}: exists and is not an empty directory or a grokkit run")
            path.mkdir(parents=True, exist_ok=True)
            with locked(path):  # checked again under the lock: another writer may have been first
                if not RunFolder(path).has_config():
                    if not RunFolder(path).is_empty():
                        raise RunError(f"--out {path}: exists and is not an empty directory or a grokkit run")
                    RunFolder(path).write_config(config.to_dict())
                    return cls(path)
        existing = cls(path)
        if existing.config.to_dict() != config.to_dict():
            raise RunError(
                f"--out {path}: already holds a different run; choose another directory "
                f"or continue that one with `grokkit resume {path}`"
            )
        return existing

    @contextmanager
    def locked(self) -> Iterator["Run"]:
        """Hold this run's lock, after checking that ``config.json`` is still the one this ``Run`` read
        (``check_unchanged``): the one rule for writers (``grokkit.files.lock``)."""
        with locked(self.path):
            self.check_unchanged()
            yield self

    def check_unchanged(self) -> None:
        """Refuse (one line, nothing written) when ``config.json`` is no longer what this ``Run`` read: another
        process extended, restarted, removed or edited the run since. The caller holds the run's lock."""
        try:
            record = self.folder.read_config_record()
            same = (config_from_dict(record["config"], source=str(self.folder.config_path)).to_dict()
                    == self.config.to_dict() and extensions_of(record) == self.extended)
        except GrokkitError as exc:
            raise RunError(f"{self.path}: changed since this command opened it ({exc}); nothing was written") from None
        if not same:
            raise RunError(f"{self.path}: its config.json changed since this command opened it (another process "
                           "extended, restarted or edited the run); nothing was written: run the command again")

    # --- checkpoints -------------------------------------------------------
    @property
    def checkpoint_root(self) -> Path:
        return self.folder.checkpoint_root

    def checkpoint_steps(self) -> list[int]:
        """Steps of every checkpoint folder, ascending."""
        return self.folder.checkpoint_steps()

    def checkpoint(self, step: int | None = None, with_state: bool = False) -> Checkpoint:
        """The verified checkpoint at ``step`` (default: the latest)."""
        found = self.folder.checkpoint_folders()
        if not found:
            raise RunError(f"{self.path}: has no checkpoints yet")
        if step is None:
            step = max(found)
        if step not in found:
            raise RunError(f"{self.path}: no checkpoint at step {step}; have {sorted(found)[:5]}…{sorted(found)[-1]}")
        ckpt = load_checkpoint(found[step], with_state=with_state)
        self._check_config(ckpt)
        return ckpt

    def _check_config(self, ckpt: Checkpoint) -> None:
        """The checkpoint's copy of the config must be this run's config.json (an edit of either is refused)."""
        stored = ckpt.meta.get("config")
        if stored is None:
            if ckpt.meta.get("version", 1) >= 2:  # format 2 always records it: its absence is an edit
                raise CheckpointError(f"checkpoint {ckpt.path}: its meta.json records no config (edited?)")
            return
        # the run's config, or one it had before an extension that came after this checkpoint
        allowed = [self.config.to_dict(), *(e.get("previous") for e in self.extended
                                            if isinstance(e.get("from_step"), int) and ckpt.step <= e["from_step"])]
        same = stored in allowed  # the usual case; a checkpoint from an older grokkit lacks newer fields:
        if not same:              # parse it, so they take their defaults, and compare again
            try:
                same = config_from_dict(stored, source=str(ckpt.path)).to_dict() in allowed
            except GrokkitError:
                same = False
        if not same:
            raise CheckpointError(f"{self.folder.config_path}: does not match the config checkpoint {ckpt.path.name} "
                                  "was trained with (edited?); refusing to mix them")

    def load_model(self, step: int | None = None, device: str | torch.device = "cpu") -> Any:
        """A TransformerLens bridge (a ``HookedMLP`` for ``model.kind = "mlp"``) holding the weights of the
        checkpoint at ``step`` (default: the latest)."""
        from grokkit.model.load import model_at

        return model_at(self.checkpoint(step), self.config.model, self.config.task, device)

    # --- data and logs -----------------------------------------------------
    @cached_property
    def dataset(self) -> AlgorithmicDataset:
        """The run's full input grid, labels and train/test split."""
        return AlgorithmicDataset(self.config.task)

    def metrics(self) -> Rows:
        """Every evaluation's row (a torn last line from a hard kill is skipped)."""
        return Rows(self.folder.metrics(), "metrics")

    def measures(self) -> Rows:
        """The progress-measures table, one row per measured step (empty before any measure)."""
        return Rows(self.folder.measures(), "measures")

    def imported_curves(self) -> list[dict[str, Any]]:
        """An imported run's own loss records (``imported_losses.jsonl``: ``step``, ``train_loss``,
        ``test_loss``, as its source logged them); [] for a run grokkit trained."""
        return self.folder.imported_curves()

    def status(self) -> RunStatus | None:
        """How training ended (finished, stopped early, diverged, imported); None while it has not."""
        return self.folder.status()


    # --- views: what a notebook asks of a run -----------------------------------------------------------
    # Presentation sits above this module (grokkit.report), so these import it when called, as pandas'
    # ``DataFrame.plot`` does its plotting backend; a run read from Python alone never loads plotly.
    def plot(self, name: str = "losses", **options: Any) -> Any:
        """The report's figure ``name`` of this run as a plotly Figure (``grokkit.plots.RUN_FIGURES``: losses,
        accuracies, excluded_restricted, gini, weight_norm, llc, embedding, neuron_clusters, attention,
        logit_map, key_components …); the final-checkpoint figures take ``step=``."""
        from grokkit.report.run_figures import RUN_FIGURES

        if name not in RUN_FIGURES:
            raise GrokkitError(f"plot: no figure {name!r}; allowed: {', '.join(RUN_FIGURES)}")
        return RUN_FIGURES[name](self, **options)

    def report(self, out: str | Path | None = None, step: int | None = None) -> Path:
        """Write the HTML report (default ``RUN/report.html``) and return its path."""
        from grokkit.report.html import write_report

        return write_report(self, out, step)

    def measure(self, measures: list[str] | None = None, **options: Any) -> Rows:
        """``grokkit.measure_run`` on this run: the measures at every checkpoint, merged into its table."""
        from grokkit.measures.offline import measure_run

        return measure_run(self, measures, **options)

    def summary(self) -> dict[str, Any]:
        """Progress, milestones, phases and key components (what ``grokkit info --json`` prints)."""
        from grokkit.report.summary import summarise

        return summarise(self)

    def __repr__(self) -> str:
        from grokkit.report.summary import summary_lines

        try:
            return "\n".join(summary_lines(self))
        except GrokkitError as exc:  # a damaged log: the repr still says which run and why
            return f"Run({str(self.path)!r}): {exc}"

    def _repr_html_(self) -> str:
        from grokkit.files.page import esc
        from grokkit.report.summary import run_html

        try:
            return run_html(self)
        except GrokkitError as exc:
            return f"<p>grokkit run {esc(self.path)}: {esc(exc)}</p>"


def check_extensions(record: dict[str, Any], config: RunConfig, where: str) -> list[dict[str, Any]]:
    """The ``extended`` list of a config record, checked: each entry a change ``grokkit.extend`` may make
    (``recordable`` keys only), from a step, its old values those of the config before it, and the
    chain of previous configs with their changes applied ending in the run's config. So an extension
    explains only the keys it recorded: any other edit of ``config.json`` is refused (one line)."""
    from grokkit.extend import recordable

    extended = record.get("extended", [])
    if not isinstance(extended, list) or len(extended) > 10_000:
        raise RunError(f"{where}: extended is not a list of extensions (damaged or edited)")
    after = config.to_dict()
    for i, entry in enumerate(extended):
        field = f"{where}: extended[{i}]"
        if not isinstance(entry, dict):
            raise RunError(f"{field} is not a table (damaged or edited)")
        step, changed, previous = entry.get("from_step"), entry.get("changed"), entry.get("previous")
        if isinstance(step, bool) or not isinstance(step, int) or not 0 <= step <= MAX_STEP:
            raise RunError(f"{field}.from_step is not a step in [0, {MAX_STEP}] (damaged or edited)")
        if not isinstance(entry.get("at", ""), str) or not isinstance(changed, dict) or not changed or not all(
                isinstance(k, str) and isinstance(v, list) and len(v) == 2 for k, v in changed.items()):
            raise RunError(f"{field}.changed is not a table of key → [old, new] (damaged or edited)")
        if not isinstance(previous, dict):
            raise RunError(f"{field}.previous is not a config (damaged or edited)")
        try:
            previous = config_from_dict(previous, source=f"{field}.previous").to_dict()
        except GrokkitError as exc:
            raise RunError(str(exc)) from None
        expected = {section: dict(values) for section, values in previous.items()}
        for key, (old, new) in changed.items():
            section, _, name = key.partition(".")
            if not recordable(key) or name not in expected.get(section, {}):
                raise RunError(f"{field}.changed names {key[:60]!r}, which an extension cannot change "
                               "(damaged or edited)")
            if expected[section][name] != old:
                raise RunError(f"{field}.changed says {key} was {old!r}, but its previous config has "
                               f"{expected[section][name]!r} (damaged or edited)")
            expected[section][name] = new
        following = extended[i + 1].get("previous") if i + 1 < len(extended) else after
        try:
            following = config_from_dict(following, source=where).to_dict() if isinstance(following, dict) else None
        except GrokkitError:
            following = None
        if following != expected:
            what = "the run's config" if i + 1 == len(extended) else f"extended[{i + 1}].previous"
            differ = sorted(f"{s}.{k}" for s in expected for k in expected[s]
                            if following is None or following.get(s, {}).get(k) != expected[s][k])
            raise RunError(f"{where}: {what} differs from what its extension record explains "
                           f"({', '.join(differ[:3]) or 'its sections'}; edited?); refusing to mix them")
    return extended


def max_entries(config: RunConfig) -> int:
    """The most entries a list or table in one of the run's log rows can have: per head, per neuron,
    per symbol or frequency, per parameter (with room to spare)."""
    m = config.model
    return 4 * max(64, m.n_heads * m.n_layers, m.d_mlp, config.task.d_vocab)


def load_run(path: str | Path) -> Run:
    """Open a run directory for analysis."""
    return Run(path)
