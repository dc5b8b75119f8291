"""The one config object: frozen dataclasses loaded from YAML/JSON and validated at the edge.

The workflow config (``config/config.yaml``) is validated against the JSON Schema shipped
in the package (``seqnn/schema.yaml``; ``config/schema.yaml`` points at it), then turned into
:class:`WorkflowConfig`. The ``seqnn`` subcommands receive one dataset block or one model
block as JSON and rebuild the same dataclasses, so no raw dict travels further.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from .config_generate import GenerateSpec
from .config_safety import DATASET_TASKS, check_config_data, excerpt, key_name
from .errors import ConfigError

SCHEMA_PATH = Path(__file__).with_name("schema.yaml")
#: the longest sequence a model sees unless a dataset says otherwise (the one default)
DEFAULT_MAX_LEN = 1000
#: how a sequence over ``max_len`` is cut (:func:`seqnn.data.encoding.crop`) or refused
TRUNCATE_MODES = ("right", "left", "center", "ends", "error")
#: upper bounds of ``max_len`` and ``ensemble`` (a model folder outside them is refused too)
MAX_LEN_LIMIT = 1_000_000
MAX_ENSEMBLE = 64
#: the header field / table column marking validation records (biotrainer/FLIP convention)
DEFAULT_VALID_FIELD = "VALIDATION"
#: the largest workflow config file read (YAML; aliases are bounded by seqnn.config_safety)
MAX_CONFIG_BYTES = 1_000_000


@dataclass(frozen=True)
class InputSpec:
    """One input file of a dataset: a FASTA (``fasta``) or a table with a sequence column
    (``table``), and where its labels and given split come from."""

    fasta: str | None = None
    table: str | None = None
    label: str | None = None  # one constant label for every record of the file
    split: str | None = None  # one given split for every record of the file
    labels: str | None = None  # a TSV/CSV keyed by id
    id_column: str = "id"
    label_column: str = "label"
    split_column: str | None = None
    sequence_column: str = "sequence"
    header_field: str | None = None  # label from a key=value header field
    header_regex: str | None = None  # label from a regex on the header (group 1)
    split_field: str | None = None  # given split from a key=value header field
    # with a per-record split (split_field or split_column): a true VALIDATION field or
    # column moves a train record to valid (biotrainer/FLIP); None switches it off
    valid_field: str | None = DEFAULT_VALID_FIELD


@dataclass(frozen=True)
class SplitSpec:
    """How to split: ``cluster`` (MMseqs2, default), ``given``, ``random``, ``stratified`` or
    ``mutations`` (variant libraries: train on <= ``max_train_mutations``)."""

    method: str = "cluster"
    identity: float = 0.3
    coverage: float = 0.8
    fractions: tuple[float, float, float] = (0.8, 0.1, 0.1)
    seed: int = 0
    folds: int = 0  # > 1: also a `fold` column, whole clusters per fold (cross-validation)
    # variant libraries (deep mutational scans), see seqnn.split.variants
    variants: Any = "auto"  # auto | true | false: audit by mutational distance
    variant_max_mutations: int = 10
    variant_min_fraction: float = 0.8
    max_train_mutations: int | None = None  # method mutations: train on <= k mutations
    parent: str | None = None  # reference for mutation counts (record id or sequence)
    # method given: the share of train carved out as valid when the given split has none
    # (None = 0.1; seqnn.split.carve)
    valid_fraction: float | None = None
    # above this many sequences: linclust for the cluster split, a prefiltered audit search
    linclust_above: int = 50_000
    audit_sensitivity: float = 5.7  # MMseqs2 -s of that audit search


def check_valid_fraction(spec: SplitSpec, where: str) -> None:
    """Refuse a ``valid_fraction`` outside (0, 1) or with a method other than ``given`` (the
    others take the validation share from ``fractions``); one-line :class:`ConfigError`."""
    f = spec.valid_fraction
    if f is None:
        return
    if isinstance(f, bool) or not isinstance(f, int | float) or not 0 < f < 1:
        raise ConfigError(f"{where}.valid_fraction: a number in (0, 1) expected, got {f!r}")
    if spec.method != "given":
        raise ConfigError(f"{where}.valid_fraction: only for method given (method "
                          f"{spec.method} takes the validation share from fractions)")


@dataclass(frozen=True)
class DatasetSpec:
    """A dataset: its inputs, task, alphabet policy, split and duplicate handling."""

    name: str
    task: str
    inputs: tuple[InputSpec, ...]
    policy: str = "map"
    drop_gaps: bool = False
    drop_duplicates: bool = False
    split: SplitSpec = field(default_factory=SplitSpec)
    max_len: int = DEFAULT_MAX_LEN
    classes: tuple[str, ...] = ()  # class order; binary: the second class is the positive one
    label_separator: str = ";"  # multilabel: between the labels of one field ("A;B")
    generate: GenerateSpec = field(default_factory=GenerateSpec)  # task: generative only


@dataclass(frozen=True)
class ModelSpec:
    """A model to train: registry name, its parameters and training settings."""

    name: str
    model: str
    params: dict[str, Any] = field(default_factory=dict)
    train: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ChecksSpec:
    """Settings of the honesty checks: which controls run, their epoch cap, the margin."""

    permutation: bool = True
    permutation_runs: int = 3
    shuffle: bool = True
    control_epochs: int = 30
    margin: float = 0.05
    bootstrap: int = 1000
    min_valid: int = 30
    min_test: int = 50


@dataclass(frozen=True)
class TrainConfig:
    """Training settings (validated on construction; see the module doc of each choice).

    ``monitor``: ``None`` = the task's primary metric (reconstruction accuracy for an
    autoencoder), ``"loss"`` or a metric name. ``loss``: ``auto | cross_entropy | bce | mse``
    or ``"package.module:function"``. ``amp`` only acts on CUDA (bf16 where supported, else
    fp16 with a GradScaler). ``grad_clip`` ``None`` or 0 disables clipping. ``ema`` > 0 keeps
    an exponential moving average of the weights with that decay per step (warmed up as
    ``min(ema, (1 + t) / (10 + t))``); validation, early stopping and the saved model then
    use the averaged weights, which smooths the epoch-to-epoch swings of a noisy run.
    ``ensemble`` k > 1 trains k members with seeds ``seed .. seed + k - 1`` (the batch order:
    ``seed``'s), each early-stopped on its own, and saves them as one model averaging them
    (:mod:`seqnn.training.ensemble`). ``nproc`` N > 1 makes the workflow launch the job with
    ``torchrun --nproc-per-node N`` (data-parallel, :mod:`seqnn.training.distributed`;
    ``batch_size`` stays the global batch); ``seqnn train`` itself follows the processes that
    torchrun started, not this number. Plain data, no torch: :mod:`seqnn.train` re-exports it.
    """

    epochs: int = 100
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 0.0
    optimizer: str = "adam"
    scheduler: str = "none"
    grad_clip: float | None = 1.0
    ema: float = 0.0
    ensemble: int = 1
    patience: int = 10
    monitor: str | None = None
    class_weights: str | float = "none"
    loss: str = "auto"
    max_len: int = DEFAULT_MAX_LEN
    truncate: str = "ends"
    device: str = "auto"
    amp: bool = True
    seed: int = 0
    threads: int | None = None
    num_workers: int = 0
    quiet: bool = False
    nproc: int = 1

    def __post_init__(self) -> None:
        choices = {
            "optimizer": ("adam", "adamw", "sgd"), "scheduler": ("none", "plateau", "cosine"),
            "truncate": TRUNCATE_MODES,
        }
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                got = getattr(self, name)
                raise ValueError(f"{name} must be one of {', '.join(allowed)}, got {got!r}")
        class_weight_power(self.class_weights)  # raises on a bad value
        for name in ("epochs", "batch_size", "max_len", "patience", "ensemble", "nproc"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)!r}")
        for name, high in (("max_len", MAX_LEN_LIMIT), ("ensemble", MAX_ENSEMBLE)):
            if getattr(self, name) > high:
                raise ValueError(f"{name} must be <= {high}, got {getattr(self, name)!r}")
        if not 0.0 <= self.ema < 1.0:
            raise ValueError(f"ema must be in [0, 1), got {self.ema!r}")
        if self.lr <= 0 or self.weight_decay < 0 or self.num_workers < 0:
            raise ValueError("lr must be > 0; weight_decay and num_workers >= 0")
        if self.loss not in ("auto", "cross_entropy", "bce", "mse") and ":" not in self.loss:
            raise ValueError(
                f"loss must be auto, cross_entropy, bce, mse or module:function, got {self.loss!r}"
            )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        """Build from a plain dict, refusing unknown keys by name; a value of the wrong type
        raises ``TypeError`` naming its key."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown training setting(s) {', '.join(unknown)}")
        try:
            return cls(**data)
        except TypeError:
            for key, value in data.items():  # the first key that fails on its own
                try:
                    cls(**{key: value})
                except TypeError:
                    raise TypeError(f"{key}: invalid value {value!r} "
                                    f"({type(value).__name__})") from None
                except ValueError:
                    pass
            raise


def train_config(data: dict[str, Any], where: str) -> TrainConfig:
    """:meth:`TrainConfig.from_dict` for settings read at ``where`` (e.g.
    ``models.cnn.train``): any refusal becomes a one-line
    :class:`~seqnn.errors.ConfigError` ``"<where>: <reason naming the key>"``."""
    try:
        return TrainConfig.from_dict(data)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"{where}: {exc}") from None


def replace_train(config: TrainConfig, where: str, **changes: Any) -> TrainConfig:
    """``config`` with ``changes`` applied (:func:`dataclasses.replace`, validated again); a
    refused value becomes a one-line :class:`~seqnn.errors.ConfigError` naming ``where``."""
    try:
        return replace(config, **changes)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"{where}: {exc}") from None


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


def _build(cls: type, data: dict[str, Any], where: str) -> Any:
    """Instantiate dataclass ``cls`` from ``data``, refusing unknown keys by name."""
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a mapping, got {type(data).__name__}")
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(
            f"{where}: unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}"
        )
    return cls(**data)


def dataset_from_dict(name: str, data: dict[str, Any]) -> DatasetSpec:
    """Build a :class:`DatasetSpec` from one ``datasets:`` block of the config."""
    data = dict(data)
    where = f"datasets.{name}"
    inputs = data.pop("inputs", None)
    if not inputs:
        raise ConfigError(f"{where}: 'inputs' must list at least one fasta or table")
    specs = []
    for i, item in enumerate(inputs):
        spec = _build(InputSpec, item, f"{where}.inputs[{i}]")
        if (spec.fasta is None) == (spec.table is None):
            raise ConfigError(f"{where}.inputs[{i}]: give exactly one of 'fasta' or 'table'")
        specs.append(spec)
    split = data.pop("split", {}) or {}
    split = _build(SplitSpec, split, f"{where}.split")
    split = SplitSpec(**{**split.__dict__, "fractions": tuple(split.fractions)})
    if split.method not in ("cluster", "given", "random", "stratified", "mutations"):
        raise ConfigError(f"{where}.split.method: unknown method {split.method!r}")
    if split.method == "mutations" and split.max_train_mutations is None:
        raise ConfigError(f"{where}.split: method 'mutations' needs max_train_mutations")
    if len(split.fractions) != 3 or abs(sum(split.fractions) - 1) > 1e-6:
        raise ConfigError(f"{where}.split.fractions: three fractions summing to 1 expected")
    check_valid_fraction(split, f"{where}.split")
    if "task" not in data:
        raise ConfigError(f"{where}: 'task' is required (binary, multiclass or regression)")
    data["classes"] = tuple(str(c) for c in data.get("classes", ()))
    data["generate"] = _build(GenerateSpec, data.get("generate") or {}, f"{where}.generate")
    spec = _build(DatasetSpec, {**data, "name": name, "inputs": tuple(specs), "split": split},
                  where)
    if spec.task not in DATASET_TASKS:
        raise ConfigError(f"{where}.task: unknown task {spec.task!r}")
    if not isinstance(spec.label_separator, str) or not spec.label_separator.strip():
        raise ConfigError(f"{where}.label_separator: a non-empty string expected")
    if spec.policy not in ("map", "strict"):
        raise ConfigError(f"{where}.policy: unknown policy {spec.policy!r}")
    return spec


def model_from_dict(name: str, data: dict[str, Any]) -> ModelSpec:
    """Build a :class:`ModelSpec` from one ``models:`` block of the config."""
    data = dict(data)
    data.setdefault("model", name)
    spec = _build(ModelSpec, {**data, "name": name}, f"models.{name}")
    return ModelSpec(spec.name, spec.model, dict(spec.params or {}), dict(spec.train or {}))


@dataclass(frozen=True)
class WorkflowConfig:
    """The whole workflow config: results folder, datasets, models and checks."""

    results: str
    threads: int
    device: str
    datasets: dict[str, DatasetSpec]
    models: dict[str, ModelSpec]
    checks: ChecksSpec


def validate_schema(data: dict[str, Any]) -> None:
    """Validate a raw config mapping against ``schema.yaml``; one clear line on failure."""
    import jsonschema
    import yaml

    schema = yaml.safe_load(SCHEMA_PATH.read_text())
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


def workflow_from_dict(data: dict[str, Any]) -> WorkflowConfig:
    """Validate and build the :class:`WorkflowConfig` from a parsed YAML mapping."""
    check_config_data(data)
    validate_schema(data)
    return WorkflowConfig(
        results=str(data.get("results", "results")),
        threads=int(data.get("threads", 2)),
        device=str(data.get("device", "auto")),
        datasets={k: dataset_from_dict(k, v) for k, v in data["datasets"].items()},
        models={k: model_from_dict(k, v) for k, v in data["models"].items()},
        checks=_build(ChecksSpec, data.get("checks", {}) or {}, "checks"),
    )


def read_workflow_file(path: str | Path) -> dict[str, Any]:
    """The raw mapping of a YAML workflow config file, read with ``yaml.safe_load`` (no tags,
    no code) from a file of at most :data:`MAX_CONFIG_BYTES`; not yet validated."""
    import yaml

    try:
        if Path(path).stat().st_size > MAX_CONFIG_BYTES:
            raise ConfigError(f"{path}: config file larger than {MAX_CONFIG_BYTES} bytes")
        data = yaml.safe_load(Path(path).read_text())
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the config file ({exc})") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({' '.join(str(exc).split())})") from None
    if data is not None and not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    return data or {}


def load_workflow(path: str | Path) -> WorkflowConfig:
    """Read a YAML workflow config file (:func:`read_workflow_file`) and validate it."""
    return workflow_from_dict(read_workflow_file(path))


def parse_json_arg(text: str, what: str) -> dict[str, Any]:
    """Parse a JSON object given on the command line (or ``@file.json``)."""
    if text.startswith("@"):
        text = Path(text[1:]).read_text()
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{what}: not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{what}: expected a JSON object")
    return data
