"""Where in its training a model's best epoch fell: cautions for a model trained too short
or one whose learning went wrong at once.

From the model folder's ``model.json`` (``best_epoch`` or an ensemble's
``member_best_epochs``, ``train_config.epochs``: the epoch cap) and ``history.csv`` (one
row per epoch run; an ensemble adds ``member``):

* **UNDERTRAINED** (caution): the run reached the epoch cap and its best epoch is the last
  one, so the validation metric was still improving when training stopped: train longer
  (raise ``epochs``);
* **BEST_EPOCH_FIRST** (caution): the best epoch is the first of several run, so nothing
  after one pass over the data improved validation: the learning rate is too high or the
  model overfits at once.

An ensemble gets the caution when any member meets it. A model folder without these
records (e.g. written by hand) gets neither.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .. import layout
from .levels import CAUTION, reason


def _runs(model_dir: Path, meta: dict) -> list[tuple[int, int]]:
    """``(best epoch, last epoch run)`` per member (one pair for a single model)."""
    best = meta.get("member_best_epochs") or [meta.get("best_epoch")]
    path = model_dir / layout.HISTORY
    if not path.is_file() or any(not isinstance(b, int) for b in best):
        return []
    history = pd.read_csv(path)
    if "epoch" not in history or history.empty:
        return []
    if "member" in history:
        last = history.groupby("member")["epoch"].max().tolist()
    else:
        last = [int(history["epoch"].max())]
    return list(zip(best, last, strict=False)) if len(last) == len(best) else []


def epoch_reasons(model_dir: Path, meta: dict) -> list[dict]:
    """The cautions of the module doc for the model in ``model_dir`` (its ``model.json``
    already read as ``meta``)."""
    cap = (meta.get("train_config") or {}).get("epochs")
    if not isinstance(cap, int):
        return []
    runs = _runs(Path(model_dir), meta)
    out = []
    capped = [b for b, last in runs if last >= cap and b == last and last > 1]
    if capped:
        out.append(reason(CAUTION, "UNDERTRAINED", "stopped at the epoch cap while validation "
                          "still improved: train longer",
                          f"UNDERTRAINED: the best epoch is the last of the {cap} allowed "
                          "(epochs); validation was still improving when training stopped: "
                          "train longer"))
    if any(b == 1 and last > 1 for b, last in runs):
        out.append(reason(CAUTION, "BEST_EPOCH_FIRST", "best epoch was the first: learning rate "
                          "too high or the model overfits at once",
                          "BEST EPOCH FIRST: no epoch after the first improved validation; the "
                          "learning rate is too high or the model overfits at once"))
    return out


__all__ = ["epoch_reasons"]
