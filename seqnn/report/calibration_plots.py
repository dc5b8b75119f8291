"""Calibration of a classifier in the report: the reliability diagram on test before and
after the model's temperature (``model.json``), with expected calibration error and Brier
score (:mod:`seqnn.calibration`). Read from ``predictions.tsv``, whose probabilities are the
uncalibrated ones training wrote; ``seqnn predict`` applies the temperature. Multi-label
models calibrate each label with its own temperature and their ``predictions.tsv`` already
holds the calibrated probabilities, so the raw ones are recovered by undoing it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..calibration import (
    binary_reliability,
    calibration_summary,
    label_calibration_summary,
    scale_labels,
)
from ..data.labelsets import multi_hot
from .figures import FIGSIZE, PathLike, PlotUnavailable, pyplot, read_predictions, save_png
from .html import esc, fmt, html_table


def test_calibration(predictions_tsv: PathLike, class_names: Sequence[str] | None,
                     temperature: float = 1.0, split: str = "test") -> dict[str, Any]:
    """:func:`seqnn.calibration.calibration_summary` of the ``split`` rows of
    ``predictions.tsv`` (records whose true class is not in ``class_names`` are left out).
    Raises :class:`PlotUnavailable` without such rows or probability columns."""
    df = read_predictions(predictions_tsv, split)
    names = [str(c) for c in class_names or []]
    if len(names) < 2:
        raise PlotUnavailable("calibration needs the class names of a classifier")
    if len(names) == 2 and f"p_{names[1]}" in df.columns:
        df = df.assign(**{f"p_{names[0]}": 1 - df[f"p_{names[1]}"]})
    cols = [f"p_{c}" for c in names]
    if any(c not in df.columns for c in cols):
        raise PlotUnavailable(f"{predictions_tsv}: no probability column per class")
    index = {c: i for i, c in enumerate(names)}
    truth = df["true"].astype(str)
    keep = truth.isin(index).to_numpy()
    if not keep.any():
        raise PlotUnavailable(f"{predictions_tsv}: no labelled {split} rows")
    probs = df.loc[keep, cols].to_numpy(dtype=float)
    y = np.array([index[t] for t in truth[keep]], np.int64)
    return calibration_summary(probs, y, float(temperature))


def labelwise_calibration(predictions_tsv: PathLike, class_names: Sequence[str] | None,
                           temperature: Mapping, split: str = "test") -> dict[str, Any]:
    """Multi-label :func:`seqnn.calibration.label_calibration_summary` of the ``split`` rows
    of ``predictions.tsv`` (calibrated ``p_<label>`` columns; the raw probabilities are
    recovered with ``temperature``, label -> T). Raises :class:`PlotUnavailable` without
    such rows or columns."""
    df = read_predictions(predictions_tsv, split)
    names = [str(c) for c in class_names or []]
    cols = [f"p_{c}" for c in names]
    if not names or any(c not in df.columns for c in cols):
        raise PlotUnavailable(f"{predictions_tsv}: no probability column per label")
    temps = [float(temperature.get(c, 1.0)) for c in names]
    raw = scale_labels(df[cols].to_numpy(dtype=float), [1.0 / t for t in temps])
    y = multi_hot(df["true"].fillna("").astype(str).tolist(), names)
    return label_calibration_summary(raw, y, temps, names)


def plot_reliability(predictions_tsv: PathLike, class_names: Sequence[str] | None,
                     temperature: float, path: PathLike, split: str = "test") -> None:
    """Reliability diagram on ``split``: accuracy against confidence per bin, before and
    after temperature scaling, with ECE and Brier score in the legend (multi-label, a
    ``temperature`` mapping: :func:`plot_label_reliability`)."""
    if isinstance(temperature, Mapping):
        plot_label_reliability(predictions_tsv, class_names, temperature, path, split)
        return
    s = test_calibration(predictions_tsv, class_names, temperature, split)
    plt = pyplot()
    fig, ax = plt.subplots(figsize=FIGSIZE)
    ax.plot([0, 1], [0, 1], ":", color="grey", label="perfect calibration")
    for when, style in (("before", "o-"), ("after", "s--")):
        r = s[f"reliability_{when}"]
        label = (f"{'raw' if when == 'before' else f'T = {temperature:.3g}'}: ECE "
                 f"{s[f'ece_{when}']:.3f}, Brier {s[f'brier_{when}']:.3f}")
        ax.plot(r["confidence"], r["accuracy"], style, ms=4, label=label)
    ax.set(xlabel="confidence (top-class probability)", ylabel="accuracy", xlim=(0, 1),
           ylim=(0, 1.02))
    ax.set_title(f"Reliability on {split} (n={s['n']})", fontsize=9)
    ax.legend(fontsize=8, loc="upper left")
    save_png(fig, path)


def plot_label_reliability(predictions_tsv: PathLike, class_names: Sequence[str] | None,
                           temperature: Mapping, path: PathLike, split: str = "test") -> None:
    """Multi-label reliability on ``split``: per label, the share of positives against its
    calibrated probability per bin, with the label's T and ECE before and after."""
    s = labelwise_calibration(predictions_tsv, class_names, temperature, split)
    df = read_predictions(predictions_tsv, split)
    y = multi_hot(df["true"].fillna("").astype(str).tolist(), list(s["per_label"]))
    plt = pyplot()
    fig, ax = plt.subplots(figsize=FIGSIZE)
    ax.plot([0, 1], [0, 1], ":", color="grey", label="perfect calibration")
    for j, (label, row) in enumerate(s["per_label"].items()):
        r = binary_reliability(df[f"p_{label}"].to_numpy(dtype=float), y[:, j])
        ax.plot(r["probability"], r["positive"], "o-", ms=3,
                label=f"{label} (T = {row['temperature']:.3g}): ECE {row['ece_before']:.3f} "
                      f"→ {row['ece_after']:.3f}")
    ax.set(xlabel="calibrated probability", ylabel="share of positives", xlim=(0, 1),
           ylim=(0, 1.02))
    ax.set_title(f"Per-label reliability on {split} (n={s['n']}; mean ECE "
                 f"{s['ece_before']:.3f} → {s['ece_after']:.3f})", fontsize=9)
    ax.legend(fontsize=7, loc="upper left")
    save_png(fig, path)


def calibration_note(predictions_tsv: PathLike, info: Mapping) -> str:
    """One HTML paragraph: the temperature and test ECE / Brier before and after it
    (empty when the files cannot give them)."""
    if "temperature" not in info:
        return ""
    if isinstance(info["temperature"], Mapping):
        return _label_calibration_note(predictions_tsv, info)
    try:
        s = test_calibration(predictions_tsv, info.get("class_names"), info["temperature"])
    except (PlotUnavailable, FileNotFoundError, ValueError, KeyError):
        return ""
    return (f"<p>Calibration on test: temperature {fmt(s['temperature'])} (fitted on valid, "
            f"applied by <code>seqnn predict</code>); ECE {fmt(s['ece_before'])} &rarr; "
            f"{fmt(s['ece_after'])}, Brier {fmt(s['brier_before'])} &rarr; "
            f"{fmt(s['brier_after'])} ({esc(str(s['n']))} sequences).</p>")


def _label_calibration_note(predictions_tsv: PathLike, info: Mapping) -> str:
    """:func:`calibration_note` of a multi-label model: the means over labels."""
    try:
        s = labelwise_calibration(predictions_tsv, info.get("class_names"),
                                   info["temperature"])
    except (PlotUnavailable, FileNotFoundError, ValueError, KeyError):
        return ""
    temps = list(s["temperature"].values())
    return (f"<p>Calibration on test, one temperature per label ({fmt(min(temps))} to "
            f"{fmt(max(temps))}, fitted on valid, applied by <code>seqnn predict</code> and in "
            f"predictions.tsv), means over {len(temps)} labels: ECE {fmt(s['ece_before'])} "
            f"&rarr; {fmt(s['ece_after'])}, Brier {fmt(s['brier_before'])} &rarr; "
            f"{fmt(s['brier_after'])} ({esc(str(s['n']))} sequences).</p>")


def coverage_table(entry: Mapping) -> str:
    """The achieved test coverage of the conformal sets (``checks.json``:
    ``conformal_coverage``) per identity bin against each nominal level, as an HTML table
    (empty without it). A cell more than 3 standard errors under its level is marked."""
    cov = entry.get("conformal_coverage") if isinstance(entry, Mapping) else None
    if not isinstance(cov, Mapping) or not cov:
        return ""
    levels = [k for k in cov if isinstance(cov[k], Mapping)]
    groups = list(dict.fromkeys(g for k in levels for g in cov[k]))
    rows = []
    for g in groups:
        cells = [esc(g)]
        for k in levels:
            c = cov[k].get(g) or {}
            n, got = c.get("n"), c.get("coverage")
            if not n or got is None:
                cells.append("")
                continue
            low = float(k) - 3 * (float(k) * (1 - float(k)) / n) ** 0.5
            text = f"{fmt(got)} (n={fmt(n)})"
            cells.append(f'<span class="bad">{text}</span>' if got < low else text)
        rows.append(cells)
    header = ["Identity bin", *(f"{float(k):.0%} nominal" for k in levels)]
    return ("<p>Conformal prediction sets (calibrated on valid, per identity-to-train bin; "
            "<code>seqnn predict --coverage</code>): achieved coverage on test.</p>"
            + html_table(header, rows))


__all__ = ["calibration_note", "coverage_table", "labelwise_calibration",
           "plot_label_reliability", "plot_reliability", "test_calibration"]
