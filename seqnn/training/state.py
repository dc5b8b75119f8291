"""The resumable training state: seeds, RNG capture, and ``state.pt`` in the run directory.

The training state is written with ``torch.save`` and read back with
``torch.load(weights_only=True)``: that loader only rebuilds tensors, numbers, strings,
``None`` and plain containers and refuses any other pickled object, so a tampered
``state.pt`` cannot run code. Everything in it is therefore kept plain (RNG states become
tensors and lists). The finished model directory never uses it: that is safetensors + JSON
(:mod:`seqnn.runtime.checkpoint`).
"""

from __future__ import annotations

import os
import random
import re
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..data.files import atomic_path
from ..errors import TrainingError
from ..layout import STATE as STATE_FILE

STATE_VERSION = 1


def seed_everything(seed: int) -> None:
    """Seed Python's ``random``, NumPy's global RNG and torch (all devices)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def capture_rng() -> dict[str, Any]:
    """All global RNG states as plain tensors / lists (loadable with ``weights_only=True``)."""
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    version, py_state, gauss_next = random.getstate()
    state: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "numpy": {"kind": kind, "keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos),
                  "has_gauss": int(has_gauss), "cached": float(cached)},
        "python": {"version": version, "state": torch.tensor(py_state, dtype=torch.int64),
                   "gauss_next": gauss_next},
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng(state: dict[str, Any]) -> None:
    """Restore the RNG states captured by :func:`capture_rng`."""
    torch.set_rng_state(state["torch"])
    n = state["numpy"]
    keys = n["keys"].numpy().astype(np.uint32)
    np.random.set_state((n["kind"], keys, n["pos"], n["has_gauss"], n["cached"]))
    p = state["python"]
    random.setstate((p["version"], tuple(int(v) for v in p["state"].tolist()), p["gauss_next"]))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_state(out_dir: str | os.PathLike, state: dict[str, Any]) -> Path:
    """Write the training state to ``out_dir/state.pt`` atomically (plain objects only).

    The state goes to a temporary file that replaces ``state.pt`` only when complete, so a
    write that fails (no space left) keeps the last good state for ``--resume`` and stops
    with one :class:`~seqnn.errors.OutputError` naming ``state.pt`` and the reason (torch
    writes through a Python file, whose ``OSError`` carries the reason)."""
    path = Path(out_dir) / STATE_FILE
    with atomic_path(path, inside=out_dir) as tmp, open(tmp, "wb") as fh:
        torch.save({"state_version": STATE_VERSION, **state}, fh)
    return path


def load_state(out_dir: str | os.PathLike) -> dict[str, Any] | None:
    """Read ``out_dir/state.pt`` with ``weights_only=True``; ``None`` when there is none."""
    path = Path(out_dir) / STATE_FILE
    if not path.is_file():
        return None
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        msg = f"{path}: unreadable training state ({load_error(err)}); delete it to start over"
        raise TrainingError(msg) from None
    version = state.get("state_version", 0) if isinstance(state, dict) else None
    if not isinstance(version, int) or version > STATE_VERSION:
        raise TrainingError(f"{path}: not a training state this seqnn can resume")
    return state


def load_error(err: BaseException) -> str:
    """The reason in ``torch.load``'s error, in one short line: the refused global of a
    tampered pickle, never torch's advice to load it with ``weights_only=False``."""
    text = str(err)
    if m := re.search(r"unsupported global:? (?:GLOBAL )?(\S+)", text, re.IGNORECASE):
        return f"it holds the Python object {m.group(1)}, which a training state never does"
    if m := re.search(r"WeightsUnpickler error: ([^\n]+)", text):
        text = m.group(1)
    advice = ("weights only load failed", "check the documentation", "in pytorch")
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    lines = [ln for ln in lines if "weights_only" not in ln and not ln.lower().startswith(advice)]
    return lines[0][:200] if lines else f"{type(err).__name__}: not a plain tensor file"


def cpu_state_dict(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    """A detached CPU copy of ``module.state_dict()`` (for best-so-far weights)."""
    return {k: v.detach().to("cpu", copy=True) for k, v in module.state_dict().items()}


__all__ = ["STATE_FILE", "capture_rng", "cpu_state_dict", "load_error", "load_state",
           "restore_rng",
           "save_state", "seed_everything"]
