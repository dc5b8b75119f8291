"""What the Snakefile calls itself: the start-up check and the end-of-run summary.

:func:`check_workflow` validates a whole workflow config before any job is planned: the safety
and schema checks and the dataclasses of :mod:`seqnn.config` (torch-free), then every model
block against the model registry (its parameter names) and its training settings. It sits
above the model registry, so that :mod:`seqnn.config` itself never imports anything that pulls
in torch. :func:`run_summary` is the table the workflow prints when it ends (its
``onsuccess:``): each dataset's verdicts read from ``checks.json`` and the report's path
(JSON only, no torch).
"""

from __future__ import annotations

import json
import os
import shlex
from collections.abc import Sequence
from typing import Any

from . import layout
from .config import WorkflowConfig, train_config, workflow_from_dict
from .config_results import check_results_folder
from .errors import ConfigError


def check_workflow(data: dict[str, Any], cores: int | None = None) -> WorkflowConfig:
    """Everything that can be checked before a run starts: the schema, every dataset and
    model block, each model's parameter names (against the registry), training settings,
    monitored metric (against each dataset's task) and size (parameters and activation
    memory on the meta device, :func:`seqnn.training.model_size.check_model_size`), the
    results folder (:func:`seqnn.config_results.check_results_folder`) and, with ``cores``
    (the Snakefile's ``--cores`` on a local run), each model's ``nproc`` against them and
    the machine's CPUs. Raises :class:`~seqnn.errors.ConfigError` with one line naming the
    place and the reason."""
    wf = workflow_from_dict(data)
    from .models import model_params  # the registry (torch): only when a config is checked

    for name, m in wf.models.items():
        try:
            known = model_params(m.model)
        except ValueError as exc:
            raise ConfigError(f"models.{name}.model: {exc}") from None
        unknown = sorted(set(m.params) - set(known))
        if unknown:
            raise ConfigError(f"models.{name}.params: unknown parameter(s) {', '.join(unknown)} "
                              f"for model {m.model!r}; known: {', '.join(known)}")
        train = train_config(m.train, f"models.{name}.train")
        _check_nproc(train.nproc, cores, f"models.{name}.train.nproc")
    _check_model_runs(wf)
    check_results_folder(wf.results, force=bool(data.get("force_results", False)))
    return wf


GENERATIVE_MODELS = ("vae", "gan")


def _check_model_runs(wf: WorkflowConfig) -> None:
    """Each model block against the datasets it trains on: its ``monitor`` must be a metric
    of their task, and its size within bounds at their ``max_len``."""
    from .metrics import metrics_of
    from .training.model_size import check_model_size

    for name, m in wf.models.items():
        train = train_config(m.train, f"models.{name}.train")
        for ds in wf.datasets.values():
            if (ds.task == "generative") != (m.model in GENERATIVE_MODELS):
                continue  # the workflow does not train this model on this dataset
            task = "unsupervised" if ds.task in ("generative", "unsupervised") else ds.task
            known = ("reconstruction_accuracy",) if task == "unsupervised" or m.model in (
                "autoencoder", *GENERATIVE_MODELS) else metrics_of(task)
            if train.monitor not in (None, "auto", "loss", *known):
                raise ConfigError(f"models.{name}.train.monitor: {train.monitor!r} is not a "
                                  f"metric of dataset {ds.name} (task {ds.task}); use loss or "
                                  f"one of {', '.join(known)}")
            n_out = {"multiclass": max(2, len(ds.classes)),
                     "multilabel": max(1, len(ds.classes))}.get(task, 1)
            max_len = int(m.train.get("max_len", ds.max_len))
            check_model_size(m.model, m.params, task, n_out, max_len, f"models.{name}")


def _check_nproc(nproc: int, cores: int | None, where: str) -> None:
    """``nproc`` no more than ``cores`` (Snakemake's ``--cores``) and the CPUs of this
    machine, when the workflow runs its jobs here (``cores`` given)."""
    if cores is None or nproc == 1:
        return
    cpus = os.cpu_count() or 1
    if nproc > cores:
        raise ConfigError(f"{where}: {nproc} processes, but Snakemake was given --cores "
                          f"{cores}; give --cores {nproc} or more, or lower nproc")
    if nproc > cpus:
        raise ConfigError(f"{where}: {nproc} processes, but this machine has {cpus} CPUs")


def check_config_files(paths: Sequence[str | os.PathLike]) -> None:
    """Read again each config file Snakemake read (its ``--configfile`` and ``configfile:``)
    as seqnn reads a config: a regular file of at most ``MAX_CONFIG_BYTES``, and a key given
    twice in any mapping refused (Snakemake keeps the later value silently). Raises
    :class:`~seqnn.errors.ConfigError` naming the file."""
    from .config import parse_json_arg
    from .config_bounds import load_yaml, read_text_bounded

    for path in paths:
        text = read_text_bounded(path)
        if str(path).endswith(".json"):
            parse_json_arg(text, str(path))
        else:
            load_yaml(text, path)


def model_nproc(block: dict[str, Any]) -> int:
    """The processes a model block's training jobs run on: its ``train: nproc`` (default 1)."""
    train = block.get("train") or {}
    return int(train.get("nproc", 1)) if isinstance(train, dict) else 1


#: the environment prefix of every ``python -m`` a rule runs (see :func:`seqnn_command`)
SAFE_PATH = "env PYTHONSAFEPATH=1"


def seqnn_command(python: str, block: dict[str, Any]) -> str:
    """The shell words that run ``seqnn`` for a model block's training and control jobs:
    ``python -m seqnn``, or with ``nproc`` N > 1 PyTorch's launcher (``torchrun``) starting
    N processes on this node (``--standalone``: a free local port, so several such jobs can
    share a node); :mod:`seqnn.training.distributed` says what the processes do.
    ``PYTHONSAFEPATH=1`` keeps the working folder off Python's import path in every process
    (``-m`` would put it first), so a file planted there can never shadow a module."""
    n = model_nproc(block)
    prefix = f"{SAFE_PATH} {shlex.quote(python)}"
    if n > 1:
        prefix += f" -m torch.distributed.run --standalone --nproc-per-node {n}"
    return f"{prefix} -m seqnn"


def _num(value: Any) -> str:
    return f"{value:.3f}" if isinstance(value, (int, float)) and value == value else "n/a"


def _summary_row(name: str, entry: dict[str, Any]) -> list[str]:
    """model, verdict level, test metric, best shortcut and the why line of one checks entry."""
    level = str(entry.get("level") or entry.get("status") or "?").upper()
    metric = str(entry.get("metric", ""))
    label = metric.upper() if metric == "mcc" else metric
    if "test_metric" in entry:
        score = f"{label} {_num(entry['test_metric'])}".strip()
    elif isinstance(entry.get("probe"), dict):  # an autoencoder: its latent probe
        probe = entry["probe"]
        m = str(probe.get("metric", ""))
        score = f"probe {m.upper() if m == 'mcc' else m} {_num(probe.get('test'))}"
    else:
        acc = entry.get("reconstruction_accuracy") or {}
        score = f"reconstruction {_num(acc.get('test') if isinstance(acc, dict) else None)}"
    short = entry.get("best_shortcut")
    shortcut = "—"
    if isinstance(short, dict):
        delta = entry.get("delta_vs_best_shortcut")
        shortcut = (f"{short.get('label') or short.get('name', '?')} "
                    f"{_num(short.get('test_metric'))}")
        if isinstance(delta, (int, float)):
            shortcut += f" (Δ {delta:+.3f})"
    return [name, level, score, shortcut, str(entry.get("why", ""))]


def _table(rows: list[list[str]]) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    return ["  " + "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=False)) + "  " + r[-1]
            for r in rows]


def run_summary(results: str | os.PathLike, datasets: Sequence[str],
                generative: Sequence[str] = ()) -> str:
    """The end-of-run summary: for each dataset of ``datasets`` a table of its models
    (model, verdict level, test metric, best shortcut with the model's margin over it, and
    the one-line why) read from ``results/<dataset>/checks.json``, then the path of its
    ``report.html``; for each dataset of ``generative`` the path of its ``generation.html``;
    last, the index page when there is one. A dataset whose ``checks.json`` is missing or
    unreadable (a run limited to other targets) gets one line saying so."""
    lines = ["seqnn: the run is complete."]
    for ds in datasets:
        folder = os.path.join(results, ds)
        try:
            with open(os.path.join(folder, layout.CHECKS), encoding="utf-8") as fh:
                models = json.load(fh).get("models") or {}
            rows = [_summary_row(str(n), e) for n, e in models.items() if isinstance(e, dict)]
        except (OSError, ValueError, AttributeError):
            lines.append(f"dataset {ds}: no readable {layout.CHECKS} (not checked in this run)")
            continue
        lines.append(f"dataset {ds}:")
        lines += _table([["model", "verdict", "test metric", "best shortcut", "why"], *rows])
        report = os.path.join(folder, layout.REPORT_HTML)
        lines.append(f"  report: {report}" if os.path.exists(report)
                     else f"  report: {report} (not written in this run)")
    for ds in generative:
        page = os.path.join(results, ds, layout.GENERATION_HTML)
        if os.path.exists(page):
            lines.append(f"dataset {ds} (generative): {page}")
    index = os.path.join(results, layout.INDEX_HTML)
    if datasets and os.path.exists(index):
        lines.append(f"all datasets side by side: {index}")
    return "\n".join(lines)


__all__ = ["ConfigError", "check_config_files", "check_workflow", "model_nproc", "run_summary",
           "seqnn_command"]
