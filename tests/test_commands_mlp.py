"""Every view of a run works on an MLP run (``model.kind = "mlp"``): run (train → measure → report),
info, measure, report, resume (and extend), sweep + compare, and Python ``load_run`` + ``run_with_cache``."""

import json

import torch

from conftest import TASKS, cli, tiny_mlp_dict, tiny_mlp_toml, write_spec
from grokkit.model.mlp import HookedMLP
from grokkit.run import load_run

SPEC = tiny_mlp_toml(model={"train_biases": True}, train={"device": "cpu", "lr": 1e-2})


def test_every_view_of_an_mlp_run(tmp_path, capsys):
    run_dir = tmp_path / "run"
    result = cli(capsys, "run", write_spec(tmp_path, SPEC), "--out", run_dir, "--no-progress")
    assert result.code == 0, result.err
    assert (run_dir / "report.html").is_file() and (run_dir / "measures.jsonl").is_file()

    result = cli(capsys, "info", run_dir)
    assert result.code == 0, result.err
    assert "mlp: separate d_model 16 embeddings, concat, d_mlp 64, relu, biases trained" in result.out
    assert "skipped  not measured on the mlp kind: attention (no attention)" in result.out
    summary = json.loads(cli(capsys, "info", run_dir, "--json").out)
    assert summary["keys"]["step"] == 40 and "key_freqs" in summary["keys"]

    result = cli(capsys, "measure", run_dir, "--no-progress")
    assert result.code == 0, result.err
    assert "note: not measured on the mlp kind: attention" in result.out
    rows = [json.loads(line) for line in (run_dir / "measures.jsonl").read_text().splitlines()]
    assert "gromov_ipr_in" in rows[-1] and "attn_eq_to_a" not in rows[-1]

    result = cli(capsys, "report", run_dir)
    assert result.code == 0, result.err
    html = (run_dir / "report.html").read_text(encoding="utf-8")
    assert "Distance from Gromov" in html and "the mlp kind has no attention" in html
    assert "Attention from &#x27;=&#x27; over training" not in html and "Attention from '=' over training" not in html

    result = cli(capsys, "resume", run_dir, "--steps", "60", "--no-progress")
    assert result.code == 0, result.err
    run = load_run(run_dir)
    assert run.checkpoint_steps()[-1] == 60
    model = run.load_model()
    assert isinstance(model, HookedMLP)
    logits, cache = model.run_with_cache(run.dataset.tokens)
    assert set(cache) == {"hook_embed_a", "hook_embed_b", "hook_pre", "hook_post", "hook_logits"}
    metrics = {r["step"]: r for r in run.metrics()}
    loss = torch.nn.functional.cross_entropy(logits[:, -1][run.dataset.split.test].double(),
                                             run.dataset.labels[run.dataset.split.test]).item()
    assert abs(loss - metrics[60]["test_loss"]) <= 1e-5 * loss


def test_an_mlp_sweep_trains_as_stacks_and_compares(tmp_path, capsys):
    from grokkit.sweep.driver import run_sweep
    from grokkit.sweep.spec import expand
    from grokkit.toy import load_toy_spec
    from grokkit.toy import run_sweep as run_toy

    spec = tiny_mlp_dict(task={"p": 7}, train={"steps": 40, "lr": 1e-2, "eval_every": 10, "checkpoint_every": 20})
    spec["sweep"] = {"grid": {"task.frac_train": [0.5, 0.7]}}
    run_sweep(expand(spec), tmp_path / "mlp", report=lambda _: None)
    toy = ["toy.n=30", "toy.S=0.8", "toy.test_points=50", "train.steps=40", "train.warmup_steps=4",
           "sweep.T=[3,20]", "sweep.seeds=1", "sweep.chunk_instances=4", "train.best_of=1"]
    run_toy(load_toy_spec(TASKS / "toy_cpu.toml", toy), tmp_path / "toy", log=lambda *_: None)
    page = tmp_path / "compare.html"
    result = cli(capsys, "compare", "--toy", tmp_path / "toy", "--transformer", tmp_path / "mlp", "--out", page,
                 "--measure")
    assert result.code == 0, result.err
    assert "Test loss against training-set size" in page.read_text(encoding="utf-8")


def test_info_and_report_of_a_measured_mlp_run_do_not_import_transformer_lens(tmp_path, capsys):
    import subprocess
    import sys

    run_dir = tmp_path / "run"
    assert cli(capsys, "run", write_spec(tmp_path, SPEC), "--out", run_dir, "--no-progress").code == 0
    for command in ("info", "report"):
        probe = (f"from grokkit.cli import main\nassert main([{command!r}, {str(run_dir)!r}]) == 0\n"
                 "import sys\nprint('heavy:' + str('transformer_lens' in sys.modules))")
        done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        assert done.stdout.splitlines()[-1] == "heavy:False", command
