"""One training job of the workflow, from files: encoded data + split table -> model folder.

This is what ``seqnn train`` runs: split the encoded dataset by the split table, apply a control
transform when asked (label permutation or residue shuffle, see :mod:`seqnn.data.controls`),
train with :func:`seqnn.training.run.train_model`, and keep beside the model what prediction and
the checks need: the training sequences (``train_sequences.fa``, for ``seqnn predict
--nearest``) and, for an autoencoder, a linear probe of its latent vectors (``probe.json``).
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from .. import layout
from ..config import TrainConfig
from ..data.controls import permute_labels, shuffle_residues
from ..data.encoding import EncodedDataset, encode_table, load_encoded
from ..data.files import atomic_path, write_text
from ..data.tables import SPLITS, check_labels, read_table
from ..errors import ConfigError, SeqnnInputError
from ..metrics import (
    classification_metrics,
    multilabel_metrics,
    primary_metric,
    regression_metrics,
)
from ..runtime.checkpoint import load_model
from ..runtime.forward import embed_dataset
from .distributed import is_main_process
from .run import train_model
from .single import check_splits

CONTROLS = ("permutation", "shuffle")


def load_data(path: str, task: str | None = None) -> EncodedDataset:
    """An encoded ``.npz`` or a sequences table (``id``, ``sequence``, ``label``; needs
    ``task``) as an :class:`EncodedDataset`; a table's labels pass
    :func:`seqnn.data.tables.check_labels` (a missing ``label`` column, an empty label or a
    non-finite regression target is named in one line)."""
    if str(path).endswith(".npz"):
        return load_encoded(path)
    if task is None:
        raise ConfigError(f"{path}: give --task for a sequences table")
    supervised = task != "unsupervised"
    table = read_table(path, ["id", "sequence", *(["label"] if supervised else [])])
    labels = check_labels(table, task, path)["label"].tolist() if supervised else None
    return encode_table(table["id"].tolist(), table["sequence"].tolist(), labels, task)


def split_dataset(ds: EncodedDataset, splits_path: str) -> dict[str, EncodedDataset]:
    """``{"train", "valid", "test"}`` subsets of ``ds`` following the split table."""
    table = read_table(splits_path, ["id", "split"])
    where = dict(zip(table["id"], table["split"], strict=True))
    missing = [i for i in ds.ids if i not in where]
    if missing:
        raise SeqnnInputError(splits_path, "id missing from the split table", missing[0])
    split = np.array([where[i] for i in ds.ids])
    out = {name: ds.subset(np.flatnonzero(split == name)) for name in SPLITS}
    for name in ("train", "valid"):
        if len(out[name]) == 0:
            raise SeqnnInputError(splits_path, f"the {name} split is empty")
    return out


def apply_control(parts: dict[str, EncodedDataset], control: str | None,
                  seed: int) -> dict[str, EncodedDataset]:
    """Permute the training and validation labels, or shuffle residues within every sequence
    of every split.

    Both training and validation labels are permuted: early stopping on real validation
    labels would otherwise pick, among the noise-trained epochs, the one that happens to
    agree with the real labels, and the control would not measure chance (on the AMP data
    that selection alone gave test MCC 0.4). Test labels stay real: the control is scored
    against them.
    """
    if control is None:
        return parts
    if control == "permutation":
        return {**parts, "train": permute_labels(parts["train"], seed),
                "valid": permute_labels(parts["valid"], seed + 1)}
    if control == "shuffle":
        return {k: shuffle_residues(v, seed + i) for i, (k, v) in enumerate(parts.items())}
    raise ConfigError(f"unknown control {control!r}; choose one of {', '.join(CONTROLS)}")


def write_fasta(ds: EncodedDataset, path: Path, chunk: int = 4096) -> None:
    """The sequences of ``ds`` as FASTA (atomically), ``chunk`` records at a time."""
    with atomic_path(path, inside=path.parent) as tmp, open(tmp, "w") as fh:
        for a in range(0, len(ds), chunk):
            fh.write("".join(f">{ds.ids[i]}\n{ds.sequence(i)}\n"
                             for i in range(a, min(a + chunk, len(ds)))))


def run_training(
    data: str,
    splits: str,
    out_dir: str,
    model: str,
    params: dict[str, Any],
    config: TrainConfig,
    *,
    task: str | None = None,
    control: str | None = None,
    control_run: int = 1,
    max_epochs: int | None = None,
    resume: bool = False,
    meta: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Train one model (or one control) from files and write its folder; return the summary.

    ``config`` holds every training setting (the dataset's ``max_len`` included, already
    resolved by the caller); ``max_epochs`` caps its ``epochs``. ``control_run`` k > 1
    repeats a control with seed ``seed + (k - 1) * ensemble`` (weights, batches and the
    permutation all change; an ensemble's runs share no member seed), so that the checks
    see the control's spread.
    """
    if max_epochs is not None:
        config = replace(config, epochs=min(config.epochs, max_epochs))
    if control is not None and control_run > 1:
        config = replace(config, seed=config.seed + (control_run - 1) * config.ensemble)
    parts = apply_control(split_dataset(load_data(data, task), splits), control, config.seed)
    check_splits(parts["train"], parts["valid"], parts["test"], data)  # before any file
    out = Path(out_dir)
    summary = train_model(parts["train"], parts["valid"], model_name=model,
                          model_params=params, config=config, out_dir=str(out),
                          resume=resume, restart_on_change=resume,
                          meta={**(meta or {}), "control": control,
                                "control_run": control_run if control else None},
                          test=parts["test"] if len(parts["test"]) else None)
    if control is None and is_main_process():
        write_fasta(parts["train"], out / layout.TRAIN_SEQUENCES)
        if summary.get("metrics") and model == "autoencoder" and parts["train"].labels is not None:
            write_text(json.dumps(probe_latent(out, parts, config), indent=2),
                       out / layout.PROBE, inside=out)
    return summary


def probe_latent(model_dir: Path, parts: dict[str, EncodedDataset],
                 config: TrainConfig) -> dict:
    """Fit a linear model on the autoencoder's latent vectors (train), score valid/test.

    Tells whether the unsupervised latent space carries the label; uses the same metric as
    the supervised checks (MCC or Spearman).
    """
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    net, _ = load_model(str(model_dir))
    z = {k: embed_dataset(net, v, batch_size=256, device="cpu", max_len=config.max_len,
                          truncate=config.truncate) for k, v in parts.items() if len(v)}
    task = parts["train"].task
    metric = primary_metric(task)
    est = Ridge() if task == "regression" else LogisticRegression(max_iter=2000)
    if task == "multilabel":  # one logistic regression per label
        from sklearn.multiclass import OneVsRestClassifier

        est = OneVsRestClassifier(est)
    clf = make_pipeline(StandardScaler(), est).fit(z["train"], parts["train"].labels)
    out: dict[str, Any] = {"metric": metric}
    for k in z:
        y, pred = parts[k].labels, clf.predict(z[k])
        if task == "regression":
            out[k] = regression_metrics(y, pred)[metric]
        elif task == "multilabel":
            out[k] = multilabel_metrics(y, pred, 0.5)[metric]
        else:
            names = parts[k].class_names
            out[k] = classification_metrics(np.array(names)[y], np.array(names)[pred], None,
                                            names)[metric]
    return out
