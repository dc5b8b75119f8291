"""The device a model runs on and the process settings around it: device choice, mixed
precision on CUDA, and two memory limits (glibc's heap, oneDNN's primitive cache).

Shared by training and inference; torch is imported here, so the CLI imports this module
only inside the commands that run a model.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from contextlib import AbstractContextManager

import torch

from ..errors import ConfigError


def select_device(name: str = "auto") -> torch.device:
    """Turn ``"auto" | "cpu" | "cuda" | "cuda:N" | "mps"`` into a ``torch.device``.

    ``auto`` picks CUDA, then Apple MPS, then CPU. Asking for a device that is not available
    raises :class:`~seqnn.errors.ConfigError` (a ``ValueError``) saying so, one line (no
    silent fallback to CPU).
    """
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        return torch.device("mps" if mps is not None and mps.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ConfigError(f"unknown device {name!r}; use auto, cpu, cuda, cuda:N or mps") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError(
                f"device {name!r} requested but CUDA is not available (no GPU or a CPU-only "
                "torch build); use device 'cpu' or 'auto'"
            )
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise ConfigError(f"device {name!r}: only {torch.cuda.device_count()} GPU(s) visible")
    elif device.type == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise ConfigError(f"device {name!r} requested but Apple MPS is not available")
    elif device.type != "cpu":
        raise ConfigError(f"unsupported device {name!r}; use auto, cpu, cuda, cuda:N or mps")
    return device


def limit_heap_growth(threshold: int = 4 << 20) -> bool:
    """On glibc, serve every allocation over ``threshold`` bytes by ``mmap`` (``mallopt
    M_MMAP_THRESHOLD``) so freed batch activations go back to the system; returns whether it
    applied. glibc's default threshold climbs to 32 MiB after the first large free, and batches
    of ever-changing widths then fragment the heap, so peak memory grows with the file; this
    keeps it flat at the cost of some wall time (page faults). Training does not use it:
    there the backward pass makes it much slower (benchmarks/README.md, "Prediction" and
    "Training" have the measurements). Process-wide, so only
    the ``seqnn predict`` and ``embed`` commands call it; a ``MALLOC_MMAP_THRESHOLD_`` set in
    the environment is left alone.
    """
    if not sys.platform.startswith("linux") or "MALLOC_MMAP_THRESHOLD_" in os.environ:
        return False
    try:
        import ctypes

        return bool(ctypes.CDLL("libc.so.6").mallopt(-3, int(threshold)))  # M_MMAP_THRESHOLD
    except (OSError, AttributeError):
        return False


@contextlib.contextmanager
def heap_limited(threshold: int = 4 << 20) -> Iterator[None]:
    """:func:`limit_heap_growth` for the block only: afterwards allocations up to 32 MiB (glibc's
    largest automatic threshold) come from the heap again, at training's speed, and the freed
    pages go back to the system. For the inference after training (temperature, thresholds,
    predictions on every split): without it, predicting a large training split peaks far
    above the training epoch itself (benchmarks/README.md, "Every step at proteome scale")."""
    applied = limit_heap_growth(threshold)
    try:
        yield
    finally:
        if applied:
            import ctypes

            libc = ctypes.CDLL("libc.so.6")
            libc.mallopt(-3, 32 << 20)  # M_MMAP_THRESHOLD
            libc.malloc_trim(0)


#: oneDNN primitives kept per process while training (oneDNN's default is 1024)
PRIMITIVE_CACHE_CAPACITY = 8


def limit_primitive_cache(capacity: int = PRIMITIVE_CACHE_CAPACITY) -> bool:
    """Cap oneDNN's primitive cache (``ONEDNN_PRIMITIVE_CACHE_CAPACITY``) before the first
    convolution runs; returns whether it set the variable.

    Per-batch padding gives nearly every batch its own width, so each batch builds new conv
    primitives; oneDNN keeps the last 1024 with their buffers, a large share of the peak
    memory on long proteins (benchmarks/README.md, "Training"). Old widths
    are rarely seen again, so a small cache costs no speed. oneDNN reads the variable once,
    when a process makes its first primitive, so this acts only if called before that; a
    value set in the environment is left alone.
    """
    if any(f"{p}_PRIMITIVE_CACHE_CAPACITY" in os.environ for p in ("ONEDNN", "DNNL")):
        return False
    os.environ["ONEDNN_PRIMITIVE_CACHE_CAPACITY"] = str(int(capacity))
    return True


def amp_settings(device: torch.device, amp: bool) -> tuple[bool, torch.dtype | None, bool]:
    """Mixed-precision choice: ``(enabled, autocast dtype, use GradScaler)``.

    Only on CUDA: bfloat16 where ``torch.cuda.is_bf16_supported()`` (no scaler needed),
    otherwise float16 with a ``GradScaler``. Elsewhere (or ``amp=False``) full float32.
    """
    if not amp or device.type != "cuda":
        return False, None, False
    if torch.cuda.is_bf16_supported():
        return True, torch.bfloat16, False
    return True, torch.float16, True


def autocast(device: torch.device, amp: bool) -> AbstractContextManager:
    """The autocast context for ``device`` under :func:`amp_settings` (a no-op without AMP)."""
    enabled, dtype, _ = amp_settings(device, amp)
    return torch.autocast(device_type=device.type, dtype=dtype, enabled=enabled)


__all__ = ["PRIMITIVE_CACHE_CAPACITY", "amp_settings", "autocast", "heap_limited",
           "limit_heap_growth", "limit_primitive_cache", "select_device"]
