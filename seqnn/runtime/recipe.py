"""Checks of a model folder before anything is allocated: ``model.json`` and the weights header.

A model folder may come from anyone, so nothing in it is trusted. The checks that need no
torch live in :mod:`seqnn.modelmeta` (re-exported here). :func:`parse_meta` bounds
``model.json`` (at most :data:`MAX_META_BYTES`, nesting at most :data:`MAX_NESTING` deep)
before ``json.loads`` sees it; :func:`check_meta` checks the type and range of every key the
code reads (``format_version``, ``model``: a registered name, ``params``: that model's known
parameters, each a plain bounded value, ``task``, ``n_outputs``, ``class_names``: distinct
strings, as many as the task has classes, ``max_len`` 1..:data:`MAX_LEN`, ``truncate``,
``alphabet_policy``, ``drop_gaps``, ``identity_threshold`` 0..1, ``ensemble``
1..:data:`MAX_ENSEMBLE`). :func:`read_header` reads only the safetensors header (an 8-byte
length and a JSON object); :func:`check_fit` compares it with the tensors of the model the
recipe describes (built on the ``meta`` device, which allocates no memory): the same names and
shapes, floating-point dtypes only (``F32``, ``F16``, ``BF16``, ``F64``) where the model holds
floats. :func:`check_finite` refuses NaN or infinite weights once loaded. Every failure raises
:class:`~seqnn.errors.CheckpointError` with one line naming the file and the key.
"""

from __future__ import annotations

import math
import struct
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..config import MAX_ENSEMBLE
from ..errors import CheckpointError
from ..modelmeta import (
    MAX_CLASSES,
    MAX_LEN,
    MAX_META_BYTES,
    MAX_NESTING,
    MAX_STR,
    REQUIRED_KEYS,
    check_input_encoding,
    check_outputs,
    check_rules,
    check_version,
    nesting_depth,
    parse_json_bounded,
    parse_meta,
)
from ..modelmeta import fail as _fail
from ..modelmeta import is_integer as _integer
from ..modelmeta import is_number as _number
from ..modelmeta import short as _short
from ..models import list_models, model_params

#: the largest integer a model parameter (a width, a kernel size, a length) may hold
MAX_PARAM_INT = 1_000_000
MAX_LIST = 64
MAX_HEADER_BYTES = 100_000_000
FLOAT_DTYPES = ("F32", "F16", "BF16", "F64")


def _size_like(value: Any) -> bool:
    """A width, length or kernel: an int in 0..MAX_PARAM_INT, or a short list of them."""
    if isinstance(value, list):
        return len(value) <= MAX_LIST and all(_integer(v, 0, MAX_PARAM_INT) for v in value)
    return _integer(value, 0, MAX_PARAM_INT)


def _check_param(path: Path, key: str, value: Any, default: Any) -> None:
    where = f"params.{key}"
    if isinstance(default, bool):
        ok, want = isinstance(value, bool), "true or false"
    elif isinstance(default, int | list):
        ok, want = _size_like(value), (f"an integer in 0..{MAX_PARAM_INT} or a list of at "
                                       f"most {MAX_LIST} such")
    elif isinstance(default, float):
        ok, want = _number(value, 0, MAX_PARAM_INT), f"a number in 0..{MAX_PARAM_INT}"
    elif isinstance(default, str):
        ok, want = isinstance(value, str) and len(value) <= MAX_STR, "a short string"
    else:  # a default of None or another plain value: a short scalar
        ok = value is None or _number(value, -MAX_PARAM_INT, MAX_PARAM_INT) or (
            isinstance(value, str | bool) and len(str(value)) <= MAX_STR)
        want = "a plain value"
    if not ok:
        raise _fail(path, where, f"must be {want}, got {_short(value)}")


def check_meta(meta: Any, path: Path) -> dict[str, Any]:
    """Check the type and range of every key of a parsed ``model.json`` (module doc)."""
    if not isinstance(meta, dict):
        raise CheckpointError(f"{path}: expected a JSON object")
    missing = [k for k in REQUIRED_KEYS if k not in meta]
    if missing:
        raise CheckpointError(f"{path}: missing keys {', '.join(missing)}")
    check_version(meta, path)
    name = meta["model"]
    if not isinstance(name, str) or name not in list_models():
        raise _fail(path, "model", f"must be one of {', '.join(list_models())}, got "
                    f"{_short(name)}")
    if not isinstance(meta["params"], dict):
        raise _fail(path, "params", "must be an object")
    check_meta_params(name, meta["params"], path)
    check_outputs(meta, path)
    check_rules(meta, path)
    check_input_encoding(meta, path)
    return meta


def check_meta_params(name: str, params: dict[str, Any], path: str | Path) -> None:
    """Every key of ``params`` a parameter of registry model ``name`` holding a plain
    bounded value (integers at most :data:`MAX_PARAM_INT`, lists at most :data:`MAX_LIST`
    long); used for ``model.json`` and for a config's model block before it is built.
    Raises :class:`~seqnn.errors.CheckpointError` ``"<path>: 'params.<key>' <reason>"``."""
    defaults = model_params(name)
    for key, value in params.items():
        if key in ("n_outputs", "task"):
            continue
        if key not in defaults:
            raise _fail(path, f"params.{key}", f"is not a parameter of model {name!r}")
        _check_param(Path(path), key, value, defaults[key])


def read_header(path: Path) -> dict[str, tuple[str, tuple[int, ...]]]:
    """``name -> (dtype, shape)`` from a safetensors file's header, without reading tensors."""
    if not path.is_file():
        raise CheckpointError(f"{path}: missing")
    size = path.stat().st_size
    with open(path, "rb") as fh:
        head = fh.read(8)
        if len(head) < 8:
            raise CheckpointError(f"{path}: not a valid safetensors file (too short)")
        (length,) = struct.unpack("<Q", head)
        if length > min(MAX_HEADER_BYTES, size - 8):
            raise CheckpointError(f"{path}: not a valid safetensors file (header length "
                                  f"{length} for a file of {size} bytes)")
        raw = fh.read(length)
    header = parse_json_bounded(path, MAX_HEADER_BYTES, raw)
    if not isinstance(header, dict):
        raise CheckpointError(f"{path}: not a valid safetensors file (header not an object)")
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        shape = info.get("shape") if isinstance(info, dict) else None
        dtype = info.get("dtype") if isinstance(info, dict) else None
        if (not isinstance(dtype, str) or not isinstance(shape, list)
                or not all(_integer(d, 0, 2**62) for d in shape)):
            raise _fail(path, name, "has an invalid header entry")
        out[name] = (dtype, tuple(shape))
    return out


def check_fit(model: nn.Module, header: dict[str, tuple[str, tuple[int, ...]]],
              path: Path) -> None:
    """The tensors of ``model`` (e.g. built on the ``meta`` device) against the header:
    the same names and shapes, and floating-point dtypes wherever the model holds floats."""
    expected = model.state_dict()
    want = sum(t.numel() for t in expected.values())
    have = sum(math.prod(shape) for _, shape in header.values())
    for name, tensor in expected.items():
        if name not in header:
            raise _fail(path, name, f"is missing (model.json implies {want} values, the "
                        f"weights hold {have})")
        dtype, shape = header[name]
        if shape != tuple(tensor.shape):
            raise _fail(path, name, f"has shape {list(shape)}, model.json implies "
                        f"{list(tensor.shape)} ({want} values in all, the weights hold {have})")
        if tensor.is_floating_point() and dtype not in FLOAT_DTYPES:
            raise _fail(path, name, f"has dtype {dtype}; weights must be floating-point "
                        f"({', '.join(FLOAT_DTYPES)})")
        if not tensor.is_floating_point() and dtype in FLOAT_DTYPES:
            raise _fail(path, name, f"has dtype {dtype}; the model keeps integers there")
    extra = sorted(set(header) - set(expected))
    if extra:
        raise _fail(path, extra[0], "is not a tensor of the model model.json describes")


def check_finite(weights: dict[str, torch.Tensor], path: Path) -> None:
    """Refuse a NaN or infinite value in any floating-point tensor of ``weights``."""
    for name, tensor in weights.items():
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            raise _fail(path, name, "holds NaN or infinite values")


__all__ = ["FLOAT_DTYPES", "MAX_CLASSES", "MAX_ENSEMBLE", "MAX_LEN", "MAX_META_BYTES",
           "MAX_NESTING", "check_finite", "check_fit", "check_meta", "check_meta_params",
           "check_outputs", "check_rules", "nesting_depth", "parse_json_bounded", "parse_meta",
           "read_header"]
