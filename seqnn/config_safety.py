"""Safety of a raw workflow config, checked before anything expands, serialises or quotes it.

A config comes from a user's YAML file and ends up in folder names and (quoted) shell words
of the workflow's rules. These checks run first, in :func:`seqnn.config.workflow_from_dict`:
the size of the loaded value with YAML aliases expanded (counted in linear time, so an alias
bomb is refused before anything copies it), plain data only, the dataset and model names
(they become folder names and Snakemake wildcard values), usable paths (no ``{``/``}``,
within PATH_MAX and NAME_MAX), and every output folder staying inside the results folder.
Below them: :func:`check_loss_name` (a config never names code to import; the opt-in is an
installed package's ``seqnn.losses`` entry point) and :func:`check_header_regex` (a user
regex compiled, bounded and refused when it can backtrack exponentially). Each failure is
one :class:`~seqnn.errors.ConfigError` line with a short excerpt of the bad value, never
the whole value.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from .config_bounds import excerpt, load_yaml
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
#: Snakemake's PeriodicityDetector: a wildcard value ending in one part repeated 20+ times
_PERIODIC = re.compile(r"(.+)\1{19,99}$")
#: Linux's PATH_MAX and NAME_MAX (bytes); the results folder keeps room for what seqnn adds
PATH_MAX = 4096
NAME_MAX = 255
RESULTS_ROOM = 1024  # bytes below the results folder: names (<= 100 each) and file names


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
            if _PERIODIC.search(name):
                raise ConfigError(f"config {section}.{key_name(name)}: name ends in a part "
                                  "repeated 20 or more times, which Snakemake refuses as a "
                                  "wildcard value")
            if section == "datasets" and name in RESERVED_DATASETS:
                raise ConfigError(f"config datasets.{name}: name is taken by the results "
                                  f"folder itself ({', '.join(RESERVED_DATASETS)})")


def _check_path_value(value: Any, where: str) -> None:
    """A path from the config: a non-empty string without control characters."""
    if isinstance(value, str) and (not value or re.search(r"[\x00-\x1f\x7f]", value)):
        raise ConfigError(f"config {where}: {excerpt(value)} is not a usable path "
                          "(empty, or holds a control character)")


def _check_lengths(value: Any, where: str, room: int = 0) -> None:
    """A path no longer than ``PATH_MAX - room`` bytes (absolute) with no component over
    ``NAME_MAX`` bytes."""
    if not isinstance(value, str):
        return
    try:
        full = os.path.abspath(value).encode("utf-8", "surrogateescape")
    except ValueError:  # a NUL byte: reported by _check_path_value
        return
    if len(full) > PATH_MAX - room:
        raise ConfigError(f"config {where}: {excerpt(value)} is {len(full):,} bytes long as an "
                          f"absolute path (limit {PATH_MAX - room:,})")
    if any(len(part) > NAME_MAX for part in full.split(b"/")):
        raise ConfigError(f"config {where}: {excerpt(value)} has a component longer than "
                          f"{NAME_MAX} bytes")


def _input_paths(data: dict) -> list[tuple[Any, str]]:
    """``(value, where)`` of every file path a config names besides ``results``."""
    out: list[tuple[Any, str]] = []
    datasets = data.get("datasets")
    for name, block in datasets.items() if isinstance(datasets, dict) else ():
        if not isinstance(block, dict):
            continue
        inputs = block.get("inputs")
        for i, item in enumerate(inputs if isinstance(inputs, list) else ()):
            for k in ("fasta", "table", "labels"):
                if isinstance(item, dict) and k in item:
                    out.append((item[k], f"datasets.{key_name(name)}.inputs[{i}].{k}"))
        gen = block.get("generate")
        for k in ("classifier", "embed_model"):
            if isinstance(gen, dict) and gen.get(k) is not None:
                out.append((gen[k], f"datasets.{key_name(name)}.generate.{k}"))
    return out


def check_paths(data: Any) -> None:
    """Refuse unusable paths in the config: the results folder and every input file must be
    non-empty without control characters, no longer than ``PATH_MAX`` (the results folder
    keeps :data:`RESULTS_ROOM` bytes for what seqnn writes below it) with no component over
    ``NAME_MAX``, and may not hold ``{`` or ``}`` (Snakemake reads those as wildcards). Any
    other character is fine: the rules quote every path."""
    if not isinstance(data, dict):
        return
    results = data.get("results", "results")
    for value, where in [(results, "results"), *_input_paths(data)]:
        _check_path_value(value, where)
        if isinstance(value, str) and re.search(r"[{}]", value):
            raise ConfigError(f"config {where}: {excerpt(value)} may not hold {{ or }}")
        _check_lengths(value, where, RESULTS_ROOM if where == "results" else 0)


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


# ----------------------------------------------------------------------------- code, regexes

#: the losses seqnn has itself; others come only from installed packages' entry points
BUILTIN_LOSSES = ("auto", "cross_entropy", "bce", "mse")
#: the entry-point group an installed package registers its own losses under (the opt-in)
LOSS_ENTRY_POINTS = "seqnn.losses"


def registered_losses() -> tuple[str, ...]:
    """The names of the losses installed packages register under the entry-point group
    :data:`LOSS_ENTRY_POINTS` (read from package metadata; nothing is imported)."""
    from importlib.metadata import entry_points

    return tuple(sorted({ep.name for ep in entry_points(group=LOSS_ENTRY_POINTS)}))


def check_loss_name(name: Any) -> None:
    """Refuse a ``loss`` that is neither built in nor registered: a config never names code
    to import, so ``module:function`` (or any dotted path) gets one line saying how to
    register a loss instead. Raises ``ValueError`` (the caller names the key)."""
    if not isinstance(name, str) or name in BUILTIN_LOSSES:
        return  # the type is checked with the other settings
    if re.search(r"[:./\\]", name):
        raise ValueError(
            f"loss {excerpt(name)}: a config never imports code; register your own loss as an "
            f"entry point in the group '{LOSS_ENTRY_POINTS}' of an installed package and name "
            "it here by its entry-point name")
    known = registered_losses()
    if name not in known:
        raise ValueError(f"loss must be {', '.join(BUILTIN_LOSSES)} or a loss registered "
                         f"under the entry-point group '{LOSS_ENTRY_POINTS}' "
                         f"({', '.join(known) or 'none installed'}), got {excerpt(name)}")


MAX_REGEX = 500  # characters of a header_regex
#: characters of a header a header_regex is matched against (the rest is not searched)
MAX_REGEX_TEXT = 1000


def _first_literal(items: Any) -> Any:
    from re import _constants as c  # type: ignore[attr-defined]

    return items[0][1] if len(items) and items[0][0] == c.LITERAL else None


def _inner(op: Any, av: Any) -> list:
    """The sub-patterns of a group, a look-around or a conditional (``re._parser`` items)."""
    from re import _constants as c  # type: ignore[attr-defined]

    if op == c.SUBPATTERN:
        return [av[-1]]
    if op in (c.ASSERT, c.ASSERT_NOT):
        return [av[1]]
    if op == c.GROUPREF_EXISTS:
        return [b for b in av[1:] if b]
    return []


def _backtracks(items: Any, repeated: bool) -> bool:
    """Whether a parsed pattern holds a repeat inside an unbounded repeat (``(a+)+``) or
    alternatives that may start alike inside one (``(a|ab)+``): exponential backtracking."""
    from re import _constants as c  # type: ignore[attr-defined]

    for op, av in items:
        if op in (c.MAX_REPEAT, c.MIN_REPEAT):
            _, high, sub = av
            if repeated and (high == c.MAXREPEAT or high > 1):
                return True
            if _backtracks(sub, repeated or high == c.MAXREPEAT):
                return True
        elif op == c.BRANCH:
            firsts = [_first_literal(b) for b in av[1]]
            if repeated and (None in firsts or len(set(firsts)) < len(firsts)):
                return True
            if any(_backtracks(b, repeated) for b in av[1]):
                return True
        elif any(_backtracks(b, repeated) for b in _inner(op, av)):
            return True
    return False


def check_header_regex(pattern: Any, where: str) -> None:
    """Compile a user's ``header_regex`` at config-check time: one :class:`ConfigError`
    line ``"<where>: <reason>"`` for a pattern that is not a string, longer than
    :data:`MAX_REGEX`, invalid, or built to backtrack exponentially (a repeat inside an
    unbounded repeat, or ambiguous alternatives inside one). Ingest matches it against at
    most :data:`MAX_REGEX_TEXT` characters of each header, so the time per header stays
    bounded."""
    if not isinstance(pattern, str):
        raise ConfigError(f"{where}: a string expected, got {excerpt(pattern)}")
    if len(pattern) > MAX_REGEX:
        raise ConfigError(f"{where}: longer than {MAX_REGEX} characters")
    try:
        from re import _parser  # type: ignore[attr-defined]

        re.compile(pattern)
        tree = _parser.parse(pattern)
    except (re.error, RecursionError, OverflowError) as exc:
        raise ConfigError(f"{where}: not a regular expression ({exc})") from None
    if _backtracks(list(tree), False):
        raise ConfigError(f"{where}: {excerpt(pattern)} repeats a repeat or "
                          "alternatives that start alike (like (a+)+ or (a|ab)+), which can "
                          "take exponential time; write it without that nesting")


# ----------------------------------------------------------------------------- schema

SCHEMA_PATH = Path(__file__).with_name("schema.yaml")


def validate_schema(data: dict[str, Any]) -> None:
    """Validate a raw config mapping against ``schema.yaml``; one clear line on failure."""
    import jsonschema

    schema = load_yaml(SCHEMA_PATH.read_text(), SCHEMA_PATH)
    try:
        jsonschema.validate(data, schema)
    except jsonschema.ValidationError as exc:
        path = ".".join(key_name(p) for p in exc.absolute_path) or "(top level)"
        raise ConfigError(f"config {path}: {_short_message(exc)}") from None


def _short_message(exc: Any) -> str:
    """A jsonschema message on one short line: the offending value as an excerpt."""
    msg = exc.message
    if len(msg) > 200:
        whole = repr(exc.instance)  # bounded: check_config_size ran first
        msg = msg.replace(whole, excerpt(exc.instance)) if whole in msg else msg[:197] + "..."
    return msg.replace("\n", " ")
