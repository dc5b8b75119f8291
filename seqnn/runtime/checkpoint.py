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

import contextlib
import json
import os
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .._version import __version__
from ..data.files import atomic_path
from ..errors import CheckpointError, OutputError
from ..layout import MODEL_META as META_FILE
from ..layout import WEIGHTS as WEIGHTS_FILE
from ..modelmeta import FORMAT_VERSION, REQUIRED_KEYS, expected_input_encoding, input_encoding
from ..models import get_model
from ..models.ensemble import Ensemble
from ..models.layers import InputLayer
from .recipe import check_finite, check_fit, check_meta, parse_meta, read_header

#: the key of the weights' safetensors metadata that records :func:`input_encoding`
INPUT_KEY = "seqnn_input_encoding"


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
    kinds = {m.kind for m in model.modules() if isinstance(m, InputLayer)}
    if len(kinds) == 1:  # the input table the weights are trained on (checked on load)
        record["input_encoding"] = input_encoding(kinds.pop())
    text = json.dumps(record, indent=2, sort_keys=True)  # fails early if not serialisable
    weights = {k: v.detach().to("cpu").contiguous().clone() for k, v in model.state_dict().items()}
    directory.mkdir(parents=True, exist_ok=True)
    from safetensors.torch import save_file

    with atomic_path(directory / WEIGHTS_FILE, inside=directory) as tmp, _write_errors(
            directory / WEIGHTS_FILE):
        save_file(weights, tmp, metadata={"format": "pt", "seqnn_format_version": "1", **(
            {INPUT_KEY: record["input_encoding"]} if "input_encoding" in record else {})})
    with atomic_path(directory / META_FILE, inside=directory) as tmp:
        Path(tmp).write_text(text + "\n")
    return directory


@contextlib.contextmanager
def _write_errors(path: Path) -> Iterator[None]:
    """safetensors' write error (``SafetensorError: Error while serializing: I/O error: No
    space left on device (os error 28)``) as one :class:`~seqnn.errors.OutputError`."""
    try:
        yield
    except OSError:
        raise
    except Exception as err:
        text = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        m = re.search(r"I/O error: (.+?)(?: \(os error \d+\))?$", text)
        raise OutputError(path, f"cannot write ({m.group(1) if m else text})") from None


def check_input_fits(meta: dict[str, Any], weights_path: Path, meta_path: Path) -> None:
    """The weights' recorded input encoding (safetensors metadata, where present) against
    the one ``meta['params']['input']`` implies: refuses a model.json edited after training
    even when its ``input_encoding`` key was edited or removed too."""
    from safetensors import safe_open

    try:
        with safe_open(str(weights_path), framework="pt") as fh:
            stored = (fh.metadata() or {}).get(INPUT_KEY)
    except Exception as err:  # safetensors raises SafetensorError, OSError, ...
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise CheckpointError(f"{weights_path}: not a valid safetensors file ({first})") from None
    want = expected_input_encoding(meta)
    if stored is not None and want is not None and stored != want:
        kind = meta["params"].get("input", "onehot")
        raise CheckpointError(f"{meta_path}: 'params.input' {kind!r} does not match the "
                              f"weights, trained on {stored.split(':')[0]!r} input: model.json "
                              "was edited after training (restore params.input)")


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
    check_input_fits(meta, weights_path, Path(directory) / META_FILE)
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
