"""Safety of a raw workflow config, checked before anything expands, serialises or quotes it.

A config comes from a user's YAML file and ends up in folder names and (quoted) shell words
of the workflow's rules. These checks run first, in :func:`seqnn.config.workflow_from_dict`:
the size of the loaded value with YAML aliases expanded (counted in linear time, so an alias
bomb is refused before anything copies it), plain data only, the dataset and model names
(they become folder names), usable paths, and every output folder staying inside the results
folder. Each failure is one :class:`~seqnn.errors.ConfigError` line with a short excerpt of
the bad value, never the whole value.
"""

from __future__ import annotations

import json
import os
import re
from typing import Any

from .errors import ConfigError

NAME_PATTERN = r"[A-Za-z0-9][A-Za-z0-9_.-]*"
MAX_NAME = 100  # characters in a dataset or model name (a folder name under results/)
RESERVED_DATASETS = ("external", "benchmarks", "index.html")  # results/ entries of their own
#: the tasks a dataset block may name
DATASET_TASKS = ("binary", "multiclass", "multilabel", "regression", "unsupervised", "generative")
MAX_NODES = 100_000  # values in the config once YAML aliases are expanded
MAX_TEXT = 10_000_000  # characters in all strings, aliases expanded
MAX_STRING = 1_000_000  # characters in one string
MAX_DEPTH = 32  # nesting of mappings and lists
_PLAIN = (str, int, float, bool, type(None))


def excerpt(value: Any, limit: int = 60) -> str:
    """A short one-line ``repr`` of ``value`` for error messages, cut to about ``limit``
    characters without ever building the whole repr of a large value (``reprlib``)."""
    import reprlib

    r = reprlib.Repr()  # keyword arguments need Python 3.12
    r.maxlevel, r.maxdict, r.maxlist, r.maxtuple, r.maxset = 2, 3, 3, 3, 3
    r.maxstring = r.maxother = r.maxlong = limit
    text = r.repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def key_name(key: Any) -> str:
    """One key of a config path as shown in a message: bare when simple, else quoted."""
    if isinstance(key, str) and re.fullmatch(r"[A-Za-z0-9_-]{1,60}", key):
        return key
    if isinstance(key, str):  # json.dumps escapes control characters: one line
        return json.dumps(key) if len(key) <= 57 else json.dumps(key[:54])[:-1] + '..."'
    return excerpt(key)


def check_config_size(data: Any, *, max_nodes: int = MAX_NODES, max_text: int = MAX_TEXT,
                      max_string: int = MAX_STRING, max_depth: int = MAX_DEPTH) -> int:
    """Refuse a loaded config that is too large, too deep, self-referring or not plain data,
    before anything expands or serialises it; return its expanded number of values.
    YAML aliases are shared Python objects, so sizes are memoised by ``id()`` and the walk
    takes time linear in the distinct objects even for an alias bomb. Raises
    :class:`ConfigError` with one line naming the key."""
    memo: dict[int, tuple[int, int]] = {}
    active: set[int] = set()

    def refuse(path: str, reason: str) -> ConfigError:
        return ConfigError(f"config {path or '(top level)'}: {reason}")

    def walk(value: Any, path: str, depth: int) -> tuple[int, int]:
        if isinstance(value, str):
            if len(value) > max_string:
                raise refuse(path, f"a string of {len(value):,} characters "
                                   f"(limit {max_string:,})")
            return 1, len(value)
        if isinstance(value, _PLAIN):
            return 1, 0
        if not isinstance(value, (dict, list)):
            raise refuse(path, f"a {type(value).__name__} value is not allowed (only mappings, "
                               "lists, strings, numbers, booleans and null)")
        if id(value) in memo:
            return memo[id(value)]
        if id(value) in active:
            raise refuse(path, "the value contains itself (a YAML alias loop)")
        if depth >= max_depth:
            raise refuse(path, f"nested more than {max_depth} levels deep")
        active.add(id(value))
        nodes, text = 1, 0
        is_map = isinstance(value, dict)
        for k, v in value.items() if is_map else enumerate(value):
            where = (f"{path}.{key_name(k)}" if path else key_name(k)) if is_map else f"{path}[{k}]"
            if is_map and not isinstance(k, _PLAIN):
                raise refuse(path, f"a {type(k).__name__} key is not allowed")
            n, t = walk(v, where, depth + 1)
            if is_map:  # a key counts as a value of its own
                kn, kt = walk(k, where, depth + 1)
                n, t = n + kn, t + kt
            nodes, text = nodes + n, text + t
            if nodes > max_nodes:
                raise refuse(where, f"more than {max_nodes:,} values once YAML aliases are "
                                    "expanded; refused")
            if text > max_text:
                raise refuse(where, f"more than {max_text:,} characters of text once YAML "
                                    "aliases are expanded; refused")
        active.discard(id(value))
        memo[id(value)] = (nodes, text)
        return nodes, text

    return walk(data, "", 0)[0]


def check_names(data: Any) -> None:
    """Refuse a dataset or model name that is not a plain folder name: it must match
    ``NAME_PATTERN``, hold no ``..`` and no more than ``MAX_NAME`` characters, and a
    dataset may not take a name that the results folder uses itself. Names become folders
    under the results folder and words of shell commands, so this keeps both safe."""
    if not isinstance(data, dict):
        return
    for section in ("datasets", "models"):
        block = data.get(section)
        for name in block if isinstance(block, dict) else ():
            ok = (isinstance(name, str) and re.fullmatch(NAME_PATTERN, name) is not None
                  and ".." not in name and len(name) <= MAX_NAME)
            if not ok:
                raise ConfigError(f"config {section}.{key_name(name)}: name must match "
                                  f"{NAME_PATTERN}, without '..', at most {MAX_NAME} characters")
            if section == "datasets" and name in RESERVED_DATASETS:
                raise ConfigError(f"config datasets.{name}: name is taken by the results "
                                  f"folder itself ({', '.join(RESERVED_DATASETS)})")


def _check_path_value(value: Any, where: str) -> None:
    """A path from the config: a non-empty string without control characters."""
    if isinstance(value, str) and (not value or re.search(r"[\x00-\x1f\x7f]", value)):
        raise ConfigError(f"config {where}: {excerpt(value)} is not a usable path "
                          "(empty, or holds a control character)")


def check_paths(data: Any) -> None:
    """Refuse unusable paths in the config: the results folder and every input file must be
    non-empty without control characters, and the results folder may not hold ``{`` or
    ``}`` (Snakemake reads those as wildcards). Any other character is fine: the rules
    quote every path."""
    if not isinstance(data, dict):
        return
    results = data.get("results", "results")
    _check_path_value(results, "results")
    if isinstance(results, str) and re.search(r"[{}]", results):
        raise ConfigError(f"config results: {excerpt(results)} may not hold {{ or }}")
    datasets = data.get("datasets")
    for name, block in datasets.items() if isinstance(datasets, dict) else ():
        inputs = block.get("inputs") if isinstance(block, dict) else None
        for i, item in enumerate(inputs if isinstance(inputs, list) else ()):
            for k in ("fasta", "table", "labels"):
                if isinstance(item, dict) and k in item:
                    _check_path_value(item[k], f"datasets.{name}.inputs[{i}].{k}")


def output_dir(results: str, *names: str) -> str:
    """The folder ``results/<name>/...`` for dataset and model names, refused with
    :class:`ConfigError` unless it lies strictly inside the results folder once resolved
    (``..`` and absolute names cannot lead out). The results folder itself may be anywhere."""
    base = os.path.abspath(results)
    path = os.path.abspath(os.path.join(base, *names))
    if os.path.commonpath([base, path]) != base or path == base:
        raise ConfigError(f"config: {excerpt('/'.join(names))} leads outside the results "
                          f"folder {excerpt(results)}")
    return os.path.normpath(os.path.join(results, *names))


def check_config_data(data: Any) -> None:
    """Every safety check of a raw workflow config, in the order that keeps each one cheap:
    size and plain data first, then names, then paths; then every output folder that a
    dataset and model name lead to must lie inside the results folder."""
    check_config_size(data)
    check_names(data)
    check_paths(data)
    if isinstance(data, dict) and isinstance(data.get("datasets"), dict):
        results = data.get("results", "results")
        models = data.get("models") if isinstance(data.get("models"), dict) else {}
        for ds in data["datasets"]:
            output_dir(str(results), ds)
            for model in models:
                output_dir(str(results), ds, "models", model)
