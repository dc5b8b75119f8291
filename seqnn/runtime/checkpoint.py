"""A trained model on disk: ``model.safetensors`` (weights) + ``model.json`` (the recipe).

``model.json`` carries everything needed to rebuild the model without any YAML:
``format_version``, ``model`` (registry name), ``params`` (``model.config``), ``task``,
``class_names``, ``n_outputs``, ``max_len``, ``truncate``, ``alphabet_policy``,
``seqnn_version``, ``torch_version``, ``data_hash``, ``created``, plus whatever the caller
adds (e.g. ``identity_threshold``, ``best_epoch``, or ``ensemble``: the number of averaged
members, whose weights are stored as ``members.<i>.<name>``). Loading never unpickles:
weights come from ``safetensors.torch.load_file`` and the recipe from JSON. Every problem
with a model directory raises :class:`CheckpointError` (a ``ValueError``) naming the file
and the reason.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .._version import __version__
from ..data.files import atomic_path
from ..errors import CheckpointError
from ..layout import MODEL_META as META_FILE
from ..layout import WEIGHTS as WEIGHTS_FILE
from ..modelmeta import FORMAT_VERSION, REQUIRED_KEYS
from ..models import get_model
from ..models.ensemble import Ensemble
from .recipe import check_finite, check_fit, check_meta, parse_meta, read_header


def seqnn_version() -> str:
    """The version of this seqnn package (``seqnn.__version__``)."""
    return __version__


def save_model(directory: str | os.PathLike, model: nn.Module, meta: dict[str, Any]) -> Path:
    """Write ``model`` to ``directory`` as ``model.safetensors`` + ``model.json``, atomically.

    ``meta`` must give ``task``, ``class_names``, ``n_outputs``, ``max_len`` and ``truncate``
    (``model`` and ``params`` default to ``model.name`` / ``model.config``; ``alphabet_policy``
    defaults to ``"map"``); any further JSON-serialisable keys are stored as given. Tensors
    are saved contiguous, on CPU, one storage each. Returns the directory path.
    """
    directory = Path(directory)
    record: dict[str, Any] = {
        "model": getattr(model, "name", None),
        "params": dict(getattr(model, "config", {})),
        "alphabet_policy": "map",
        "seqnn_version": seqnn_version(),
        "torch_version": torch.__version__,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        **meta,
        "format_version": FORMAT_VERSION,
    }
    missing = [k for k in REQUIRED_KEYS if record.get(k) is None]
    if missing:
        raise ValueError(f"save_model: meta lacks {', '.join(missing)}")
    text = json.dumps(record, indent=2, sort_keys=True)  # fails early if not serialisable
    weights = {k: v.detach().to("cpu").contiguous().clone() for k, v in model.state_dict().items()}
    directory.mkdir(parents=True, exist_ok=True)
    from safetensors.torch import save_file

    with atomic_path(directory / WEIGHTS_FILE) as tmp:
        save_file(weights, tmp, metadata={"format": "pt", "seqnn_format_version": "1"})
    with atomic_path(directory / META_FILE) as tmp:
        Path(tmp).write_text(text + "\n")
    return directory


def read_meta(directory: str | os.PathLike) -> dict[str, Any]:
    """Read and validate ``model.json`` of a model directory (no weights are touched): the
    size, nesting, types and ranges of :func:`seqnn.runtime.recipe.check_meta`."""
    path = Path(directory) / META_FILE
    if not Path(directory).is_dir():
        raise CheckpointError(f"{directory}: model directory does not exist")
    if not path.is_file():
        raise CheckpointError(f"{path}: missing (not a seqnn model directory)")
    return check_meta(parse_meta(path), path)


def read_weights(directory: str | os.PathLike) -> dict[str, torch.Tensor]:
    """Read ``model.safetensors`` (never unpickles; a pickle or other file is refused)."""
    path = Path(directory) / WEIGHTS_FILE
    if not path.is_file():
        raise CheckpointError(f"{path}: missing")
    from safetensors.torch import load_file

    try:
        return load_file(str(path), device="cpu")
    except Exception as err:  # safetensors raises SafetensorError, OSError, ...
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise CheckpointError(f"{path}: not a valid safetensors file ({first})") from None


def build_model(meta: dict[str, Any], source: str | os.PathLike = META_FILE) -> nn.Module:
    """Rebuild the (untrained) model described by a ``model.json`` record.

    A record with ``"ensemble": k`` (k >= 2) rebuilds a :class:`seqnn.models.ensemble.Ensemble`
    of ``k`` such models; errors name ``source``. Build it under
    ``with torch.device("meta"):`` to see its tensors' names and shapes without allocating them.
    """
    params = {k: v for k, v in meta["params"].items() if k not in ("n_outputs", "task")}
    size = meta.get("ensemble", 1)
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise CheckpointError(f"{source}: 'ensemble' must be a positive integer, got {size!r}")
    try:
        members = [get_model(meta["model"], n_outputs=meta["n_outputs"], task=meta["task"],
                             **params) for _ in range(size)]
        return Ensemble(members) if size > 1 else members[0]
    except Exception as err:  # a recipe from anywhere: any refusal by a builder is one line
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        msg = f"{source}: cannot rebuild model {meta['model']!r}: {first}"
        raise CheckpointError(msg) from None


def load_model(
    directory: str | os.PathLike, device: str | torch.device = "cpu"
) -> tuple[nn.Module, dict[str, Any]]:
    """Load a model directory written by :func:`save_model`; returns ``(model, meta)``.

    The model is rebuilt from the registry with the stored parameters, its weights are
    loaded strictly (every tensor must match), moved to ``device`` and put in eval mode.
    Raises :class:`CheckpointError` for a missing directory or file, invalid JSON or
    safetensors (e.g. a pickle renamed ``model.safetensors``, which is never executed),
    a newer ``format_version``, missing keys, or weights that do not fit the model.
    Nothing is allocated before the checks of :mod:`seqnn.runtime.recipe` pass: ``model.json``
    first, then the safetensors header against the model built on the ``meta`` device
    (names, shapes, floating-point dtypes); loaded weights must be finite.
    """
    meta = read_meta(directory)
    weights_path = Path(directory) / WEIGHTS_FILE
    header = read_header(weights_path)
    with torch.device("meta"):
        shapes = build_model(meta, Path(directory) / META_FILE)
    check_fit(shapes, header, weights_path)
    weights = read_weights(directory)
    check_finite(weights, weights_path)
    model = build_model(meta, Path(directory) / META_FILE)
    try:
        model.load_state_dict(weights, strict=True)
    except RuntimeError as err:
        first = str(err).strip().splitlines()[0]
        msg = f"{Path(directory) / WEIGHTS_FILE}: weights do not fit: {first}"
        raise CheckpointError(msg) from None
    return model.to(device).eval(), meta


__all__ = [
    "FORMAT_VERSION",
    "CheckpointError",
    "save_model",
    "load_model",
    "read_meta",
    "read_weights",
    "build_model",
    "seqnn_version",
]
