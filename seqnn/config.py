"""The one config object: frozen dataclasses loaded from YAML/JSON and validated at the edge.

The workflow config (``config/config.yaml``) is validated against the JSON Schema shipped
in the package (``seqnn/schema.yaml``; ``config/schema.yaml`` points at it), then turned into
:class:`WorkflowConfig`. The ``seqnn`` subcommands receive one dataset block or one model
block as JSON and rebuild the same dataclasses, so no raw dict travels further.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from .config_bounds import (
    MAX_BATCH_SIZE,
    MAX_BOOTSTRAP,
    MAX_ENSEMBLE,
    MAX_EPOCHS,
    MAX_FOLDS,
    MAX_GRAD_CLIP,
    MAX_LEN_LIMIT,
    MAX_LINCLUST_ABOVE,
    MAX_LR,
    MAX_MIN_SIZE,
    MAX_MUTATIONS,
    MAX_NPROC,
    MAX_PERMUTATION_RUNS,
    MAX_SEED,
    MAX_THREADS,
    MAX_WORKERS,
    check_fields,
    check_spec,
    class_weight_power,
    read_yaml_file,
    setting,
)
from .config_bounds import MAX_CONFIG_BYTES as MAX_CONFIG_BYTES  # the largest config read
from .config_bounds import parse_json_arg as parse_json_arg  # --spec JSON or @file, bounded
from .config_generate import GenerateSpec
from .config_safety import (
    DATASET_TASKS,
    check_config_data,
    check_header_regex,
    check_loss_name,
    excerpt,
    validate_schema,
)
from .config_safety import SCHEMA_PATH as SCHEMA_PATH  # the JSON Schema of a config
from .errors import ConfigError

#: the longest sequence a model sees unless a dataset says otherwise (the one default)
DEFAULT_MAX_LEN = 1000
#: how a sequence over ``max_len`` is cut (:func:`seqnn.data.encoding.crop`) or refused
TRUNCATE_MODES = ("right", "left", "center", "ends", "error")
#: the header field / table column marking validation records (biotrainer/FLIP convention)
DEFAULT_VALID_FIELD = "VALIDATION"
#: ``device``: auto | cpu | cuda | cuda:N | mps (whether it exists is checked when used)
DEVICE_PATTERN = r"auto|cpu|cuda|cuda:\d{1,4}|mps"


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


SPLIT_METHODS = ("cluster", "given", "random", "stratified", "mutations")


@dataclass(frozen=True)
class SplitSpec:
    """How to split: ``cluster`` (MMseqs2, default), ``given``, ``random``, ``stratified`` or
    ``mutations`` (variant libraries: train on <= ``max_train_mutations``)."""

    method: str = setting("cluster", str, choices=SPLIT_METHODS)
    identity: float = setting(0.3, float, low=0, high=1, low_open=True)
    coverage: float = setting(0.8, float, low=0, high=1, low_open=True)
    fractions: tuple[float, float, float] = (0.8, 0.1, 0.1)
    seed: int = setting(0, int, low=0, high=MAX_SEED)
    # > 1: also a `fold` column, whole clusters per fold (cross-validation)
    folds: int = setting(0, int, low=0, high=MAX_FOLDS)
    # variant libraries (deep mutational scans), see seqnn.split.variants
    # auto | true | false (the command line's --variants gives "true" / "false")
    variants: Any = setting("auto", (str, bool), choices=("auto", True, False, "true", "false"))
    variant_max_mutations: int = setting(10, int, low=0, high=MAX_MUTATIONS)
    variant_min_fraction: float = setting(0.8, float, low=0, high=1)
    # method mutations: train on <= k mutations
    max_train_mutations: int | None = setting(None, int, low=0, high=MAX_MUTATIONS,
                                              nullable=True)
    parent: str | None = None  # reference for mutation counts (record id or sequence)
    # method given: the share of train carved out as valid when the given split has none
    # (None = 0.1; seqnn.split.carve)
    valid_fraction: float | None = None
    # above this many sequences: linclust for the cluster split, a prefiltered audit search
    linclust_above: int = setting(50_000, int, low=0, high=MAX_LINCLUST_ABOVE)
    audit_sensitivity: float = setting(5.7, float, low=1, high=7.5)  # MMseqs2 -s of the audit

    def __post_init__(self) -> None:
        check_spec(self)  # each setting()'s type and range (ConfigError naming the key)


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
    max_len: int = setting(DEFAULT_MAX_LEN, int, low=8, high=MAX_LEN_LIMIT)
    classes: tuple[str, ...] = ()  # class order; binary: the second class is the positive one
    label_separator: str = ";"  # multilabel: between the labels of one field ("A;B")
    unknown_labels: str = "error"  # a label not in `classes`: error | drop (ingest counts them)
    missing_labels: str = "error"  # a record without a label: error | drop
    generate: GenerateSpec = field(default_factory=GenerateSpec)  # task: generative only

    def __post_init__(self) -> None:
        check_spec(self)  # max_len's type and range (ConfigError naming the key)


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

    permutation: bool = setting(True, bool)
    permutation_runs: int = setting(3, int, low=1, high=MAX_PERMUTATION_RUNS)
    shuffle: bool = setting(True, bool)
    control_epochs: int = setting(30, int, low=1, high=MAX_EPOCHS)
    margin: float = setting(0.05, float, low=0, high=1)
    bootstrap: int = setting(1000, int, low=0, high=MAX_BOOTSTRAP)
    min_valid: int = setting(30, int, low=0, high=MAX_MIN_SIZE)
    min_test: int = setting(50, int, low=0, high=MAX_MIN_SIZE)

    def __post_init__(self) -> None:
        check_spec(self)  # each setting()'s type and range (ConfigError naming the key)


@dataclass(frozen=True)
class TrainConfig:
    """Training settings (validated on construction; see the module doc of each choice).

    ``monitor``: ``None`` = the task's primary metric (reconstruction accuracy for an
    autoencoder), ``"loss"`` or a metric name. ``loss``: ``auto | cross_entropy | bce | mse``
    or the name of a loss an installed package registers under the entry-point group
    ``seqnn.losses`` (never a ``module:function`` string: a config imports no code).
    ``amp`` only acts on CUDA (bf16 where supported, else fp16 with a GradScaler).
    ``grad_clip`` ``None`` or 0 disables clipping. ``ema`` > 0 keeps an exponential moving
    average of the weights with that decay per step (warmed up as
    ``min(ema, (1 + t) / (10 + t))``); validation, early stopping and the saved model then
    use the averaged weights, which smooths the epoch-to-epoch swings of a noisy run.
    ``ensemble`` k > 1 trains k members with seeds ``seed .. seed + k - 1`` (the batch order:
    ``seed``'s), each early-stopped on its own, and saves them as one model averaging them
    (:mod:`seqnn.training.ensemble`). ``nproc`` N > 1 makes the workflow launch the job with
    ``torchrun --nproc-per-node N`` (data-parallel, :mod:`seqnn.training.distributed`;
    ``batch_size`` stays the global batch); ``seqnn train`` itself follows the processes that
    torchrun started, not this number. Each field's type and range is declared beside its
    default (:func:`seqnn.config_bounds.setting`) and checked on construction. Plain data,
    no torch: :mod:`seqnn.train` re-exports it.
    """

    epochs: int = setting(100, int, low=1, high=MAX_EPOCHS)
    batch_size: int = setting(64, int, low=1, high=MAX_BATCH_SIZE)
    lr: float = setting(1e-3, float, low=0, high=MAX_LR, low_open=True)
    weight_decay: float = setting(0.0, float, low=0, high=MAX_LR)
    optimizer: str = setting("adam", str, choices=("adam", "adamw", "sgd"))
    scheduler: str = setting("none", str, choices=("none", "plateau", "cosine"))
    grad_clip: float | None = setting(1.0, float, low=0, high=MAX_GRAD_CLIP, nullable=True)
    ema: float = setting(0.0, float, low=0, high=1, high_open=True)
    ensemble: int = setting(1, int, low=1, high=MAX_ENSEMBLE)
    patience: int = setting(10, int, low=1, high=MAX_EPOCHS)
    monitor: str | None = setting(None, str, nullable=True)
    class_weights: str | float = "none"
    loss: str = setting("auto", str)
    max_len: int = setting(DEFAULT_MAX_LEN, int, low=1, high=MAX_LEN_LIMIT)
    truncate: str = setting("ends", str, choices=TRUNCATE_MODES)
    device: str = setting("auto", str)
    amp: bool = setting(True, bool)
    seed: int = setting(0, int, low=0, high=MAX_SEED)
    threads: int | None = setting(None, int, low=1, high=MAX_THREADS, nullable=True)
    num_workers: int = setting(0, int, low=0, high=MAX_WORKERS)
    quiet: bool = setting(False, bool)
    nproc: int = setting(1, int, low=1, high=MAX_NPROC)

    def __post_init__(self) -> None:
        check_fields(self)  # type and range of every setting() field (one line, by key)
        class_weight_power(self.class_weights)  # raises on a bad value
        check_loss_name(self.loss)
        if not re.fullmatch(DEVICE_PATTERN, self.device):
            raise ValueError(f"device must be auto, cpu, cuda, cuda:N or mps, got "
                             f"{excerpt(self.device)}")
        if self.monitor is not None and not re.fullmatch(r"[a-z][a-z0-9_]{0,39}", self.monitor):
            raise ValueError(f"monitor must be loss, auto or a metric name, got "
                             f"{excerpt(self.monitor)}")

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


def _build(cls: type, data: dict[str, Any], where: str) -> Any:
    """Instantiate dataclass ``cls`` from ``data``, refusing unknown keys by name and any
    value outside its declared type and range (each block's ``__post_init__``)."""
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a mapping, got {type(data).__name__}")
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(
            f"{where}: unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}"
        )
    try:
        return cls(**data)
    except ConfigError as exc:  # a setting() out of its bounds: name its place
        raise ConfigError(f"{where}.{exc}") from None


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
        if spec.header_regex is not None:
            check_header_regex(spec.header_regex, f"config {where}.inputs[{i}].header_regex")
        specs.append(spec)
    split = data.pop("split", {}) or {}
    split = _build(SplitSpec, split, f"{where}.split")
    if split.method not in SPLIT_METHODS:  # checked here too for the message tests rely on
        raise ConfigError(f"{where}.split.method: unknown method {split.method!r}")
    if not isinstance(split.fractions, list | tuple) or not all(
            isinstance(f, int | float) and not isinstance(f, bool) and 0 <= f <= 1
            for f in split.fractions):
        raise ConfigError(f"{where}.split.fractions: three fractions summing to 1 expected")
    split = SplitSpec(**{**split.__dict__, "fractions": tuple(split.fractions)})
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
    for key in ("unknown_labels", "missing_labels"):
        if getattr(spec, key) not in ("error", "drop"):
            raise ConfigError(f"{where}.{key}: {getattr(spec, key)!r}; use error or drop")
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
    """The raw mapping of a YAML workflow config file, read from a regular file of at most
    :data:`MAX_CONFIG_BYTES` (a FIFO or device is refused unread) with a safe loader that
    refuses duplicate keys (:func:`seqnn.config_bounds.read_yaml_file`); not yet validated."""
    data = read_yaml_file(path)
    if data is not None and not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    return data or {}


def load_workflow(path: str | Path) -> WorkflowConfig:
    """Read a YAML workflow config file (:func:`read_workflow_file`) and validate it."""
    return workflow_from_dict(read_workflow_file(path))
