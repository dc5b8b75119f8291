"""What the control runs scored: the label-permutation runs (must fall to chance, and the
model must beat every run) and the residue-shuffle run (how much residue order adds).
The runs themselves are trained by :func:`seqnn.training.job.run_training` with the data
transforms of :mod:`seqnn.data.controls`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..data.files import read_json
from ..layout import METRICS


def summarize_controls(controls_dir: Path | None, metric: str, value: float | None,
              chance_band: float, ran: tuple[str, ...] = ("permutation", "shuffle")) -> dict:
    """Summaries of the controls in ``controls_dir``: every ``permutation*`` run (mean, sd,
    whether the mean is at chance, whether the model beats every run) and ``shuffle``.
    ``chance_band`` is the smallest band around 0 that counts as chance (the verdict's
    :class:`~seqnn.checks.verdict.CheckSettings`). Only the controls in ``ran`` are read: one
    turned off is off, even when an earlier run left its folder behind."""
    out: dict = {}
    if controls_dir is None or not controls_dir.exists():
        return out
    runs = sorted(p for p in controls_dir.glob("permutation*")
                  if "permutation" in ran and (p / METRICS).exists())
    tests = [read_json(p / METRICS, strict=True).get("test", {}) for p in runs]
    values = [t.get(metric) for t in tests if t.get(metric) is not None]
    if values:
        n = tests[0].get("n") or 1
        sd = float(np.std(values, ddof=1)) if len(values) > 1 else 0.0
        band = float(max(chance_band, 2 / np.sqrt(n), 2 * sd / np.sqrt(len(values))))
        mean = float(np.mean(values))
        out["permutation"] = {
            "test_metric": mean, "runs": values, "sd": sd, "chance_band": band,
            "chance": bool(abs(mean) <= band),
            "beats_all_runs": bool(value is not None and value > max(values)),
        }
    shuffle = (read_json(controls_dir / "shuffle" / METRICS, strict=True)
               if "shuffle" in ran else None)
    if shuffle is not None:
        v = shuffle.get("test", {}).get(metric)
        out["shuffle"] = {"test_metric": v,
                          "delta": None if v is None or value is None else value - v}
    return out


__all__ = ["summarize_controls"]
