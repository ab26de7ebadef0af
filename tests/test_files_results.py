"""One results writer for both sweeps: standard JSON (no NaN), a CSV with lists as space-separated cells."""

import csv
import json
import math

from grokkit.files.results import write_results


def test_non_finite_numbers_are_null_in_jsonl_and_empty_in_csv(tmp_path):
    rows = [{"name": "a", "test_loss": math.nan, "key_freqs": [14, 35], "grok_step": None},
            {"name": "b", "test_loss": 0.5, "extra": math.inf}]
    files = write_results(tmp_path, rows)
    lines = files.jsonl.read_text().splitlines()
    assert "NaN" not in files.jsonl.read_text() and "Infinity" not in files.jsonl.read_text()
    assert [json.loads(line) for line in lines] == [
        {"name": "a", "test_loss": None, "key_freqs": [14, 35], "grok_step": None},
        {"name": "b", "test_loss": 0.5, "extra": None}]
    table = list(csv.DictReader(files.csv.open()))
    assert list(table[0]) == ["name", "test_loss", "key_freqs", "grok_step", "extra"]  # every key, first seen order
    assert table[0]["test_loss"] == "" and table[0]["key_freqs"] == "14 35" and table[1]["extra"] == ""


def test_the_toy_sweep_writes_jsonl_only(tmp_path):
    files = write_results(tmp_path, [{"T": 3, "feature_dims": math.nan}], with_csv=False)
    assert files.csv is None and not (tmp_path / "results.csv").exists()
    assert json.loads(files.jsonl.read_text()) == {"T": 3, "feature_dims": None}
