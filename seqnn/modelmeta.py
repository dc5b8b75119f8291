"""``model.json`` without torch: bounded parsing and the checks of every key that needs no
model registry, shared by loading a model (:mod:`seqnn.runtime.recipe`) and by the checks
and the report, which read the ``model.json`` of each model in a results folder.

:func:`parse_json_bounded` refuses a file over a size limit or nested over
:data:`MAX_NESTING` deep before ``json.loads`` sees it; :func:`check_outputs` checks
``task``, ``n_outputs`` and ``class_names`` against each other and :func:`check_rules` the
length rule, the alphabet policy and the optional keys prediction reads, each key only where
it is present (loading requires :data:`REQUIRED_KEYS` first); :func:`check_input_encoding`
holds ``input_encoding`` (a fingerprint of the input table the weights were trained with,
see :func:`input_encoding`) against ``params.input``, so that a model.json edited from
``onehot`` to ``blosum62`` (same shapes, other features) is refused. :func:`read_model_info` is the
reader of the checks and the report: a missing file gives ``None``, anything else that is
not a valid record (garbage, ``"max_len": {}``, a wrong-length ``class_names``) raises
:class:`~seqnn.errors.CheckpointError` with one line naming the file and the key.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import os
import re
from pathlib import Path
from typing import Any

from .config import MAX_ENSEMBLE, MAX_LEN_LIMIT, TRUNCATE_MODES
from .data.alphabet import POLICIES
from .data.tables import TASKS, class_name_problem
from .errors import CheckpointError
from .layout import MODEL_META

FORMAT_VERSION = 1
REQUIRED_KEYS = (
    "format_version", "model", "params", "task", "class_names", "n_outputs", "max_len",
    "truncate",
)
MAX_META_BYTES = 1 << 20
MAX_NESTING = 32
MAX_LEN = MAX_LEN_LIMIT
MAX_CLASSES = 10_000
MAX_STR = 200
MAX_EPOCH = 10**9
_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)


def fail(path: str | os.PathLike, key: str, reason: str) -> CheckpointError:
    """The one-line error ``<path>: '<key>' <reason>``."""
    return CheckpointError(f"{path}: {key!r} {reason}")


def short(value: Any) -> str:
    """``repr(value)``, cut to 60 characters for an error message."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def is_integer(value: Any, low: int, high: int) -> bool:
    """Whether ``value`` is an int (not a bool) in ``low..high``."""
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def is_number(value: Any, low: float, high: float) -> bool:
    """Whether ``value`` is a finite int or float (not a bool) in ``low..high``."""
    return (isinstance(value, int | float) and not isinstance(value, bool)
            and math.isfinite(value) and low <= value <= high)


def nesting_depth(text: str) -> int:
    """The deepest ``[``/``{`` nesting of JSON ``text`` (brackets inside strings ignored)."""
    depth = deepest = 0
    for ch in re.findall(r"[\[\]{}]", _STRINGS.sub('""', text)):
        depth += 1 if ch in "[{" else -1
        deepest = max(deepest, depth)
    return deepest


def parse_json_bounded(path: Path, limit: int, data: bytes | None = None) -> Any:
    """JSON from ``path`` (or its bytes ``data``), refused in one line when over ``limit``
    bytes, nested over :data:`MAX_NESTING` deep, unreadable, not UTF-8 or not valid JSON."""
    if data is None:
        try:
            if path.stat().st_size > limit:
                raise CheckpointError(f"{path}: larger than {limit} bytes")
            data = path.read_bytes()
        except OSError as exc:
            raise CheckpointError(f"{path}: cannot read ({exc.strerror or exc})") from None
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


def check_version(meta: dict[str, Any], path: Path) -> None:
    """``format_version`` (where present): an integer this seqnn can read."""
    if "format_version" not in meta:
        return
    version = meta["format_version"]
    if not is_integer(version, 1, 10**6):
        raise fail(path, "format_version", f"is invalid: {short(version)}")
    if version > FORMAT_VERSION:
        raise CheckpointError(
            f"{path}: format_version {version} is newer than this seqnn supports "
            f"({FORMAT_VERSION}); upgrade seqnn"
        )


def check_outputs(meta: dict[str, Any], path: Path) -> None:
    """``task``, ``n_outputs`` and ``class_names`` (where present) agree with each other;
    multilabel ``thresholds`` and a ``temperature`` mapping name every class, in order."""
    task, n_out, names = meta.get("task"), meta.get("n_outputs"), meta.get("class_names")
    if "task" in meta and task not in TASKS:
        raise fail(path, "task", f"must be one of {', '.join(TASKS)}, got {short(task)}")
    if "n_outputs" in meta and not is_integer(n_out, 1, MAX_CLASSES):
        raise fail(path, "n_outputs", f"must be an integer in 1..{MAX_CLASSES}, got "
                   f"{short(n_out)}")
    if "class_names" in meta:
        if not isinstance(names, list) or not all(isinstance(c, str) for c in names):
            raise fail(path, "class_names", "must be a list of non-empty strings")
        if len(names) > MAX_CLASSES:
            raise fail(path, "class_names", f"holds more than {MAX_CLASSES} names")
        if len(set(names)) != len(names):
            raise fail(path, "class_names", "holds a name twice")
        problem = class_name_problem(names)
        if problem is not None:  # empty, twice, over-long, a control character
            raise fail(path, "class_names", f"is invalid: {problem}")
        if "task" in meta and (task not in ("multiclass", "multilabel") or "n_outputs" in meta):
            expected = {"binary": 2, "multiclass": n_out, "multilabel": n_out}.get(task, 0)
            if len(names) != expected:
                raise fail(path, "class_names", f"must hold {expected} name(s) for task "
                           f"{task} with n_outputs {n_out}, got {len(names)}")
    if task in ("binary", "regression") and "n_outputs" in meta and n_out != 1:
        raise fail(path, "n_outputs", f"must be 1 for task {task}, got {n_out}")
    if "thresholds" in meta:  # multilabel: one decision threshold per label, in 0..1
        cuts = meta["thresholds"]
        if not (isinstance(cuts, dict) and isinstance(names, list) and list(cuts) == names
                and all(is_number(v, 0, 1) for v in cuts.values())):
            raise fail(path, "thresholds", "must map every class name, in order, to a "
                       "number in 0..1")
    temp = meta.get("temperature")
    if isinstance(temp, dict) and not (  # multilabel: label -> T, as the thresholds
            task == "multilabel" and isinstance(names, list) and list(temp) == names
            and all(is_number(v, 1e-3, 1e3) for v in temp.values())):
        raise fail(path, "temperature", "as a mapping (multilabel only) must map every class "
                   "name, in order, to a number in 0.001..1000")
    sep = meta.get("label_separator", ";")
    if not (isinstance(sep, str) and 0 < len(sep) <= 8):
        raise fail(path, "label_separator", f"must be a short string, got {short(sep)}")


def check_rules(meta: dict[str, Any], path: Path) -> None:
    """The length rule, the alphabet policy and the optional keys prediction reads (each
    where present): ``max_len``, ``truncate``, ``alphabet_policy``, ``drop_gaps``,
    ``identity_threshold``, ``temperature``, ``ensemble``."""
    if "max_len" in meta and not is_integer(meta["max_len"], 1, MAX_LEN):
        raise fail(path, "max_len", f"must be an integer in 1..{MAX_LEN}, got "
                   f"{short(meta['max_len'])}")
    if "truncate" in meta and meta["truncate"] not in TRUNCATE_MODES:
        raise fail(path, "truncate", f"must be one of {', '.join(TRUNCATE_MODES)}, got "
                   f"{short(meta['truncate'])}")
    policy = meta.get("alphabet_policy", "map")
    if not isinstance(policy, str) or policy not in POLICIES:
        raise fail(path, "alphabet_policy", f"must be one of {', '.join(POLICIES)}, got "
                   f"{short(policy)}")
    if not isinstance(meta.get("drop_gaps", False), bool):
        raise fail(path, "drop_gaps", "must be true or false")
    if not is_number(meta.get("identity_threshold", 0.3), 0, 1):
        raise fail(path, "identity_threshold", "must be a number in 0..1, got "
                   f"{short(meta.get('identity_threshold'))}")
    if not (isinstance(meta.get("temperature"), dict)  # a mapping: see check_outputs
            or is_number(meta.get("temperature", 1.0), 1e-3, 1e3)):
        raise fail(path, "temperature", "must be a number in 0.001..1000, got "
                   f"{short(meta.get('temperature'))}")
    if not is_integer(meta.get("ensemble", 1), 1, MAX_ENSEMBLE):
        raise fail(path, "ensemble", f"must be an integer in 1..{MAX_ENSEMBLE}, got "
                   f"{short(meta.get('ensemble'))}")


#: the input layers a model may use (:class:`seqnn.models.layers.InputLayer`)
INPUT_KINDS = ("onehot", "blosum62", "embedding")


@functools.cache
def input_encoding(kind: str) -> str:
    """The fingerprint of input layer ``kind`` stored as ``input_encoding`` in model.json
    (and in the weights' metadata): ``"<kind>:sha256:<16 hex>"`` of its fixed ``(22, 21)``
    ``float32`` token table for ``onehot`` and ``blosum62``; ``"embedding"`` for the learned
    table, which the weights hold themselves."""
    if kind == "embedding":
        return kind
    from .data.encoding import blosum62_table, onehot_table

    if kind not in INPUT_KINDS:
        raise ValueError(f"unknown input {kind!r}")
    table = onehot_table() if kind == "onehot" else blosum62_table()
    digest = hashlib.sha256(table.astype("<f4").tobytes()).hexdigest()[:16]
    return f"{kind}:sha256:{digest}"


def expected_input_encoding(meta: dict[str, Any]) -> str | None:
    """The :func:`input_encoding` that ``meta['params']['input']`` (default ``onehot``)
    implies, or ``None`` when that is not a known input kind (the parameter checks and the
    model builder refuse it)."""
    params = meta.get("params")
    kind = params.get("input", "onehot") if isinstance(params, dict) else "onehot"
    return input_encoding(kind) if isinstance(kind, str) and kind in INPUT_KINDS else None


def check_input_encoding(meta: dict[str, Any], path: Path) -> None:
    """``input_encoding`` (where present) must be what ``params.input`` implies: the weights
    were trained on that input table, and an edited model.json would feed them another."""
    if "input_encoding" not in meta:
        return
    value, want = meta["input_encoding"], expected_input_encoding(meta)
    if want is not None and value != want:
        kind = meta["params"].get("input", "onehot")
        raise fail(path, "input_encoding", f"is {short(value)}, but params.input {kind!r} is "
                   f"{want!r}: model.json was edited after training (restore params.input)")


def check_model_info(meta: Any, path: Path) -> dict[str, Any]:
    """Check a parsed ``model.json`` as the checks and the report read it: a JSON object,
    ``format_version``, ``model`` a short string, ``params`` an object, :func:`check_outputs`,
    :func:`check_rules` and ``best_epoch`` / ``member_best_epochs`` (epoch numbers), each
    where present. Returns ``meta``."""
    if not isinstance(meta, dict):
        raise CheckpointError(f"{path}: expected a JSON object")
    check_version(meta, path)
    if "model" in meta and not (isinstance(meta["model"], str)
                                and 0 < len(meta["model"]) <= MAX_STR):
        raise fail(path, "model", f"must be a model name, got {short(meta['model'])}")
    if "params" in meta and not isinstance(meta["params"], dict):
        raise fail(path, "params", "must be an object")
    check_outputs(meta, path)
    check_rules(meta, path)
    check_input_encoding(meta, path)
    if meta.get("best_epoch") is not None and not is_integer(meta["best_epoch"], 0, MAX_EPOCH):
        raise fail(path, "best_epoch", f"must be an epoch number, got {short(meta['best_epoch'])}")
    epochs = meta.get("member_best_epochs")
    if epochs is not None and not (isinstance(epochs, list) and len(epochs) <= MAX_ENSEMBLE
                                   and all(is_integer(e, 0, MAX_EPOCH) for e in epochs)):
        raise fail(path, "member_best_epochs", "must be a list of epoch numbers")
    return meta


def read_model_info(model_dir: str | os.PathLike) -> dict[str, Any] | None:
    """The checked ``model.json`` of ``model_dir`` (:func:`check_model_info`), or ``None``
    when the file does not exist; one :class:`~seqnn.errors.CheckpointError` line for a
    file that is there but is not a valid record."""
    path = Path(model_dir) / MODEL_META
    if not path.exists():
        return None
    return check_model_info(parse_meta(path), path)


__all__ = [
    "FORMAT_VERSION", "INPUT_KINDS", "MAX_CLASSES", "MAX_LEN", "MAX_META_BYTES", "MAX_NESTING",
    "MAX_STR", "REQUIRED_KEYS", "check_input_encoding", "check_model_info", "check_outputs",
    "check_rules", "check_version", "expected_input_encoding", "fail", "input_encoding",
    "is_integer", "is_number", "nesting_depth", "parse_json_bounded", "parse_meta",
    "read_model_info", "short",
]
