"""Per-prediction reliability columns of ``seqnn predict`` from the model folder's
``reliability.json`` (written by ``seqnn check``; see :mod:`seqnn.checks.reliability` for
what it holds and how the conformal threshold is defined).

* ``expected_<metric>`` (with the nearest-train identity): the model's test metric in the
  identity bin the query falls in; where that bin had no test sequence, the metric over all
  test sequences (``expected_all`` of ``reliability.json``); ``expected_from`` says which
  (``bin`` | ``all``; empty, with an empty value, for a record written before
  ``expected_all`` existed);
* with ``coverage``: ``prediction_set`` (classification: the ``;``-joined classes whose
  ``1 - p`` is within the threshold of the query's identity bin, or of all validation
  sequences where the bin had fewer than ``min_bin``) or ``lower`` / ``upper``
  (regression: ``predicted -+ threshold``). Without an identity the global threshold is used.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..data.files import read_json
from ..errors import CheckpointError, SeqnnInputError
from ..layout import RELIABILITY


def _threshold(scores: list[float], coverage: float) -> float:
    s = np.sort(np.asarray(scores, float))
    k = math.ceil((len(s) + 1) * coverage)
    return float(s[k - 1]) if 1 <= k <= len(s) else math.inf


class Reliability:
    """``reliability.json`` of a model folder, ready to add the columns (module doc)."""

    def __init__(self, model_dir: str | os.PathLike, coverage: float | None = None):
        path = Path(model_dir) / RELIABILITY
        if coverage is not None and not 0 < coverage < 1:
            raise SeqnnInputError("--coverage", f"must be between 0 and 1, got {coverage}")
        record = read_json(path, strict=True) if path.is_file() else None
        if isinstance(record, dict) and record.get("available") is False:  # no scores stored
            if coverage is not None:
                raise SeqnnInputError(path, f"{record.get('why', 'no conformal scores')}; "
                                            "--coverage needs them")
            record = None
        if record is None and coverage is not None:
            raise SeqnnInputError(path, "missing: --coverage needs the validation scores that "
                                  "'seqnn check' stores in the model folder")
        self.record, self.coverage, self.path = record, coverage, path
        if record is not None:
            self._check(record)
            self.thresholds = {k: _threshold(v, coverage) for k, v in record["scores"].items()
                               } if coverage is not None else {}

    def _check(self, r: Any) -> None:
        ok = (isinstance(r, dict) and isinstance(r.get("bins"), list)
              and isinstance(r.get("scores"), dict) and isinstance(r["scores"].get("global"), list)
              and all(isinstance(v, list) and all(isinstance(x, int | float) for x in v)
                      for v in r["scores"].values())
              and all(isinstance(b, list) and len(b) == 3 for b in r["bins"])
              and isinstance(r.get("expected", {}), dict) and isinstance(r.get("metric"), str))
        if not ok:
            raise CheckpointError(f"{self.path}: not a reliability record (rerun seqnn check)")

    @property
    def available(self) -> bool:
        """Whether the model folder has ``reliability.json``."""
        return self.record is not None

    def _bins(self, identity: np.ndarray | None, n: int) -> list[str]:
        if identity is None:
            return ["global"] * n
        bins = self.record["bins"]
        return [next((str(b[2]) for b in bins if b[0] <= v < b[1]), str(bins[-1][2]))
                for v in identity.tolist()]

    def _expected(self, where: list[str]) -> tuple[np.ndarray, list[str]]:
        """``expected_<metric>`` per row and where it came from: ``bin`` (the row's identity
        bin), ``all`` (every test sequence, where the bin had none) or empty (no value)."""
        by_bin, overall = self.record.get("expected", {}), self.record.get("expected_all")
        values, origin = [], []
        for w in where:
            if (v := by_bin.get(w)) is not None:
                values.append(float(v))
                origin.append("bin")
            elif overall is not None:
                values.append(float(overall))
                origin.append("all")
            else:
                values.append(math.nan)
                origin.append("")
        return np.asarray(values, dtype=float), origin

    def add_columns(self, frame: pd.DataFrame, identity: np.ndarray | None,
                    class_names: list[str]) -> pd.DataFrame:
        """Insert the reliability columns before ``flags`` (module doc)."""
        if self.record is None:
            return frame
        where = self._bins(identity, len(frame))
        at = list(frame.columns).index("flags") if "flags" in frame.columns else len(frame.columns)
        if identity is not None:
            values, origin = self._expected(where)
            frame.insert(at, f"expected_{self.record['metric']}", values)
            frame.insert(at + 1, "expected_from", origin)
            at += 2
        if self.coverage is None:
            return frame
        thr = np.array([self.thresholds.get(w, self.thresholds["global"]) for w in where])
        if class_names:
            probs = frame[[f"p_{c}" for c in class_names]].to_numpy(dtype=float)
            inside = (1 - probs) <= thr[:, None]
            frame.insert(at, "prediction_set",
                         [";".join(c for c, k in zip(class_names, row, strict=True) if k)
                          for row in inside])
        else:
            value = frame["predicted"].to_numpy(dtype=float)
            frame.insert(at, "lower", value - thr)
            frame.insert(at + 1, "upper", value + thr)
        return frame


__all__ = ["Reliability"]
