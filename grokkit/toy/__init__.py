"""The sparse toy model of superposition on finite datasets (Henighan et al. 2023).

Data flow: config → data (sparse unit-norm points) → model (I instances, one stack)
→ train (full-batch AdamW, warm-up + cosine) → measures (dimensionalities, norms)
→ sweep: grid (models → chunks) → unit (one chunk trained and measured, the executor's unit)
→ folder (the sweep folder's one owner; chunk_file: a chunk's tensors and record) → reader
(what everyone else reads) → report (HTML). spec reads a TOML spec into config's ToySpec.

>>> from grokkit.toy import ToyInstance, ToyTrainConfig, train_models, model_views, measure
>>> insts = [ToyInstance(n=100, m=2, S=0.9, T=T, R=1, weight_decay=1e-2, data_seed=0, init_seed=0) for T in (5, 500)]
>>> result = train_models(insts, ToyTrainConfig(steps=2000, warmup_steps=100))
>>> rows = [measure(v) for v in model_views(result, insts)]
"""

from grokkit.toy.config import ReportConfig, SweepConfig, ToyConfig, ToyInstance, ToySpec, ToyTrainConfig
from grokkit.toy.data import PointBatch, SparsePoints, ToyDataset, make_dataset, sample_points, stack_points
from grokkit.toy.measures import SCALARS, ModelView, dimensionality, is_pentagon, measure, model_views
from grokkit.toy.grid import expand_grid
from grokkit.toy.model import LossGrad, ToyModels
from grokkit.toy.reader import load_rows, load_spec_of, load_tensors
from grokkit.toy.report import write_report
from grokkit.toy.spec import load_toy_spec, spec_from_dict
from grokkit.toy.summary import curves, memorisation, regime_checks, test_loss_peak
from grokkit.toy.sweep import SweepResult, run_sweep
from grokkit.toy.train import InstanceAdamW, TrainedModels, lr_at, train_models

__all__ = [
    "InstanceAdamW",
    "LossGrad",
    "ModelView",
    "PointBatch",
    "ReportConfig",
    "SCALARS",
    "SparsePoints",
    "SweepConfig",
    "SweepResult",
    "ToyConfig",
    "ToyDataset",
    "ToyInstance",
    "ToyModels",
    "ToySpec",
    "ToyTrainConfig",
    "TrainedModels",
    "curves",
    "dimensionality",
    "expand_grid",
    "is_pentagon",
    "load_rows",
    "load_spec_of",
    "load_tensors",
    "load_toy_spec",
    "lr_at",
    "make_dataset",
    "measure",
    "memorisation",
    "model_views",
    "regime_checks",
    "run_sweep",
    "sample_points",
    "spec_from_dict",
    "stack_points",
    "test_loss_peak",
    "train_models",
    "write_report",
]
