"""Checks and formatting of a :class:`~seqnn.inference.predictor.Predictor`'s outputs: the
input width a model sees, the non-finite check and the 4-significant-digit cells that
``seqnn predict`` writes."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..errors import CheckpointError


def input_width(model: Any, max_len: int) -> int:
    """The most residues ``model`` sees of a record: ``max_len`` (the model folder's length
    rule), or less for a flattening ``mlp`` (``flatten: true``), which keeps the first of
    its own ``max_len`` residues."""
    widths = [int(m.max_len) for m in model.modules() if getattr(m, "flatten", False)
              and isinstance(getattr(m, "max_len", None), int)]
    return min([int(max_len), *widths])


def check_finite(outputs: Any, ids: list[str], meta: dict[str, Any]) -> None:
    """Raise :class:`~seqnn.errors.CheckpointError` naming the model and the first record
    whose outputs (``(N, ...)``) hold a NaN or an infinity (e.g. a finite but huge weight):
    never a silent empty cell."""
    values = np.asarray(outputs, dtype=float).reshape(len(ids), -1)
    bad = np.flatnonzero(~np.isfinite(values).all(axis=1))
    if bad.size:
        raise CheckpointError(f"model {meta.get('model', '?')!r}: non-finite output for "
                              f"record {ids[int(bad[0])]!r} ({bad.size} of {len(ids)} records "
                              "in this chunk); its weights overflow")


def _significant(value: Any) -> str:
    """One cell as ``seqnn predict`` writes it: a float to 4 significant digits (``0.1702``),
    empty for a missing value; anything else unchanged."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, float | np.floating):
        return f"{float(value):.4g}"
    return str(value)


def format_table(frame: pd.DataFrame) -> pd.DataFrame:
    """A prediction table as ``seqnn predict`` writes it: every float cell (probabilities,
    regression values, ``nearest_identity``, ``expected_<metric>``, ``lower``/``upper``) to
    4 significant digits, the CLI's number convention; counts and text unchanged."""
    out = frame.copy()
    for name in out.columns:
        col = out[name]
        if col.dtype.kind == "f" or (col.dtype == object and col.map(
                lambda v: isinstance(v, float | np.floating)).any()):
            out[name] = col.map(_significant)
    return out


__all__ = ["check_finite", "format_table", "input_width"]
