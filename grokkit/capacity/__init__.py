"""The capacity study of Huang et al. 2026 ("Why Larger Models Learn More"): K linear-regression tasks
of Zipf frequencies through one shared linear bottleneck, every width trained in one stack.

Data flow: config/spec → mixture (π, λ, F) → data (fresh Gaussian batches per seeded stream)
→ model (I bottlenecks, padded to the widest and masked) → train (AdamW, inverse-√ schedule,
per-model clipping; callbacks) → measures (normalised loss, s_k, s̃_k, δ_F, interference,
injections) beside theory (Theorem 3, Proposition 6) → folder (the output files) → figures,
report (HTML). ``study.run_study`` is the whole of ``grokkit capacity SPEC --out DIR``.

>>> from grokkit.capacity import load_capacity_spec, run_study, figures
>>> result = run_study(load_capacity_spec("capacity_phase_cpu"), "out/capacity")
>>> figures(result.path)["phase_beta1.0"].show()
>>> study = load_study("out/capacity")            # the folder read back and checked: a typed Study
>>> resume_study("out/capacity", steps=8000)      # train on, bit for bit (`grokkit resume DIR --steps N`)

The views of a study folder: ``grokkit info`` (``summary``), ``grokkit report`` (``report``),
``grokkit compare DIR1 DIR2`` (``compare``), ``grokkit resume DIR --steps N`` (``study.resume_study``).
"""

from grokkit.capacity.config import (CapacityTrainConfig, InjectionConfig, MeasureConfig, Member, MixtureConfig,
                                     ReportConfig, StackConfig)
from grokkit.capacity.figures import figures
from grokkit.capacity.folder import CapacityFolder
from grokkit.capacity.load import Study, load_study
from grokkit.capacity.model import CapacityModels
from grokkit.capacity.spec import CapacitySpec, load_capacity_spec, spec_from_dict
from grokkit.capacity.study import StudyResult, resume_study, run_study
from grokkit.capacity.theory import MixtureTheory, mixture_theory
from grokkit.capacity.callbacks import StackCallback
from grokkit.capacity.train import TrainedStack, train_stack

__all__ = [
    "CapacityFolder",
    "CapacityModels",
    "CapacitySpec",
    "CapacityTrainConfig",
    "InjectionConfig",
    "MeasureConfig",
    "Member",
    "MixtureConfig",
    "MixtureTheory",
    "ReportConfig",
    "StackCallback",
    "StackConfig",
    "Study",
    "StudyResult",
    "TrainedStack",
    "figures",
    "load_capacity_spec",
    "load_study",
    "mixture_theory",
    "resume_study",
    "run_study",
    "spec_from_dict",
    "train_stack",
]
