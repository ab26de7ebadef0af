"""Open a file from elsewhere without running any code from it.

Everything goes through ``torch.load(path, map_location="cpu", weights_only=True)``:
PyTorch's restricted unpickler, which builds tensors, containers and numbers and
refuses any other global, so a pickle payload (an object whose ``__reduce__`` calls
``os.system``…) is rejected before anything runs. Two allowances are added, both for
the TransformerLens grokking demo, which saves its ``HookedTransformerConfig`` object
beside the weights: that class name is mapped to ``RecordedObject``, an inert grokkit
class that only stores the fields it is given (TransformerLens's own code never runs),
and numpy's scalar constructors are allowed for the numbers in it, as PyTorch documents.
"""

from __future__ import annotations

import pickle
import re
from pathlib import Path
from typing import Any, NamedTuple

import torch

from grokkit.errors import GrokkitError
from grokkit.files.digest import sha256_file


class ImportFileError(GrokkitError):
    """A file to import is missing, unsafe to load, or in no format grokkit knows."""


class RecordedObject:
    """Fields of a foreign object (the demo's ``HookedTransformerConfig``), stored and nothing else."""

    def __repr__(self) -> str:
        return f"RecordedObject({vars(self)})"


# Where the demo's config class lived in the TransformerLens releases that wrote such files.
RECORDED_CLASSES = (
    "transformer_lens.HookedTransformerConfig.HookedTransformerConfig",  # 1.x, 2.x
    "transformer_lens.config.hooked_transformer_config.HookedTransformerConfig",  # 3.x
)


# How the restricted unpickler words a refusal to import or call something (vs. a damaged file).
CODE_MARKERS = ("GLOBAL", "unrecognized function", "Can only create new object", "Can only build")


def numpy_scalar_globals() -> list:
    """What a pickled numpy number needs (the demo's config holds some, e.g. ``initializer_range``):
    numpy's own ``scalar(dtype, bytes)`` and ``dtype`` constructors and the numeric dtype classes,
    as PyTorch documents for ``weights_only`` loads. They build numbers from bytes and run no file code."""
    import numpy as np

    scalar = getattr(getattr(np, "_core", None), "multiarray", None) or np.core.multiarray
    numeric = [type(np.dtype(t)) for t in ("f2", "f4", "f8", "i1", "i2", "i4", "i8", "u1", "bool")]
    names = ("numpy.core.multiarray.scalar", "numpy._core.multiarray.scalar")
    return [(scalar.scalar, name) for name in names] + [np.dtype, *numeric]


class LoadedFile(NamedTuple):
    path: Path
    data: Any  # whatever torch.save wrote: tensors, dicts, lists, numbers, RecordedObject
    sha256: str


def load_file(path: str | Path) -> LoadedFile:
    """The file's contents, loaded on the CPU with ``weights_only=True``; one-line errors otherwise."""
    path = Path(path)
    if not path.is_file():
        raise ImportFileError(f"{path}: no such file")
    allowed = [(RecordedObject, name) for name in RECORDED_CLASSES] + numpy_scalar_globals()
    try:
        with torch.serialization.safe_globals(allowed):
            data = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        message = str(exc)
        if not any(marker in message for marker in CODE_MARKERS):
            detail = message.split("WeightsUnpickler error:")[-1].strip().splitlines()[0]
            raise ImportFileError(f"{path}: not a readable torch.save file ({detail})") from None
        found = re.search(r"GLOBAL (\S+)", message) or re.search(r"function (\S+)", message)
        what = f" ({found.group(1)})" if found else ""
        raise ImportFileError(
            f"{path}: refused: loading it would run code from the file{what}; grokkit loads only "
            "tensors, containers and numbers (torch.load weights_only=True)"
        ) from None
    except (RuntimeError, EOFError, ValueError, OSError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ImportFileError(f"{path}: not a readable torch.save file ({first})") from None
    return LoadedFile(path, data, sha256_file(path))
