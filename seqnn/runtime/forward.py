"""Running a model over an encoded dataset: the forward pass shared by training and
inference (outputs per record, embeddings, the batch loss).

Output layouts (rows in dataset order):

* binary ``(N, 2)`` probabilities ``[1 - p, p]``, ``p = sigmoid(logit)``, column 1 being
  ``class_names[1]`` (the positive class); multiclass ``(N, C)`` softmax probabilities;
* multilabel ``(N, K)`` per-label probabilities ``sigmoid(logit)``;
* regression ``(N,)`` values (``(N, K)`` for ``K > 1`` outputs);
* autoencoder ``(N,)`` per-sequence reconstruction accuracy (correct residues / length).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader

from ..config import DEFAULT_MAX_LEN
from ..data.encoding import EncodedDataset
from .batches import make_loader
from .device import autocast, select_device

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
#: a classifier's temperature: one number, or (multilabel) one per label in class order
Temperature = float | Sequence[float]

#: called after each batch with the number of records it held (a progress bar's update)
OnBatch = Callable[[int], object]


def model_task(model: nn.Module) -> str:
    """``"unsupervised"`` for an autoencoder, else the model's ``task`` attribute."""
    return "unsupervised" if getattr(model, "unsupervised", False) else str(model.task)


def batch_outputs(model: nn.Module, raw: torch.Tensor, batch: dict[str, Any],
                  temperature: Temperature = 1.0) -> np.ndarray:
    """Turn raw model outputs of one batch into the per-record layout (module doc); a
    classifier's logits are divided by ``temperature`` first (:mod:`seqnn.calibration`;
    multilabel: a number or one per label, broadcast over the label axis).

    For an autoencoder ``raw`` is ``(N, 22, L)`` logits and the result is ``(N, 2)``
    ``[correct residues, length]`` (so that accuracies can be pooled over residues).
    """
    hook = getattr(model, "batch_outputs", None)  # a family's own layout (e.g. the GAN)
    if hook is not None:
        return hook(raw.detach(), batch)
    raw = raw.detach().float()
    task = model_task(model)
    if task == "unsupervised":
        correct = ((raw.argmax(1) == batch["x"]) & batch["mask"]).sum(1)
        return torch.stack([correct, batch["mask"].sum(1)], 1).cpu().numpy().astype(np.float64)
    if task == "binary":
        p = torch.sigmoid(raw.reshape(-1) / temperature)
        return torch.stack([1 - p, p], 1).cpu().numpy()
    if task == "multiclass":
        return torch.softmax(raw / temperature, 1).cpu().numpy()
    if task == "multilabel":  # one temperature per label, or one for all
        t = torch.as_tensor(temperature, dtype=raw.dtype, device=raw.device)
        return torch.sigmoid(raw / t).cpu().numpy()
    return raw.squeeze(1).cpu().numpy() if raw.shape[1] == 1 else raw.cpu().numpy()


def batch_loss(model: nn.Module, raw: torch.Tensor, batch: dict[str, Any], loss_fn: LossFn | None):
    """The loss of one batch: the family's own ``model.batch_loss(raw, batch)`` when it has
    one (the generative families), the autoencoder's reconstruction loss or ``loss_fn(raw, y)``."""
    hook = getattr(model, "batch_loss", None)
    if hook is not None:
        return hook(raw, batch)
    if getattr(model, "unsupervised", False):
        return model.reconstruction_loss(raw, batch["x"], batch["mask"])
    return None if loss_fn is None else loss_fn(raw, batch["y"])


def to_device(batch: dict[str, Any], device: torch.device) -> dict[str, Any]:
    """Move every tensor of a collated batch to ``device`` (non-blocking)."""
    return {
        k: v.to(device, non_blocking=True) if torch.is_tensor(v) else v for k, v in batch.items()
    }


@torch.no_grad()
def run_model(
    model: nn.Module, loader: DataLoader, device: torch.device, amp: bool = False,
    loss_fn: LossFn | None = None, on_batch: OnBatch | None = None,
    temperature: Temperature = 1.0,
) -> tuple[np.ndarray, float]:
    """Run ``model`` in eval mode over ``loader``; returns ``(outputs, mean loss)``.

    ``outputs`` follow :func:`batch_outputs`, in dataset order; the loss is the batch-size
    weighted mean of batch losses (NaN when there is no loss to compute). ``on_batch`` is
    called with each batch's record count; ``temperature`` as in :func:`batch_outputs`.
    """
    model.eval()
    parts: list[tuple[np.ndarray, np.ndarray]] = []
    total, count = 0.0, 0
    for cpu_batch in loader:
        batch = to_device(cpu_batch, device)
        with autocast(device, amp):
            raw = model(batch["x"], batch["mask"])
            loss = batch_loss(model, raw, batch, loss_fn)
        parts.append((cpu_batch["index"].numpy(),
                      batch_outputs(model, raw, batch, temperature)))
        if loss is not None:
            total += float(loss) * len(cpu_batch["index"])
            count += len(cpu_batch["index"])
        if on_batch is not None:
            on_batch(len(cpu_batch["index"]))
    n = sum(len(i) for i, _ in parts)
    if not parts:
        return np.zeros((0,)), math.nan
    out = np.zeros((n, *parts[0][1].shape[1:]), dtype=parts[0][1].dtype)
    for index, values in parts:
        out[index] = values
    return out, (total / count if count else math.nan)


def _loader(ds: EncodedDataset, batch_size: int, max_len: int, truncate: str,
            max_residues: int | None = None) -> DataLoader:
    kw = {"batch_size": batch_size, "max_len": max_len, "truncate": truncate,
          "max_residues": max_residues}
    return make_loader(ds, shuffle=False, **kw)[0]


def predict_dataset(
    model: nn.Module, ds: EncodedDataset, *, batch_size: int = 256,
    device: str | torch.device = "cpu", max_len: int = DEFAULT_MAX_LEN, truncate: str = "ends",
    on_batch: OnBatch | None = None, max_residues: int | None = None,
    temperature: Temperature = 1.0,
) -> dict[str, Any]:
    """Predict every record of ``ds``; returns ``{"ids", "outputs", "predicted", "loss"}``.

    ``outputs`` follow the module-doc layouts (probabilities, values or per-sequence
    reconstruction accuracy), rows in dataset order; ``predicted`` is the argmax class index
    ``(N,)`` for classification, ``(N, K)`` booleans at 0.5 for multilabel (the thresholds
    of ``model.json`` are applied by the prediction table), the values for regression,
    ``None`` for an autoencoder;
    ``loss`` is the mean reconstruction loss for an autoencoder, else NaN. ``on_batch`` as
    in :func:`run_model`; ``temperature`` divides a classifier's logits (calibration).
    ``max_residues`` also caps each batch's padded residues
    (:class:`~seqnn.runtime.batches.BucketBatchSampler`; the rows come back in dataset order
    either way).
    """
    device = select_device(device) if isinstance(device, str) else device
    out, loss = run_model(model, _loader(ds, batch_size, max_len, truncate, max_residues),
                          device, on_batch=on_batch, temperature=temperature)
    task = model_task(model)
    if task == "unsupervised":
        return {"ids": ds.ids, "outputs": out[:, 0] / np.maximum(out[:, 1], 1), "predicted": None,
                "loss": loss, "counts": out}
    predicted = (out.argmax(1) if task in ("binary", "multiclass")
                 else out >= 0.5 if task == "multilabel" else out)
    return {"ids": ds.ids, "outputs": out, "predicted": predicted, "loss": loss}


@torch.no_grad()
def embed_dataset(
    model: nn.Module, ds: EncodedDataset, *, batch_size: int = 256,
    device: str | torch.device = "cpu", max_len: int = DEFAULT_MAX_LEN, truncate: str = "ends",
    on_batch: OnBatch | None = None, max_residues: int | None = None,
) -> np.ndarray:
    """``model.embed(x, mask)`` for every record: ``(N, D)`` ``float32``, dataset order;
    ``on_batch`` as in :func:`run_model`, ``max_residues`` as in :func:`predict_dataset`."""
    device = select_device(device) if isinstance(device, str) else device
    model.eval()
    rows: dict[int, np.ndarray] = {}
    for cpu_batch in _loader(ds, batch_size, max_len, truncate, max_residues):
        batch = to_device(cpu_batch, device)
        z = model.embed(batch["x"], batch["mask"]).float().cpu().numpy()
        rows.update(zip(cpu_batch["index"].tolist(), z, strict=True))
        if on_batch is not None:
            on_batch(len(z))
    if not rows:
        return np.zeros((0, 0), dtype=np.float32)
    return np.stack([rows[i] for i in range(len(ds))]).astype(np.float32)


__all__ = [
    "LossFn",
    "model_task",
    "batch_outputs",
    "batch_loss",
    "to_device",
    "run_model",
    "predict_dataset",
    "embed_dataset",
]
