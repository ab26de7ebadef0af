"""Commands that only read a run do not import TransformerLens or transformers (seconds of start-up);
benchmarks/startup.py times them."""

from __future__ import annotations

import subprocess
import sys

import pytest

HEAVY = ("transformer_lens", "transformers")


def heavy_imports(code: str) -> list[str]:
    """The HEAVY modules a fresh interpreter holds after running ``code``."""
    probe = f"{code}\nimport sys\nprint('heavy:' + ','.join(m for m in {HEAVY!r} if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return [name for name in done.stdout.splitlines()[-1].removeprefix("heavy:").split(",") if name]


def test_the_package_and_every_command_module_import_without_transformer_lens() -> None:
    from grokkit.cli import COMMANDS

    modules = ["grokkit", "grokkit.cli", *COMMANDS.values()]
    assert heavy_imports("\n".join(f"import {m}" for m in modules)) == []


def test_help_info_and_report_of_a_measured_run_do_not_import_transformer_lens(tmp_path, tiny_spec) -> None:
    from grokkit.cli import main

    run = tmp_path / "run"
    assert main(["train", str(tiny_spec), "--out", str(run), "--no-progress"]) == 0
    assert main(["measure", str(run), "--no-progress"]) == 0
    call = "from grokkit.cli import main\n"
    assert heavy_imports(call + "try:\n    main(['--help'])\nexcept SystemExit:\n    pass") == []
    assert heavy_imports(call + f"assert main(['info', {str(run)!r}]) == 0") == []
    assert heavy_imports(call + f"assert main(['report', {str(run)!r}]) == 0") == []
    # without measures the report detects the key frequencies itself, as the measures do: still no bridge
    (run / "measures.jsonl").unlink()
    assert heavy_imports(call + f"assert main(['report', {str(run)!r}]) == 0") == []


def test_the_report_reads_a_one_layer_checkpoint_as_the_bridge_does(tmp_path, tiny_config) -> None:
    """The report's reading of a checkpoint (the measures' ``checkpoint_context``: the forward on the saved
    tensors, no bridge) gives the bridge cache's logits, hook_post and pattern."""
    import torch

    from grokkit.measures.checkpoint import checkpoint_context
    from grokkit.train.runs import train
    from grokkit.run import Run

    run = Run.create(tmp_path / "run", tiny_config(model={"attn_coeff": 0.5}))
    train(run)
    ours = checkpoint_context(run, 40).act
    logits, cache = run.load_model(40).run_with_cache(run.dataset.tokens)
    close = dict(rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(ours.logits, logits[:, -1], **close)
    torch.testing.assert_close(ours.post, cache["blocks.0.mlp.hook_post"][:, -1], **close)
    torch.testing.assert_close(ours.pattern, cache["blocks.0.attn.hook_pattern"][:, :, -1], **close)


@pytest.mark.parametrize("command", ["info", "report"])
def test_a_run_without_checkpoints_reads_without_a_bridge(tmp_path, tiny_spec, command) -> None:
    from grokkit.run import Run
    from grokkit.spec import load_spec

    run = Run.create(tmp_path / "run", load_spec(tiny_spec))
    assert heavy_imports(f"from grokkit.cli import main\nmain([{command!r}, {str(run.path)!r}])") == []
