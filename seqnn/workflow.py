"""The workflow's start-up check, run by the Snakefile before any job is planned.

:func:`check_workflow` validates a whole workflow config: the safety and schema checks and the
dataclasses of :mod:`seqnn.config` (torch-free), then every model block against the model
registry (its parameter names) and its training settings. It sits above the model registry, so
that :mod:`seqnn.config` itself never imports anything that pulls in torch.
"""

from __future__ import annotations

import shlex
from typing import Any

from .config import WorkflowConfig, train_config, workflow_from_dict
from .errors import ConfigError


def check_workflow(data: dict[str, Any]) -> WorkflowConfig:
    """Everything that can be checked before a run starts: the schema, every dataset and
    model block, each model's parameter names (against the registry) and training settings.
    Raises :class:`~seqnn.errors.ConfigError` with one line naming the place and the reason."""
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
        train_config(m.train, f"models.{name}.train")
    return wf


def model_nproc(block: dict[str, Any]) -> int:
    """The processes a model block's training jobs run on: its ``train: nproc`` (default 1)."""
    train = block.get("train") or {}
    return int(train.get("nproc", 1)) if isinstance(train, dict) else 1


def seqnn_command(python: str, block: dict[str, Any]) -> str:
    """The shell words that run ``seqnn`` for a model block's training and control jobs:
    ``python -m seqnn``, or with ``nproc`` N > 1 PyTorch's launcher (``torchrun``) starting
    N processes on this node (``--standalone``: a free local port, so several such jobs can
    share a node); :mod:`seqnn.training.distributed` says what the processes do."""
    n = model_nproc(block)
    prefix = shlex.quote(python)
    if n > 1:
        prefix += f" -m torch.distributed.run --standalone --nproc-per-node {n}"
    return f"{prefix} -m seqnn"


__all__ = ["ConfigError", "check_workflow", "model_nproc", "seqnn_command"]
