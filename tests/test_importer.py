"""grokkit import: each file format opens, the logits match the source architecture, pickles never run."""

from __future__ import annotations

import math
import sys
import types
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from grokkit.cli import main
from grokkit.data.dataset import make_split
from grokkit.files.layout import CURVES_FILE
from grokkit.importer import import_file
from grokkit.importer.load import ImportFileError, load_file
from grokkit.run import Run

P, D_MODEL, N_HEADS, D_HEAD, D_MLP = 13, 16, 2, 8, 32


def all_tokens(p: int = P) -> torch.Tensor:
    x, y = torch.meshgrid(torch.arange(p), torch.arange(p), indexing="ij")
    return torch.stack([x.flatten(), y.flatten(), torch.full((p * p,), p)], dim=1)  # [p², 3], x-major


# --- the paper's architecture (progress-measures-paper, transformers.py), written out -----------------
def paper_weights(seed: int, d_vocab_out: int = P + 1) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    r = lambda *shape: torch.randn(*shape, generator=g) / math.sqrt(D_MODEL)  # noqa: E731
    return {
        "embed.W_E": r(D_MODEL, P + 1),
        "pos_embed.W_pos": r(3, D_MODEL),
        "blocks.0.attn.W_K": r(N_HEADS, D_HEAD, D_MODEL),
        "blocks.0.attn.W_Q": r(N_HEADS, D_HEAD, D_MODEL),
        "blocks.0.attn.W_V": r(N_HEADS, D_HEAD, D_MODEL),
        "blocks.0.attn.W_O": r(D_MODEL, N_HEADS * D_HEAD),
        "blocks.0.attn.mask": torch.tril(torch.ones(3, 3)),
        "blocks.0.mlp.W_in": r(D_MLP, D_MODEL),
        "blocks.0.mlp.b_in": r(D_MLP),  # trained in the paper: non-zero here so the mapping is tested
        "blocks.0.mlp.W_out": r(D_MODEL, D_MLP),
        "blocks.0.mlp.b_out": r(D_MODEL),
        "unembed.W_U": r(D_MODEL, d_vocab_out),
    }


def paper_forward(w: dict[str, torch.Tensor], tokens: torch.Tensor) -> torch.Tensor:
    """The paper's Transformer.forward at the last position, einsum for einsum."""
    x = torch.einsum("dbp -> bpd", w["embed.W_E"][:, tokens])
    x = x + w["pos_embed.W_pos"][: x.shape[-2]]
    k = torch.einsum("ihd,bpd->biph", w["blocks.0.attn.W_K"], x)
    q = torch.einsum("ihd,bpd->biph", w["blocks.0.attn.W_Q"], x)
    v = torch.einsum("ihd,bpd->biph", w["blocks.0.attn.W_V"], x)
    scores = torch.einsum("biph,biqh->biqp", k, q)
    mask = w["blocks.0.attn.mask"][: x.shape[-2], : x.shape[-2]]
    scores = torch.tril(scores) - 1e10 * (1 - mask)
    attn = F.softmax(scores / math.sqrt(D_HEAD), dim=-1)
    z = torch.einsum("biph,biqp->biqh", v, attn)
    z_flat = z.permute(0, 2, 1, 3).reshape(z.shape[0], z.shape[2], -1)  # b i q h -> b q (i h)
    x = x + torch.einsum("df,bqf->bqd", w["blocks.0.attn.W_O"], z_flat)
    pre = torch.einsum("md,bpd->bpm", w["blocks.0.mlp.W_in"], x) + w["blocks.0.mlp.b_in"]
    x = x + torch.einsum("dm,bpm->bpd", w["blocks.0.mlp.W_out"], F.relu(pre)) + w["blocks.0.mlp.b_out"]
    return (x @ w["unembed.W_U"])[:, -1]


# --- TransformerLens's HookedTransformer (the demo's model), written out --------------------------------
def hooked_weights(seed: int) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    r = lambda *shape: torch.randn(*shape, generator=g) / math.sqrt(D_MODEL)  # noqa: E731
    return {
        "embed.W_E": r(P + 1, D_MODEL),
        "pos_embed.W_pos": r(3, D_MODEL),
        "blocks.0.attn.W_Q": r(N_HEADS, D_MODEL, D_HEAD), "blocks.0.attn.b_Q": r(N_HEADS, D_HEAD),
        "blocks.0.attn.W_K": r(N_HEADS, D_MODEL, D_HEAD), "blocks.0.attn.b_K": r(N_HEADS, D_HEAD),
        "blocks.0.attn.W_V": r(N_HEADS, D_MODEL, D_HEAD), "blocks.0.attn.b_V": r(N_HEADS, D_HEAD),
        "blocks.0.attn.W_O": r(N_HEADS, D_HEAD, D_MODEL), "blocks.0.attn.b_O": r(D_MODEL),
        "blocks.0.attn.mask": torch.tril(torch.ones(3, 3, dtype=torch.bool)),
        "blocks.0.attn.IGNORE": torch.tensor(-1e5),
        "blocks.0.mlp.W_in": r(D_MODEL, D_MLP), "blocks.0.mlp.b_in": r(D_MLP),
        "blocks.0.mlp.W_out": r(D_MLP, D_MODEL), "blocks.0.mlp.b_out": r(D_MODEL),
        "unembed.W_U": r(D_MODEL, P), "unembed.b_U": r(P),
    }


def hooked_forward(w: dict[str, torch.Tensor], tokens: torch.Tensor) -> torch.Tensor:
    """HookedTransformer's forward (no LayerNorm, causal attention) at the last position."""
    a = "blocks.0.attn."
    x = w["embed.W_E"][tokens] + w["pos_embed.W_pos"][: tokens.shape[1]]
    q = torch.einsum("bpd,hde->bphe", x, w[a + "W_Q"]) + w[a + "b_Q"]
    k = torch.einsum("bpd,hde->bphe", x, w[a + "W_K"]) + w[a + "b_K"]
    v = torch.einsum("bpd,hde->bphe", x, w[a + "W_V"]) + w[a + "b_V"]
    scores = torch.einsum("bqhe,bkhe->bhqk", q, k) / math.sqrt(D_HEAD)
    causal = torch.tril(torch.ones(3, 3, dtype=torch.bool))
    pattern = scores.masked_fill(~causal, float("-inf")).softmax(-1)
    z = torch.einsum("bhqk,bkhe->bqhe", pattern, v)
    x = x + torch.einsum("bqhe,hed->bqd", z, w[a + "W_O"]) + w[a + "b_O"]
    post = F.relu(x @ w["blocks.0.mlp.W_in"] + w["blocks.0.mlp.b_in"])
    x = x + post @ w["blocks.0.mlp.W_out"] + w["blocks.0.mlp.b_out"]
    return (x @ w["unembed.W_U"] + w["unembed.b_U"])[:, -1]


def imported_logits(run: Run, step: int) -> torch.Tensor:
    with torch.no_grad():
        return run.load_model(step)(all_tokens())[:, -1]


def assert_close(ours: torch.Tensor, theirs: torch.Tensor) -> None:
    assert ours.shape == theirs.shape
    torch.testing.assert_close(ours, theirs, rtol=1e-4, atol=1e-5)


# --- formats -------------------------------------------------------------------------------------------
def test_paper_final_save_imports_with_its_logits_curves_and_config(tmp_path: Path) -> None:
    weights = paper_weights(0)
    params = [torch.nn.Parameter(v.clone()) for k, v in weights.items() if k != "blocks.0.attn.mask"]
    optimizer = torch.optim.AdamW(params, lr=1e-3, weight_decay=1.0, betas=(0.9, 0.98))
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: min(step / 10, 1))
    sum(p.sum() for p in params).backward()
    optimizer.step()
    scheduler.step()
    path = tmp_path / "final.pth"
    torch.save({
        "model": weights, "train_loss": 0.5, "test_loss": 2.0,
        "train_losses": [4.0 - 0.05 * i for i in range(60)], "test_losses": [4.0 + 0.1 * j for j in range(6)],
        "epoch": 60, "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
        "config": {"p": P, "fn_name": "add", "frac_train": 0.3, "seed": 0, "lr": 1e-3, "weight_decay": 1.0,
                   "num_epochs": 60, "d_model": D_MODEL, "act_type": "ReLU", "use_ln": False},
    }, path)

    run, source = import_file(path, tmp_path / "run")

    assert (source.format, source.layout) == ("saved-run", "paper")
    assert run.checkpoint_steps() == [60]  # the final save is taken after `epoch` updates
    assert_close(imported_logits(run, 60), paper_forward(weights, all_tokens()))
    assert run.config.model.eq_output and run.config.model.train_biases
    assert (run.config.task.p, run.config.task.split, run.config.task.seed) == (P, "paper", 0)
    assert run.config.train.warmup_from_zero and run.config.train.steps == 60
    [row] = run.metrics()
    assert row["step"] == 60 and 0.0 <= row["test_acc"] <= 1.0
    from grokkit.files.jsonl import read_rows

    curves = read_rows(run.path / CURVES_FILE)
    assert [r["step"] for r in curves if "test_loss" in r] == [0, 10, 20, 30, 40, 50]  # every 10 steps
    assert len([r for r in curves if "train_loss" in r]) == 60
    status = run.status()
    assert status.imported and status.finished and status.source["format"] == "saved-run"
    meta = run.checkpoint(60).meta
    assert meta["imported"]["sha256"] and meta["metrics"]["step"] == 60


class _FakeHookedTransformerConfig:
    """Stands in for transformer_lens.HookedTransformerConfig when writing a demo-style file."""


def _demo_config(seed: int) -> object:
    module = types.ModuleType("transformer_lens.HookedTransformerConfig")
    _FakeHookedTransformerConfig.__module__ = module.__name__
    _FakeHookedTransformerConfig.__qualname__ = _FakeHookedTransformerConfig.__name__ = "HookedTransformerConfig"
    module.HookedTransformerConfig = _FakeHookedTransformerConfig
    sys.modules[module.__name__] = module
    cfg = _FakeHookedTransformerConfig()
    cfg.__dict__.update(n_layers=1, d_model=D_MODEL, n_heads=N_HEADS, d_head=D_HEAD, d_mlp=D_MLP, act_fn="relu",
                        normalization_type=None, d_vocab=P + 1, d_vocab_out=P, n_ctx=3, seed=seed,
                        dtype=torch.float32, device="cuda")
    return cfg


def test_demo_checkpoints_file_imports_every_checkpoint(tmp_path: Path, monkeypatch) -> None:
    states = [hooked_weights(seed) for seed in range(3)]
    split = make_split(P * P, 0.3, 598)
    monkeypatch.setitem(sys.modules, "transformer_lens.HookedTransformerConfig", None)  # restored afterwards
    path = tmp_path / "grokking_demo.pth"
    torch.save({
        "model": states[-1], "config": _demo_config(999), "checkpoints": states, "checkpoint_epochs": [9, 19, 29],
        "train_losses": [1.0] * 30, "test_losses": [2.0] * 30,
        "train_indices": split.train[torch.randperm(len(split.train))], "test_indices": split.test,
    }, path)

    run, source = import_file(path, tmp_path / "run")

    assert (source.format, source.layout) == ("checkpoints", "hooked")
    assert run.checkpoint_steps() == [10, 20, 30]  # saved after the update of epoch e: step e + 1
    for step, state in zip([10, 20, 30], states):
        assert_close(imported_logits(run, step), hooked_forward(state, all_tokens()))
    assert (run.config.task.seed, run.config.task.split, run.config.model.seed) == (598, "randperm", 999)
    assert not run.config.model.eq_output
    assert [r["step"] for r in run.metrics()] == [10, 20, 30]
    assert any("HookedTransformerConfig" in note for note in source.notes)


def test_train_indices_that_the_config_does_not_give_are_refused_then_set(tmp_path: Path) -> None:
    states = [hooked_weights(0)]
    split = make_split(P * P, 0.3, 1234)
    path = tmp_path / "ckpts.pth"
    torch.save({"checkpoints": states, "checkpoint_epochs": [99], "train_indices": split.train}, path)
    with pytest.raises(ImportFileError, match="task.split/task.seed"):
        import_file(path, tmp_path / "a")
    run, _ = import_file(path, tmp_path / "b", ["task.seed=1234"])
    assert run.checkpoint_steps() == [100]


def test_bare_state_dicts_of_both_layouts(tmp_path: Path) -> None:
    hooked, paper = hooked_weights(5), paper_weights(6, d_vocab_out=P)
    torch.save(hooked, tmp_path / "hooked.pth")
    torch.save(paper, tmp_path / "paper.pth")
    run_h, _ = import_file(tmp_path / "hooked.pth", tmp_path / "h", step=700)
    run_p, _ = import_file(tmp_path / "paper.pth", tmp_path / "p")
    assert run_h.checkpoint_steps() == [700] and run_p.checkpoint_steps() == [0]
    assert_close(imported_logits(run_h, 700), hooked_forward(hooked, all_tokens()))
    assert_close(imported_logits(run_p, 0), paper_forward(paper, all_tokens()))
    assert not run_p.config.model.eq_output  # p output classes in this file: read off W_U


def test_set_that_contradicts_the_weights_is_refused(tmp_path: Path) -> None:
    torch.save(hooked_weights(0), tmp_path / "h.pth")
    with pytest.raises(ImportFileError, match="model.d_mlp"):
        import_file(tmp_path / "h.pth", tmp_path / "run", ["model.d_mlp=64"])


def test_unknown_keys_and_foreign_files_are_refused(tmp_path: Path) -> None:
    weights = hooked_weights(0)
    weights["ln_final.w"] = torch.ones(D_MODEL)
    torch.save(weights, tmp_path / "ln.pth")
    with pytest.raises(ImportFileError, match="ln_final.w"):
        import_file(tmp_path / "ln.pth", tmp_path / "a")
    (tmp_path / "junk.pth").write_bytes(b"not a torch file")
    with pytest.raises(ImportFileError, match="not a readable torch.save file"):
        import_file(tmp_path / "junk.pth", tmp_path / "b")


class _Payload:
    """A pickle payload: unpickling it would create the marker file."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def test_a_pickle_payload_is_refused_and_never_runs(tmp_path: Path, capsys) -> None:
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pth"
    torch.save({"model": hooked_weights(0), "extra": _Payload(marker)}, path)
    assert not marker.exists()

    code = main(["import", str(path), "--out", str(tmp_path / "run")])

    err = capsys.readouterr().err.strip()
    assert code == 2 and not marker.exists()
    assert len(err.splitlines()) == 1 and "refused" in err and "open" in err
    assert not (tmp_path / "run").exists()


def test_measure_report_and_resume_on_an_imported_run(tmp_path: Path, capsys) -> None:
    states = [hooked_weights(seed) for seed in range(2)]
    path = tmp_path / "demo.pth"
    torch.save({"checkpoints": states, "checkpoint_epochs": [49, 99], "train_losses": [1.0] * 100}, path)
    out = tmp_path / "run"
    assert main(["import", str(path), "--out", str(out)]) == 0
    assert main(["measure", str(out), "--no-progress"]) == 0
    assert main(["report", str(out)]) == 0
    assert (out / "report.html").is_file()
    from grokkit.measures.offline import read_measures

    assert [row["step"] for row in read_measures(out)] == [50, 100]
    capsys.readouterr()
    assert main(["resume", str(out), "--no-progress"]) == 0  # nothing to train: it is finished
    assert "already finished" in capsys.readouterr().out
    assert Run(out).checkpoint_steps() == [50, 100]

    torch.save({"model": paper_weights(1), "epoch": 10}, tmp_path / "paper.pth")  # p + 1 output classes
    assert main(["import", str(tmp_path / "paper.pth"), "--out", str(tmp_path / "paper")]) == 0
    assert main(["measure", str(tmp_path / "paper"), "--no-progress"]) == 0
    assert main(["report", str(tmp_path / "paper")]) == 0


@pytest.mark.parametrize("release", ["2.18.0", "3.9.0"])
def test_a_file_the_demo_itself_saved_imports(tmp_path: Path, release: str) -> None:
    """Written by a real HookedTransformer (tests/fixtures/make_tl_demo_files.py), config object included."""
    path = Path(__file__).parent / "fixtures" / f"tl_demo_{release}.pth"
    saved = load_file(path).data  # the very loader under test: weights_only, the config as a record

    run, source = import_file(path, tmp_path / "run")

    assert run.checkpoint_steps() == [2, 4]  # checkpoint_epochs [1, 3]: saved after those updates
    assert (run.config.model.seed, run.config.task.seed, run.config.model.d_mlp) == (999, 598, 32)
    assert any("HookedTransformerConfig" in note for note in source.notes)
    with torch.no_grad():
        torch.testing.assert_close(run.load_model(4)(all_tokens())[:, -1], saved["reference_logits"],
                                   rtol=1e-5, atol=1e-6)
    # the step convention, checked against the demo's own curves: its train loss i is taken before
    # update i (step i), its test loss i after it (step i + 1)
    at_2 = run.metrics()[0]
    assert at_2["train_loss"] == pytest.approx(saved["train_losses"][2], rel=1e-6)
    assert at_2["test_loss"] == pytest.approx(saved["test_losses"][1], rel=1e-6)


def test_paper_multi_checkpoint_run_with_its_config_and_train_data(tmp_path: Path) -> None:
    import random

    pairs = [(i, j, P) for i in range(P) for j in range(P)]
    random.Random(3).shuffle(pairs)  # gen_train_test with Config.seed = 3
    states = [paper_weights(10), paper_weights(11)]
    path = tmp_path / "full_run.pth"
    torch.save({"state_dicts": states, "epochs": [99, 199], "train_data": pairs[: int(0.5 * P * P)],
                "config": {"p": P, "fn_name": "add", "frac_train": 0.5, "seed": 3, "num_epochs": 200}}, path)

    run, source = import_file(path, tmp_path / "run")

    assert (source.format, source.layout, run.checkpoint_steps()) == ("checkpoints", "paper", [100, 200])
    assert (run.config.task.split, run.config.task.seed, run.config.task.frac_train) == ("paper", 3, 0.5)
    for step, state in zip([100, 200], states):
        assert_close(imported_logits(run, step), paper_forward(state, all_tokens()))
    bad = tmp_path / "rand.pth"
    torch.save({"model": states[0], "config": {"p": P, "fn_name": "rand"}}, bad)
    with pytest.raises(ImportFileError, match="config.fn_name"):
        import_file(bad, tmp_path / "rand")


def test_a_failed_import_leaves_nothing_behind(tmp_path: Path) -> None:
    weights = hooked_weights(0)
    weights["blocks.0.mlp.W_in"][0, 0] = float("nan")
    torch.save(weights, tmp_path / "nan.pth")
    with pytest.raises(ImportFileError, match="W_in holds NaN"):
        import_file(tmp_path / "nan.pth", tmp_path / "run")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["nan.pth"]


# --- issue 16: sizes and odd fields in the file: one line, nothing written ----------------------------

def tiny_hooked(p: int) -> dict[str, torch.Tensor]:
    """A HookedTransformer state dict of width 1 over ``p`` symbols (a small file declaring a huge grid)."""
    one = lambda *shape: torch.full(shape, 0.1)  # noqa: E731
    return {
        "embed.W_E": one(p + 1, 1), "pos_embed.W_pos": one(3, 1),
        **{f"blocks.0.attn.W_{k}": one(1, 1, 1) for k in "QKV"}, **{f"blocks.0.attn.b_{k}": one(1, 1) for k in "QKV"},
        "blocks.0.attn.W_O": one(1, 1, 1), "blocks.0.attn.b_O": one(1),
        "blocks.0.mlp.W_in": one(1, 1), "blocks.0.mlp.b_in": one(1),
        "blocks.0.mlp.W_out": one(1, 1), "blocks.0.mlp.b_out": one(1),
        "unembed.W_U": one(1, p), "unembed.b_U": one(p),
    }


def test_a_small_file_declaring_a_huge_p_is_refused_before_allocating(tmp_path: Path, capsys) -> None:
    path = tmp_path / "huge.pth"
    torch.save({"checkpoints": [tiny_hooked(100003)], "checkpoint_epochs": [9], "train_indices": torch.arange(10)}, path)
    assert path.stat().st_size < 2_000_000
    assert main(["import", str(path), "--out", str(tmp_path / "run"), "--threads", "1"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err and "task.p: 100003" in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["huge.pth"]


def _with_field(**fields) -> dict:
    return {"checkpoints": [hooked_weights(0)], "checkpoint_epochs": [9], **fields}


ODD = {
    "nan epoch": ({"model": hooked_weights(0), "epoch": float("nan")}, "epoch"),
    "huge epoch": ({"model": hooked_weights(0), "epoch": 1e300}, "epoch"),
    "string epochs": (_with_field(checkpoint_epochs="ab"), "checkpoint_epochs"),
    "negative epochs": ({"checkpoints": [hooked_weights(0), hooked_weights(1)], "checkpoint_epochs": [-5, 9]},
                        "checkpoint_epochs"),
    "fractional epochs": (_with_field(checkpoint_epochs=[9.5]), "checkpoint_epochs"),
    "string train_indices": (_with_field(train_indices="0,1,2"), "train_indices"),
    "nested train_indices": (_with_field(train_indices=[[0, 1], [2]]), "train_indices"),
    "float train_indices": (_with_field(train_indices=torch.tensor([0.5, float("nan")])), "train_indices"),
    "1-D W_E": ({**hooked_weights(0), "embed.W_E": torch.zeros(P + 1)}, "embed.W_E"),
    "0-D W_U": ({**hooked_weights(0), "unembed.W_U": torch.tensor(1.0)}, "unembed.W_U"),
    "string losses": ({"model": hooked_weights(0), "train_losses": "abc"}, "train_losses"),
    "huge integer loss": ({"model": hooked_weights(0), "train_losses": [10**400]}, "train_losses"),
    "list fn_name": ({"model": paper_weights(0), "config": {"fn_name": ["add"]}}, "config.fn_name"),
    "complex W_E": ({**hooked_weights(0), "embed.W_E": hooked_weights(0)["embed.W_E"].to(torch.complex64)},
                    "embed.W_E"),
}


@pytest.mark.parametrize("name", list(ODD))
def test_odd_fields_are_one_line_and_write_nothing(tmp_path: Path, capsys, name: str) -> None:
    content, field = ODD[name]
    path = tmp_path / "odd.pth"
    torch.save(content, path)
    assert main(["import", str(path), "--out", str(tmp_path / "run"), "--threads", "1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("grokkit: error: ") and err.count("\n") == 1 and "Traceback" not in err, err
    assert field in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["odd.pth"]


def test_a_negative_step_is_refused(tmp_path: Path, capsys) -> None:
    torch.save(hooked_weights(0), tmp_path / "m.pth")
    assert main(["import", str(tmp_path / "m.pth"), "--out", str(tmp_path / "run"), "--step", "-4"]) == 2
    assert "--step" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.pth"]


def test_a_run_written_in_the_papers_format_imports_back_with_the_same_logits(tmp_path: Path, tiny_config) -> None:
    """``write_paper_file`` (the stand-in for the paper's published checkpoint in the notebook) round-trips."""
    from grokkit.importer.export import write_paper_file
    from grokkit.workflow import train_run

    paper = {"init": "paper", "eq_output": True, "train_biases": True}
    run = Run.create(tmp_path / "ours", tiny_config(task={"split": "paper", "seed": 3}, model=paper,
                                                    train={"steps": 20, "eval_every": 1, "checkpoint_every": 10}))
    train_run(run, progress=False)
    path = write_paper_file(run, tmp_path / "paper" / "full_run.pth")
    data = torch.load(path, weights_only=True)
    assert data["checkpoint_epochs"] == [9, 19] and data["config"]["fn_name"] == "add"
    assert data["checkpoints"][0]["blocks.0.attn.W_O"].dim() == 2  # the paper's layout

    imported, source = import_file(path, tmp_path / "imported")
    assert (source.format, source.layout) == ("checkpoints", "paper")
    assert imported.checkpoint_steps() == [10, 20]
    assert (imported.config.task.split, imported.config.task.seed) == ("paper", 3)
    tokens = run.dataset.tokens
    for step in (10, 20):
        with torch.no_grad():
            assert_close(imported.load_model(step)(tokens)[:, -1], run.load_model(step)(tokens)[:, -1])
    from grokkit.files.jsonl import read_rows

    curves = read_rows(imported.path / CURVES_FILE)
    ours = {r["step"]: r["train_loss"] for r in run.metrics()}
    assert all(abs(r["train_loss"] - ours[r["step"]]) < 1e-6 for r in curves if "train_loss" in r)
