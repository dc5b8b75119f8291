"""Checks of a model folder before anything is allocated: ``model.json`` and the weights header.

A model folder may come from anyone, so nothing in it is trusted. :func:`parse_meta` bounds
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

import json
import math
import os
import re
import struct
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..config import MAX_ENSEMBLE, MAX_LEN_LIMIT, TRUNCATE_MODES
from ..data.alphabet import POLICIES
from ..errors import CheckpointError
from ..models import TASKS, list_models, model_params

MAX_META_BYTES = 1 << 20
MAX_NESTING = 32
MAX_LEN = MAX_LEN_LIMIT
MAX_CLASSES = 10_000
#: the largest integer a model parameter (a width, a kernel size, a length) may hold
MAX_PARAM_INT = 1_000_000
MAX_LIST = 64
MAX_STR = 200
MAX_HEADER_BYTES = 100_000_000
FLOAT_DTYPES = ("F32", "F16", "BF16", "F64")
_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)


def _fail(path: str | os.PathLike, key: str, reason: str) -> CheckpointError:
    return CheckpointError(f"{path}: {key!r} {reason}")


def nesting_depth(text: str) -> int:
    """The deepest ``[``/``{`` nesting of JSON ``text`` (brackets inside strings ignored)."""
    depth = deepest = 0
    for ch in re.findall(r"[\[\]{}]", _STRINGS.sub('""', text)):
        depth += 1 if ch in "[{" else -1
        deepest = max(deepest, depth)
    return deepest


def parse_json_bounded(path: Path, limit: int, data: bytes | None = None) -> Any:
    """JSON from ``path`` (or its bytes ``data``), refused in one line when over ``limit``
    bytes, nested over :data:`MAX_NESTING` deep, not UTF-8 or not valid JSON."""
    if data is None:
        if path.stat().st_size > limit:
            raise CheckpointError(f"{path}: larger than {limit} bytes")
        data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise CheckpointError(f"{path}: not UTF-8 text") from None
    if nesting_depth(text) > MAX_NESTING:
        raise CheckpointError(f"{path}: JSON nested more than {MAX_NESTING} levels deep")
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as err:  # JSONDecodeError, a 5000-digit integer
        raise CheckpointError(f"{path}: not valid JSON ({str(err).splitlines()[0]})") from None


def parse_meta(path: Path) -> Any:
    """``model.json`` parsed within :data:`MAX_META_BYTES` and :data:`MAX_NESTING`."""
    return parse_json_bounded(path, MAX_META_BYTES)


def _integer(value: Any, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def _number(value: Any, low: float, high: float) -> bool:
    return (isinstance(value, int | float) and not isinstance(value, bool)
            and math.isfinite(value) and low <= value <= high)


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


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def check_meta(meta: Any, path: Path) -> dict[str, Any]:
    """Check the type and range of every key of a parsed ``model.json`` (module doc)."""
    from .checkpoint import FORMAT_VERSION, REQUIRED_KEYS

    if not isinstance(meta, dict):
        raise CheckpointError(f"{path}: expected a JSON object")
    missing = [k for k in REQUIRED_KEYS if k not in meta]
    if missing:
        raise CheckpointError(f"{path}: missing keys {', '.join(missing)}")
    version = meta["format_version"]
    if not _integer(version, 1, 10**6):
        raise _fail(path, "format_version", f"is invalid: {_short(version)}")
    if version > FORMAT_VERSION:
        raise CheckpointError(
            f"{path}: format_version {version} is newer than this seqnn supports "
            f"({FORMAT_VERSION}); upgrade seqnn"
        )
    name = meta["model"]
    if not isinstance(name, str) or name not in list_models():
        raise _fail(path, "model", f"must be one of {', '.join(list_models())}, got "
                    f"{_short(name)}")
    if not isinstance(meta["params"], dict):
        raise _fail(path, "params", "must be an object")
    defaults = model_params(name)
    for key, value in meta["params"].items():
        if key in ("n_outputs", "task"):
            continue
        if key not in defaults:
            raise _fail(path, f"params.{key}", f"is not a parameter of model {name!r}")
        _check_param(path, key, value, defaults[key])
    _check_outputs(meta, path)
    _check_rules(meta, path)
    return meta


def _check_outputs(meta: dict[str, Any], path: Path) -> None:
    """``task``, ``n_outputs`` and ``class_names`` agree with each other."""
    task, n_out, names = meta["task"], meta["n_outputs"], meta["class_names"]
    if task not in TASKS:
        raise _fail(path, "task", f"must be one of {', '.join(TASKS)}, got {_short(task)}")
    if not _integer(n_out, 1, MAX_CLASSES):
        raise _fail(path, "n_outputs", f"must be an integer in 1..{MAX_CLASSES}, got "
                    f"{_short(n_out)}")
    if not isinstance(names, list) or not all(
            isinstance(c, str) and 0 < len(c) <= MAX_STR for c in names):
        raise _fail(path, "class_names", "must be a list of non-empty strings")
    if len(set(names)) != len(names):
        raise _fail(path, "class_names", "holds a name twice")
    expected = {"binary": 2, "multiclass": n_out}.get(task, 0)
    if len(names) != expected:
        raise _fail(path, "class_names", f"must hold {expected} name(s) for task {task} with "
                    f"n_outputs {n_out}, got {len(names)}")
    if task in ("binary", "regression") and n_out != 1:
        raise _fail(path, "n_outputs", f"must be 1 for task {task}, got {n_out}")


def _check_rules(meta: dict[str, Any], path: Path) -> None:
    """The length rule, the alphabet policy and the optional keys prediction reads."""
    if not _integer(meta["max_len"], 1, MAX_LEN):
        raise _fail(path, "max_len", f"must be an integer in 1..{MAX_LEN}, got "
                    f"{_short(meta['max_len'])}")
    if meta["truncate"] not in TRUNCATE_MODES:
        raise _fail(path, "truncate", f"must be one of {', '.join(TRUNCATE_MODES)}, got "
                    f"{_short(meta['truncate'])}")
    policy = meta.get("alphabet_policy", "map")
    if not isinstance(policy, str) or policy not in POLICIES:
        raise _fail(path, "alphabet_policy", f"must be one of {', '.join(POLICIES)}, got "
                    f"{_short(policy)}")
    if not isinstance(meta.get("drop_gaps", False), bool):
        raise _fail(path, "drop_gaps", "must be true or false")
    if not _number(meta.get("identity_threshold", 0.3), 0, 1):
        raise _fail(path, "identity_threshold", "must be a number in 0..1, got "
                    f"{_short(meta.get('identity_threshold'))}")
    if not _integer(meta.get("ensemble", 1), 1, MAX_ENSEMBLE):
        raise _fail(path, "ensemble", f"must be an integer in 1..{MAX_ENSEMBLE}, got "
                    f"{_short(meta.get('ensemble'))}")


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


__all__ = ["FLOAT_DTYPES", "MAX_ENSEMBLE", "MAX_LEN", "MAX_META_BYTES", "MAX_NESTING",
           "check_finite", "check_fit", "check_meta", "nesting_depth", "parse_json_bounded",
           "parse_meta", "read_header"]
