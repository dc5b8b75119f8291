"""Training a seed ensemble: ``ensemble: k`` in the training settings.

``out_dir/members/<i>/`` holds member ``i``'s complete run (seed ``seed + i``, its own
early stopping, ``state.pt``, ``history.csv`` and model directory), so an interrupted
ensemble resumes member by member: finished members are not retrained. The ensemble itself
(:class:`seqnn.models.ensemble.Ensemble`, the members' predictions averaged in probability
space) is saved in ``out_dir`` like any model, with ``"ensemble": k``, the members' best
epochs and ``"ensemble_seeds"`` added to ``model.json``; ``out_dir/history.csv`` stacks the
members' histories with a ``member`` column.

The members train one after another, not stacked into one vectorised network
(``torch.func`` ``vmap``): on the 2-core CPU that was measured slower than taking turns
(1.14x for the mlp, 1.24x for the cnn; batch norm's running statistics fall back to a loop),
and the rnn cannot be vectorised at all (packed sequences need the lengths as Python
integers; ``aten::lstm`` has no batching rule). ``benchmarks/bench_ensemble.py`` and
``benchmarks/README.md`` ("Ensembles") have the figures.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd

from ..config import TrainConfig
from ..data.encoding import EncodedDataset
from ..data.files import write_table
from ..layout import HISTORY, member_dir
from ..models.ensemble import Ensemble
from ..runtime.checkpoint import load_model, save_model
from ..runtime.device import select_device
from .evaluation import evaluate_run, valid_temperature, valid_thresholds
from .single import train_single


def train_ensemble(
    train: EncodedDataset,
    valid: EncodedDataset,
    *,
    config: TrainConfig,
    out_dir: str | os.PathLike,
    test: EncodedDataset | None = None,
    evaluate: bool = True,
    notes: list[str] | None = None,
    **member_args: Any,
) -> dict[str, Any]:
    """Train ``config.ensemble`` members and save their average; same contract and summary
    as :func:`seqnn.training.run.train_model`, whose other keyword arguments (``model_name``,
    ``model_params``, ``resume``, ``meta``, ``restart_on_change``) ``member_args`` passes to
    every member. ``best_epoch`` is the first member's; the summary adds ``members``, each
    member's summary. ``metrics.json`` (with ``notes``) is written before the ensemble's
    model files, ``model.json`` last."""
    if train.task == "unsupervised":
        raise ValueError("ensemble > 1 needs a supervised task: an autoencoder's "
                         "reconstructions are not averaged")
    out = Path(out_dir)
    summaries, members, histories, record = [], [], [], {}
    for i in range(config.ensemble):
        member_config = replace(config, ensemble=1, seed=config.seed + i)
        summary = train_single(train, valid, config=member_config, out_dir=member_dir(out, i),
                              evaluate=False, **member_args)
        summaries.append(summary)
        member, member_meta = load_model(summary["model_dir"])
        members.append(member)
        record = record or member_meta  # model.json of the first member
        history = pd.read_csv(summary["history"])
        history.insert(0, "member", i)
        histories.append(history)
    device = select_device(config.device)
    model = Ensemble(members).to(device).eval()
    for key in ("format_version", "created", "seqnn_version", "torch_version"):
        record.pop(key, None)
    record.update(ensemble=config.ensemble,
                  ensemble_seeds=[config.seed + i for i in range(config.ensemble)],
                  member_best_epochs=[s["best_epoch"] for s in summaries],
                  epochs_run=sum(s["epochs_run"] for s in summaries),
                  train_config={**record["train_config"], "ensemble": config.ensemble,
                                "seed": config.seed})
    write_table(pd.concat(histories, ignore_index=True), out / HISTORY)
    record.pop("temperature", None)  # a member's; the ensemble gets its own
    temperature = valid_temperature(model, valid, config, device)
    labelwise = temperature if isinstance(temperature, list) else None  # multilabel
    thresholds = valid_thresholds(model, valid, config, device, labelwise)  # the average's
    if thresholds is not None:
        record["thresholds"] = dict(zip(train.class_names, thresholds, strict=True))
    metrics = (evaluate_run(model, train, valid, test, config, device, out, notes, thresholds,
                            labelwise) if evaluate else None)
    if labelwise is not None:
        record["temperature"] = dict(zip(train.class_names, labelwise, strict=True))
    elif temperature is not None:
        record["temperature"] = temperature
    save_model(out, model, record)
    first = summaries[0]
    return {
        "best_epoch": first["best_epoch"], "best_metric": first["best_metric"],
        "monitor": first["monitor"], "epochs_run": record["epochs_run"],
        "stopped_early": all(s["stopped_early"] for s in summaries),
        "history": str(out / HISTORY), "model_dir": str(out), "metrics": metrics,
        "members": summaries,
    }
