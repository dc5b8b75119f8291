"""Ensemble members trained together: one stacked forward and backward pass per batch for
every member still training (:mod:`seqnn.models.stacked`), while each member keeps its own
:class:`~seqnn.training.loop.Trainer` -- optimiser, scheduler, early stopping on its own
validation curve, ``state.pt``, ``history.csv`` and model folder, exactly as when trained
alone.

What makes a member trained together the member trained alone (within float rounding):

* the members of an ensemble share its batch order (the ensemble's ``seed``; weights and
  dropout come from the member's own ``seed + i``), so every batch is one batch for all;
* each member's random state (torch, NumPy, Python) is its own: :class:`MemberRandom` swaps
  it in around everything the member draws (the loader's base seed, validation) and its
  dropout masks come from its own generator, drawn with the shapes and in the order of its
  own forward pass.

A member that stops early leaves the stack; the others go on. Members that resume at
different epochs (a run killed between two members' ``state.pt``) are brought level first.
Where the model cannot be stacked (:func:`~seqnn.models.stacked.stack_refusal`) or the
device is not the CPU, the members train one after another with the same seeds and order.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import torch

from ..models.stacked import stacked_forward
from ..runtime.device import autocast
from ..runtime.forward import batch_loss, batch_outputs, to_device
from .evaluation import split_metrics
from .loop import Trainer, gather_outputs, progress_bar
from .state import capture_rng, restore_rng


class MemberRandom:
    """One member's random state, swapped in while the member draws (module doc)."""

    def __init__(self) -> None:
        self.state = capture_rng()  # right after the member's weights were drawn
        self.generator = torch.Generator()
        self.generator.set_state(self.state["torch"])

    @contextlib.contextmanager
    def active(self) -> Iterator[None]:
        """Run the block with this member's state as the global one."""
        outer = capture_rng()
        restore_rng({**self.state, "torch": self.generator.get_state()})
        try:
            yield
        finally:
            self.state = capture_rng()
            self.generator.set_state(self.state["torch"])
            restore_rng(outer)

    def dropout(self, shape: tuple[int, ...], p: float) -> torch.Tensor:
        """The multiplier ``F.dropout(x, p)`` would draw for an ``x`` of ``shape``."""
        return torch.empty(shape).bernoulli_(1.0 - p, generator=self.generator).div_(1.0 - p)


def fit_together(trainers: Sequence[Trainer], randoms: Sequence[MemberRandom]) -> None:
    """Train every member to its end (epochs or early stopping), stacked; then load each
    member's best weights, as :meth:`Trainer.fit` does."""
    while True:
        active = [i for i, t in enumerate(trainers) if t.running]
        if not active:
            break
        epoch = min(trainers[i].epoch for i in active)
        group = [i for i in active if trainers[i].epoch == epoch]
        start = time.perf_counter()
        lrs = [trainers[i].optimizer.param_groups[0]["lr"] for i in group]
        members = [trainers[i] for i in group]
        trained = _train_epoch(members, [randoms[i] for i in group])
        seconds = time.perf_counter() - start
        validated = _validate(members, [randoms[i] for i in group])
        for i, result, lr, valid in zip(group, trained, lrs, validated, strict=True):
            with randoms[i].active():
                trainers[i].end_epoch(result, start, seconds, lr, valid)
                trainers[i].save()
    for t in trainers:
        t.keep_best()


def _train_epoch(trainers: Sequence[Trainer], randoms: Sequence[MemberRandom]
                 ) -> list[tuple[float, dict[str, Any], int]]:
    """One epoch of the members ``trainers`` (all at the same epoch), stacked; each member's
    :meth:`Trainer.train_epoch` result."""
    lead = trainers[0]
    loaders = []
    for t, r in zip(trainers, randoms, strict=True):
        t.sampler.set_epoch(t.epoch)
        t.model.train()
        with r.active():  # each member's loader draws its base seed, as when alone
            loaders.append(iter(t.loader))
    models = [t.model for t in trainers]
    parts: list[list] = [[] for _ in trainers]
    totals, n = [0.0] * len(trainers), 0
    bar = progress_bar(len(lead.loader), lead.epoch + 1, lead.cfg.epochs, lead.cfg.quiet)
    try:
        for b, cpu_batch in enumerate(loaders[0]):
            batch = to_device(cpu_batch, lead.device)
            with autocast(lead.device, lead.cfg.amp):
                raw = stacked_forward(models, batch["x"], batch["mask"],
                                      lambda i, shape, p: randoms[i].dropout(shape, p))
                losses = [batch_loss(t.model, raw[i], batch, t.loss_fn)
                          for i, t in enumerate(trainers)]
            for t, loss in zip(trainers, losses, strict=True):
                t.check_loss(loss, b)
                t.optimizer.zero_grad(set_to_none=True)
            torch.stack(losses).sum().backward()
            size = len(cpu_batch["index"])
            index = cpu_batch["index"].numpy()
            for i, t in enumerate(trainers):
                t.apply_step()
                parts[i].append((index, batch_outputs(t.model, raw[i], batch)))
                totals[i] += losses[i].item() * size
            n += size
            if bar is not None:
                bar.update()
    finally:
        if bar is not None:
            bar.close()
    results = []
    for i, t in enumerate(trainers):
        outputs = gather_outputs(parts[i], len(t.train_ds))
        metrics = split_metrics(t.task, t.train_ds.labels, outputs, t.train_ds.class_names)
        results.append((totals[i] / max(n, 1), metrics, n))
    return results


@torch.no_grad()
def _validate(trainers: Sequence[Trainer], randoms: Sequence[MemberRandom]
              ) -> list[tuple[np.ndarray, float]]:
    """Every member's :meth:`Trainer.validate` result from one stacked pass per validation
    batch (eval mode: no dropout; the weight averages when ``ema`` is on)."""
    lead = trainers[0]
    models = [t.eval_model for t in trainers]
    loaders = []
    for model, t, r in zip(models, trainers, randoms, strict=True):
        model.eval()
        with r.active():  # the base seed each member's validation draws when alone
            loaders.append(iter(t.valid_loader))
    parts: list[list] = [[] for _ in trainers]
    totals, count = [0.0] * len(trainers), 0
    for cpu_batch in loaders[0]:
        batch = to_device(cpu_batch, lead.device)
        with autocast(lead.device, lead.cfg.amp):
            raw = stacked_forward(models, batch["x"], batch["mask"], _no_dropout)
        size = len(cpu_batch["index"])
        index = cpu_batch["index"].numpy()
        for i, (model, t) in enumerate(zip(models, trainers, strict=True)):
            loss = batch_loss(model, raw[i], batch, t.loss_fn)
            parts[i].append((index, batch_outputs(model, raw[i], batch)))
            totals[i] += math.nan if loss is None else float(loss) * size
        count += size
    return [(gather_outputs(p, len(t.valid_ds)), total / count if count else math.nan)
            for p, t, total in zip(parts, trainers, totals, strict=True)]


def _no_dropout(member: int, shape: tuple[int, ...], p: float) -> torch.Tensor:
    raise AssertionError("no dropout in eval mode")


__all__ = ["MemberRandom", "fit_together"]
