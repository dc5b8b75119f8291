"""Training a seed ensemble: ``ensemble: k`` in the training settings.

``out_dir/members/<i>/`` holds member ``i``'s complete run (seed ``seed + i``, its own
early stopping, ``state.pt``, ``history.csv`` and model directory), so an interrupted
ensemble resumes member by member: finished members are not retrained. The ensemble itself
(:class:`seqnn.models.ensemble.Ensemble`, the members' predictions averaged in probability
space) is saved in ``out_dir`` like any model, with ``"ensemble": k``, the members' best
epochs and ``"ensemble_seeds"`` added to ``model.json``; ``out_dir/history.csv`` stacks the
members' histories with a ``member`` column.

Member ``i`` draws its weights and dropout from ``seed + i``; all members see the batches
in the order of ``seed``. Where the family can be stacked (the ``rnn``, see
:mod:`seqnn.models.stacked`) and the device is the CPU, the members train together, one
stacked pass per batch (:mod:`seqnn.training.together`); otherwise one after another. Both
give the same members within float rounding; ``together=False`` forces the second.
``benchmarks/bench_ensemble.py`` and ``benchmarks/README.md`` ("Ensembles") have the
figures (``torch.func.vmap`` over the members was measured slower than taking turns).
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd
import torch

from ..config import TrainConfig
from ..data.encoding import EncodedDataset
from ..data.files import write_table
from ..layout import HISTORY, member_dir
from ..models import get_model
from ..models.ensemble import Ensemble
from ..models.stacked import stack_refusal
from ..runtime.checkpoint import load_model, save_model
from ..runtime.device import heap_limited, select_device
from .evaluation import evaluate_run, valid_temperature, valid_thresholds
from .loop import n_outputs_for
from .single import finish_model, new_trainer, run_summary, train_single
from .together import MemberRandom, fit_together


def train_ensemble(
    train: EncodedDataset,
    valid: EncodedDataset,
    *,
    config: TrainConfig,
    out_dir: str | os.PathLike,
    test: EncodedDataset | None = None,
    evaluate: bool = True,
    notes: list[str] | None = None,
    together: bool = True,
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
    summaries = _train_members(train, valid, config, out, together, member_args)
    members, histories, record = [], [], {}
    for i, summary in enumerate(summaries):
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
    write_table(pd.concat(histories, ignore_index=True), out / HISTORY, inside=out)
    record.pop("temperature", None)  # a member's; the ensemble gets its own
    with heap_limited():  # inference only from here (runtime.device.heap_limited)
        temperature = valid_temperature(model, valid, config, device)
        labelwise = temperature if isinstance(temperature, list) else None  # multilabel
        thresholds = valid_thresholds(model, valid, config, device, labelwise)  # the average's
        metrics = (evaluate_run(model, train, valid, test, config, device, out, notes,
                                thresholds, labelwise,
                                temperature=None if labelwise is not None else temperature)
                   if evaluate else None)
    if thresholds is not None:
        record["thresholds"] = dict(zip(train.class_names, thresholds, strict=True))
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


def _train_members(train: EncodedDataset, valid: EncodedDataset, config: TrainConfig,
                   out: Path, together: bool, member_args: dict[str, Any]
                   ) -> list[dict[str, Any]]:
    """Train (or resume) every member into ``members/<i>/``, together where possible
    (module doc); their :func:`~seqnn.training.single.run_summary` s."""
    configs = [replace(config, ensemble=1, seed=config.seed + i) for i in range(config.ensemble)]
    if not (together and _stackable(train, config, member_args)):
        return [train_single(train, valid, config=c, out_dir=member_dir(out, i), evaluate=False,
                             order_seed=config.seed, **member_args)
                for i, c in enumerate(configs)]
    args = dict(member_args)
    name, params = args.pop("model_name"), args.pop("model_params")
    resume, restart = args.pop("resume", False), args.pop("restart_on_change", False)
    meta = args.pop("meta", None)
    if args:
        raise TypeError(f"unexpected arguments {sorted(args)}")
    trainers, randoms = [], []
    for i, c in enumerate(configs):
        trainers.append(new_trainer(train, valid, name, params, c, member_dir(out, i), resume,
                                    restart, order_seed=config.seed))
        randoms.append(MemberRandom())
    fit_together(trainers, randoms)
    summaries = []
    for i, (trainer, random) in enumerate(zip(trainers, randoms, strict=True)):
        with random.active():
            finish_model(trainer, train, valid, None, configs[i], member_dir(out, i), name,
                         meta, None, False)
        summaries.append(run_summary(trainer, member_dir(out, i), None))
    return summaries


def _stackable(train: EncodedDataset, config: TrainConfig, member_args: dict[str, Any]) -> bool:
    """Whether the members can train together: the CPU and a family that stacks (a probe
    model built to find out, its random state kept out of the members')."""
    if select_device(config.device).type != "cpu" or member_args.get("model_name") != "rnn":
        return False
    try:
        with torch.random.fork_rng():
            probe = get_model("rnn", n_outputs=n_outputs_for(train), task=train.task,
                              **member_args["model_params"])
    except (KeyError, ValueError, TypeError):
        return False  # the sequential path reports what is wrong, as for one network
    return stack_refusal([probe]) is None
