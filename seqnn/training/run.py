"""Training a model: one network, or a seed ensemble of k networks (``ensemble: k``).

:func:`train_model` checks the splits and hands the run to
:func:`seqnn.training.single.train_single` or :func:`seqnn.training.ensemble.train_ensemble`.
"""

from __future__ import annotations

import logging
import os
from contextlib import nullcontext
from typing import Any

from ..config import TrainConfig
from ..data.encoding import EncodedDataset
from . import distributed
from .ensemble import train_ensemble
from .lock import model_folder_lock
from .single import check_splits, train_single

log = logging.getLogger("seqnn.train")


def train_model(
    train: EncodedDataset,
    valid: EncodedDataset,
    *,
    model_name: str,
    model_params: dict[str, Any],
    config: TrainConfig,
    out_dir: str | os.PathLike,
    resume: bool = False,
    meta: dict[str, Any] | None = None,
    test: EncodedDataset | None = None,
    evaluate: bool = True,
    restart_on_change: bool = False,
) -> dict[str, Any]:
    """Train registry model ``model_name`` on ``train``, early-stopping on ``valid``.

    Batches are ``x`` ``(N, L)`` tokens and ``mask`` ``(N, L)``, padded per batch (see
    :mod:`seqnn.runtime.batches`). After every epoch ``out_dir/state.pt`` and ``history.csv``
    are written; ``resume=True`` continues from ``state.pt`` when it exists (else starts fresh)
    and, with the same settings on CPU, ends bit-identical to an uninterrupted run. The best
    epoch's weights are restored and saved as the model directory in ``out_dir`` (``meta`` adds
    keys to ``model.json``); with ``evaluate``, ``metrics.json`` and ``predictions.tsv`` cover
    train, valid and ``test`` (when given). With ``restart_on_change``, a ``state.pt`` left by a
    run with other settings or data is ignored (training starts fresh, and the new run's state
    replaces it) instead of raising :class:`TrainingError`. Returns a summary: ``best_epoch``,
    ``best_metric``, ``monitor``, ``epochs_run``, ``stopped_early``, ``history``, ``model_dir``,
    ``metrics``; an ensemble's adds ``members`` (:mod:`seqnn.training.ensemble`).

    Labels are checked before anything is written (:func:`seqnn.training.single.check_splits`):
    non-finite regression targets or fewer than two classes in train raise
    :class:`~seqnn.errors.SeqnnInputError`; a class absent from a split is logged (logger
    ``seqnn.train``) and kept in ``metrics.json`` under ``"warnings"``. ``metrics.json`` is
    written before the model files, ``model.json`` last.

    In a process started by ``torchrun`` with more than one process, one network trains
    data-parallel and an ensemble's members are spread over the processes; only rank 0
    writes files (:mod:`seqnn.training.distributed`).

    While it trains, the process (rank 0) holds ``out_dir/.lock``; a second trainer on the
    same folder raises :class:`~seqnn.errors.TrainingError` (:mod:`seqnn.training.lock`).
    """
    notes = check_splits(train, valid, test)
    for note in notes:
        log.warning("%s", note)
    spread = distributed.launched()  # under torchrun: see seqnn.training.distributed
    # one trainer per model folder (seqnn.training.lock); under torchrun rank 0 holds it
    with model_folder_lock(out_dir) if distributed.is_main_process() else nullcontext():
        if config.ensemble > 1:
            ensemble = distributed.train_members_spread if spread else train_ensemble
            return ensemble(train, valid, config=config, out_dir=out_dir, test=test,
                            evaluate=evaluate, notes=notes, model_name=model_name,
                            model_params=model_params, resume=resume, meta=meta,
                            restart_on_change=restart_on_change)
        single = distributed.train_data_parallel if spread else train_single
        return single(train, valid, model_name=model_name, model_params=model_params,
                      config=config, out_dir=out_dir, resume=resume, meta=meta, test=test,
                      evaluate=evaluate, restart_on_change=restart_on_change, notes=notes)


__all__ = ["train_model"]
