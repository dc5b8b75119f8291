"""Every setting's type and range, declared once beside its default, and bounded reading.

A dataclass field of a settings block is declared with :func:`setting` (its default, type,
range or choices); :func:`check_fields` checks an instance against those declarations and
names the first key that is outside them. The schema (``seqnn/schema.yaml``) repeats the
same bounds for Snakemake; ``tests/test_config_bounds.py`` checks that the two agree. The
documented maxima are the ``MAX_*`` constants below.

Reading: :func:`read_bounded` reads a config, spec or YAML file of at most ``limit`` bytes
and refuses anything that is not a regular file (``/dev/zero``, a FIFO, a folder) before
reading a byte; :func:`load_yaml` is ``yaml.safe_load`` that refuses a duplicate key in any
mapping (the later value would silently win otherwise).

Standard library (and PyYAML, imported when a YAML text is parsed) only.
"""

from __future__ import annotations

import json
import math
import os
import stat
from dataclasses import field, fields
from pathlib import Path
from typing import Any

from .errors import ConfigError

#: documented maxima of counts (config keys and the equivalent command-line options)
MAX_LEN_LIMIT = 1_000_000  # max_len (a model folder outside it is refused too)
MAX_ENSEMBLE = 64  # ensemble members
MAX_EPOCHS = 100_000
MAX_BATCH_SIZE = 65_536
MAX_THREADS = 1024
MAX_WORKERS = 64
MAX_NPROC = 64
MAX_SEED = 2**32 - 1  # numpy's and torch's seeds
MAX_PERMUTATION_RUNS = 100
MAX_BOOTSTRAP = 100_000
MAX_MIN_SIZE = 10_000_000  # checks.min_valid / min_test
MAX_FOLDS = 100
MAX_MUTATIONS = 10_000
MAX_GENERATE = 1_000_000  # sequences one generate run writes
MAX_LINCLUST_ABOVE = 10**12
MAX_LR = 10.0
MAX_GRAD_CLIP = 1e6
MAX_TEMPERATURE = 100.0
MAX_BATCH_PREDICT = 65_536  # seqnn predict --batch-size
MAX_CHUNK = 10_000_000  # seqnn predict --chunk-size
#: the largest config, spec or YAML file read (bytes)
MAX_CONFIG_BYTES = 1_000_000


def excerpt(value: Any, limit: int = 60) -> str:
    """A short one-line ``repr`` of ``value`` for error messages, cut to about ``limit``
    characters without ever building the whole repr of a large value (``reprlib``)."""
    import reprlib

    r = reprlib.Repr()  # keyword arguments need Python 3.12
    r.maxlevel, r.maxdict, r.maxlist, r.maxtuple, r.maxset = 2, 3, 3, 3, 3
    r.maxstring = r.maxother = r.maxlong = limit
    text = r.repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def setting(default: Any, kind: type | tuple[type, ...], *, low: float | None = None,
            high: float | None = None, low_open: bool = False, high_open: bool = False,
            choices: tuple | None = None, nullable: bool = False) -> Any:
    """A dataclass field with ``default`` and its declared type ``kind`` (``int``, ``float``,
    ``str``, ``bool``), closed range ``[low, high]`` (``low_open``/``high_open`` exclude an
    end), allowed ``choices`` and whether ``None`` is allowed."""
    meta = {"kind": kind, "low": low, "high": high, "low_open": low_open,
            "high_open": high_open, "choices": choices, "nullable": nullable}
    if isinstance(default, list | dict | tuple) and not isinstance(default, str):
        return field(default_factory=lambda: default, metadata={"bounds": meta})
    return field(default=default, metadata={"bounds": meta})


def _type_ok(value: Any, kind: type | tuple[type, ...]) -> bool:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if isinstance(value, bool):
        return bool in kinds
    if isinstance(value, int):
        return int in kinds or float in kinds
    if isinstance(value, float):
        return float in kinds
    return isinstance(value, tuple(k for k in kinds if k not in (int, float, bool)))


def _range_text(meta: dict[str, Any]) -> str:
    low, high = meta["low"], meta["high"]
    return (f"in {'(' if meta['low_open'] else '['}{low}, {high}"
            f"{')' if meta['high_open'] else ']'}")


def describe_bounds(meta: dict[str, Any]) -> str:
    """The declared type and range of a setting in words (``"int in [1, 100000]"``)."""
    if meta["choices"]:
        text = "one of " + ", ".join(map(str, meta["choices"]))
    else:
        kinds = meta["kind"] if isinstance(meta["kind"], tuple) else (meta["kind"],)
        text = " | ".join(k.__name__ for k in kinds)
        if meta["low"] is not None and meta["high"] is not None:
            text += " " + _range_text(meta)
        elif meta["low"] is not None:
            text += f" {'>' if meta['low_open'] else '>='} {meta['low']}"
    return text + (" or null" if meta["nullable"] else "")


def value_problem(name: str, value: Any, meta: dict[str, Any]) -> Exception | None:
    """Why ``value`` does not fit the :func:`setting` declaration ``meta`` of key ``name``:
    a ``TypeError`` (wrong type) or ``ValueError`` (outside the range or choices), one line
    each; ``None`` when it fits."""
    if value is None:
        return None if meta["nullable"] else TypeError(f"{name}: invalid value None")
    if meta["choices"] is not None:
        if any(type(value) is type(c) and value == c for c in meta["choices"]):
            return None
        return ValueError(f"{name} must be one of {', '.join(map(str, meta['choices']))}, "
                          f"got {excerpt(value)}")
    if not _type_ok(value, meta["kind"]):
        return TypeError(f"{name}: invalid value {excerpt(value)} ({type(value).__name__})")
    if not isinstance(value, int | float) or isinstance(value, bool):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return ValueError(f"{name} must be a finite number, got {value!r}")
    low, high = meta["low"], meta["high"]
    too_low = low is not None and (value < low or (meta["low_open"] and value == low))
    too_high = high is not None and (value > high or (meta["high_open"] and value == high))
    if (too_low or too_high) and low is not None and high is not None and (
            meta["low_open"] or meta["high_open"]):
        return ValueError(f"{name} must be {_range_text(meta)}, got {value!r}")
    if too_low:
        return ValueError(f"{name} must be {'>' if meta['low_open'] else '>='} {low}, "
                          f"got {value!r}")
    if too_high:
        return ValueError(f"{name} must be <= {high}, got {value!r}")
    return None


def check_value(value: Any, meta: dict[str, Any]) -> bool:
    """Whether ``value`` fits a :func:`setting` declaration."""
    return value_problem("value", value, meta) is None


def bounds_of(cls: type) -> dict[str, dict[str, Any]]:
    """``key -> declaration`` of every :func:`setting` field of dataclass ``cls``."""
    return {f.name: f.metadata["bounds"] for f in fields(cls) if "bounds" in f.metadata}


def check_fields(obj: Any, where: str = "") -> None:
    """Refuse the first field of dataclass instance ``obj`` outside its declaration: a
    ``TypeError`` ``"<key>: invalid value <v> (<type>)"`` or a ``ValueError`` ``"<key> must
    be ..., got <v>"`` (one line; ``where`` prefixes the key)."""
    for name, meta in bounds_of(type(obj)).items():
        problem = value_problem(f"{where}.{name}" if where else name, getattr(obj, name), meta)
        if problem is not None:
            raise problem


def check_spec(obj: Any) -> None:
    """:func:`check_fields` for a settings block's ``__post_init__``: the refusal as a
    :class:`ConfigError` (the caller that knows the block's place prefixes it)."""
    try:
        check_fields(obj)
    except (TypeError, ValueError) as exc:
        raise ConfigError(str(exc)) from None


def class_weight_power(value: str | float) -> float:
    """The power of the balanced class weights a ``class_weights`` setting asks for:
    ``"none"`` 0, ``"balanced"`` 1, ``"sqrt"`` 0.5, or a number in (0, 2]."""
    named = {"none": 0.0, "balanced": 1.0, "sqrt": 0.5}
    if isinstance(value, str) and value in named:
        return named[value]
    if isinstance(value, int | float) and not isinstance(value, bool) and 0 < value <= 2:
        return float(value)
    raise ValueError(f"class_weights must be none, balanced, sqrt or a power in (0, 2], "
                     f"got {value!r}")


# ----------------------------------------------------------------------------- reading

def read_bounded(path: str | os.PathLike, what: str = "config file",
                 limit: int = MAX_CONFIG_BYTES) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes. A FIFO, a device
    (``/dev/zero``), a socket or a folder is refused before it is read (opened without
    blocking), and a file that grows past ``limit`` while being read is refused too:
    :class:`ConfigError` ``"<path>: <reason>"``."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise ConfigError(f"{path}: {what} not found") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the {what} ({exc.strerror})") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ConfigError(f"{path}: the {what} is not a regular file")
        if info.st_size > limit:
            raise ConfigError(f"{path}: {what} larger than {limit:,} bytes")
        os.set_blocking(fd, True)
        with os.fdopen(fd, "rb", closefd=False) as fh:
            data = fh.read(limit + 1)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the {what} ({exc.strerror})") from None
    finally:
        os.close(fd)
    if len(data) > limit:
        raise ConfigError(f"{path}: {what} larger than {limit:,} bytes")
    return data


def read_text_bounded(path: str | os.PathLike, what: str = "config file",
                      limit: int = MAX_CONFIG_BYTES) -> str:
    """:func:`read_bounded` decoded as UTF-8 (one-line :class:`ConfigError` otherwise)."""
    try:
        return read_bounded(path, what, limit).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: the {what} is not UTF-8 text ({exc.reason} at byte "
                          f"{exc.start})") from None


class _DuplicateKey(Exception):
    """A mapping key given twice (raised inside the YAML loader, reported by load_yaml)."""


def _unique_loader() -> type:
    """A ``yaml.SafeLoader`` subclass refusing a duplicate key in any mapping."""
    import yaml

    class UniqueKeyLoader(yaml.SafeLoader):
        """SafeLoader whose mappings refuse a key given twice."""

    def construct_mapping(loader: Any, node: Any, deep: bool = False) -> Any:
        loader.flatten_mapping(node)
        seen: set = set()
        for key_node, _ in node.value:
            key = loader.construct_object(key_node, deep=True)
            try:
                duplicate = key in seen
            except TypeError:  # an unhashable key: the constructor reports it
                break
            if duplicate:
                raise _DuplicateKey(f"duplicate key {excerpt(key)} (line "
                                    f"{key_node.start_mark.line + 1}); each key may appear once")
            seen.add(key)
        return yaml.SafeLoader.construct_mapping(loader, node, deep=deep)

    UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
                                    construct_mapping)
    return UniqueKeyLoader


_LOADER: list[type] = []


def load_yaml(text: str, where: str | os.PathLike = "YAML") -> Any:
    """``yaml.safe_load(text)`` that refuses a duplicate mapping key; a syntax error or a
    duplicate becomes one :class:`ConfigError` line naming ``where``."""
    import yaml

    if not _LOADER:
        _LOADER.append(_unique_loader())
    try:
        return yaml.load(text, Loader=_LOADER[0])  # noqa: S506 - a SafeLoader subclass
    except _DuplicateKey as exc:
        raise ConfigError(f"{where}: {exc}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{where}: not valid YAML ({' '.join(str(exc).split())})") from None


def read_yaml_file(path: str | os.PathLike, what: str = "config file") -> Any:
    """A YAML file read within :data:`MAX_CONFIG_BYTES` (:func:`read_text_bounded`) and
    parsed by :func:`load_yaml`."""
    return load_yaml(read_text_bounded(Path(path), what), path)


def parse_json_arg(text: str, what: str) -> dict[str, Any]:
    """Parse a JSON object given on the command line, or ``@file.json`` read from a regular
    file of at most :data:`MAX_CONFIG_BYTES`; a key given twice is refused."""
    if text.startswith("@"):
        text = read_text_bounded(text[1:], f"{what} file")

    def unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        data = dict(pairs)
        if len(data) < len(pairs):
            seen: set[str] = set()
            twice = next(k for k, _ in pairs if k in seen or seen.add(k))
            raise ConfigError(f"{what}: duplicate key {excerpt(twice)}; each key may appear "
                              "once")
        return data

    try:
        data = json.loads(text, object_pairs_hook=unique)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{what}: not valid JSON ({exc})") from None
    except RecursionError:
        raise ConfigError(f"{what}: JSON nested too deeply") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{what}: expected a JSON object")
    return data


__all__ = ["MAX_CONFIG_BYTES", "bounds_of", "check_fields", "check_spec", "check_value",
           "class_weight_power", "describe_bounds", "excerpt", "load_yaml", "parse_json_arg",
           "read_bounded", "read_text_bounded", "read_yaml_file", "setting", "value_problem"]
