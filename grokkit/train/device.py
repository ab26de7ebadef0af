"""Device speed in one place: which device a run trains on, and how many CPU threads it uses.

CPU threads: torch's default (one per core) is kept. The training step is written so that
more threads never make it slower and never change its result at a fixed count: its
gathers are ``F.embedding`` (a dense, deterministic backward), not ``table[tokens]``, whose
accumulating ``index_put_`` backward was 14× slower with 2 threads than with 1 and summed
in a thread-dependent order. ``benchmarks/train_step.py`` measures 1 against 2 threads.

Subnormal floats: once a run has memorised, the float64 loss's gradient holds values below
float32's smallest normal number (softmax probabilities of e^-90 and less); cast back to float32
they are subnormal, and x86 CPUs take a slow microcode path for every operation on them. On the
quickstart the step fell from 125 to 21 steps/s after memorisation. Training therefore flushes
subnormals to zero on the CPU (``flush_subnormals``): values below 1.2e-38 become 0, which
changes no update that matters (AdamW divides by √v + 1e-8) and keeps training deterministic.

Freed memory: each step allocates and frees the same few megabytes of activations. glibc's
malloc hands large freed blocks back to the kernel (it trims the heap's top and maps big blocks
anew), so every step page-faulted its activations in again: several hundred minor faults a
step on the quickstart, each a kernel entry and a page zeroed. ``retain_freed_memory`` raises
glibc's trim and mmap thresholds (``mallopt``) so freed blocks stay in the process for the next
step: no page faults after the first steps, the same arithmetic (bit-identical weights), at the
cost of keeping the process's peak heap until it exits. Elsewhere than glibc it does nothing.

CUDA graphs and ``torch.compile``: not used. No GPU was available to measure them on, and
on the CPU the step is dominated by a few large batched matmuls that compilation does not
shorten; they stay off until a measurement says otherwise.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from grokkit.errors import ConfigError

DEVICES = ("auto", "cpu", "cuda")


def resolve_device(device: str) -> str:
    """``train.device`` as a torch device name: auto → cuda when present, else cpu."""
    import torch  # here, not at import: `grokkit --help` must not pay for torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise ConfigError("train.device: 'cuda' requested but no CUDA device is available; use cpu or auto")
    if device not in DEVICES:
        raise ConfigError(f"train.device: must be one of {', '.join(DEVICES)}, got {device!r}")
    return device


def set_threads(threads: int | None) -> None:
    """Use ``threads`` CPU threads for torch (None: keep torch's default, one per core)."""
    if threads is None:
        return
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ConfigError(f"--threads: must be an integer >= 1, got {threads!r}")
    import torch

    torch.set_num_threads(threads)


_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameters (malloc.h)
_RETAIN_BYTES = 32 << 20  # glibc's largest mmap threshold on 64-bit (DEFAULT_MMAP_THRESHOLD_MAX)


def retain_freed_memory() -> bool:
    """Keep freed heap blocks up to 32 MiB in the process (glibc only; see the module docstring).

    Process-wide and left set (it changes no result); True when glibc accepted it.
    """
    import ctypes
    import sys

    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None)
        mallopt = libc.mallopt  # absent from musl and other C libraries
    except (OSError, AttributeError):
        return False
    # setting either also ends glibc's own moving mmap threshold: both are fixed from here on
    return bool(mallopt(_M_TRIM_THRESHOLD, 2 * _RETAIN_BYTES)) and bool(mallopt(_M_MMAP_THRESHOLD, _RETAIN_BYTES))


@contextmanager
def flush_subnormals(device: str) -> Iterator[None]:
    """Flush float32 subnormals to zero on the CPU for the ``with`` block (see the module docstring)."""
    import torch

    if device != "cpu" or not torch.set_flush_denormal(True):  # False: this CPU cannot
        yield
        return
    try:
        yield
    finally:
        torch.set_flush_denormal(False)  # torch's default
