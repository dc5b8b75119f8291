"""What a supervised model's attributions say about shortcuts, on its test split
(``attributions.json`` in the model's ``plots/`` folder, written by ``seqnn evaluate``; the
report only reads it).

Gradient x input (:mod:`seqnn.inference.explain`) toward each record's **true** class (for
regression: toward a higher value) on at most :data:`MAX_RECORDS` test sequences, each
record's scores divided by their total absolute attribution. Summaries:

* **termini**: the mean share of the absolute attribution on the first and last
  :data:`TERMINAL_FRACTION` of residues (at least one residue each end), against the mean
  share of residues there; ``ratio`` = the first over the second;
* **residues**: per class ``c`` and residue type ``r``, the mean signed share of attribution
  on ``r`` in class-``c`` records, against ``r``'s composition difference (its mean
  frequency in class ``c`` minus in the other records; regression: upper minus lower half of
  the labels); ``rho`` is their Spearman correlation over all (class, residue) pairs;
  ``eta2`` is the mean over records of the share of the variance of the per-position
  attributions explained by the residue type alone (1 = a residue counts the same wherever
  it is, as in a composition model);
* **maps**: the attribution track of the first :data:`MAPS_PER_CLASS` test records of each
  class.

**Flags** (the rule, shown in the model's summary box): *termini* when ``ratio`` >=
:data:`TERMINI_RATIO`; *composition* when ``eta2`` >= :data:`COMPOSITION_ETA2` and ``rho``
>= :data:`COMPOSITION_RHO`.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from ..data.alphabet import STANDARD
from ..data.tables import read_text_table
from .explain import explainer_for
from .predictor import Predictor

MAX_RECORDS = 200
TERMINAL_FRACTION = 0.1
TERMINI_RATIO = 2.0
COMPOSITION_ETA2 = 0.8
COMPOSITION_RHO = 0.6
MAPS_PER_CLASS = 2
MAP_MAX_LEN = 400
RULE = (f"termini: attribution share on the first and last {TERMINAL_FRACTION:.0%} of "
        f"residues >= {TERMINI_RATIO:g} x their residue share; composition: residue type "
        f"explains >= {COMPOSITION_ETA2:.0%} of the per-position attribution variance "
        f"(eta2) and attribution per residue follows the class composition difference "
        f"(Spearman rho >= {COMPOSITION_RHO:g})")


def _record_stats(seq: str, a: np.ndarray) -> dict | None:
    total = float(np.abs(a).sum())
    if total == 0 or not len(seq):
        return None
    a = a / total
    n = len(seq)
    k = max(1, round(TERMINAL_FRACTION * n))
    term = np.zeros(n, bool)
    term[:k] = term[n - k:] = True
    letters = np.frombuffer(seq.encode(), "S1")
    share = {r: float(a[letters == r.encode()].sum()) for r in STANDARD}
    eta2 = None
    ss = float(((a - a.mean()) ** 2).sum())
    if ss > 0 and len(set(seq)) > 1:
        between = sum(float(((a[letters == c] - a.mean()) ** 2).size
                            * (a[letters == c].mean() - a.mean()) ** 2)
                      for c in set(letters.tolist()))
        eta2 = between / ss
    return {"term_mass": float(np.abs(a[term]).sum()), "term_res": float(term.mean()),
            "share": share, "eta2": eta2}


def _frequencies(seqs: list[str]) -> np.ndarray:
    out = np.zeros((len(seqs), 20))
    for i, s in enumerate(seqs):
        for j, r in enumerate(STANDARD):
            out[i, j] = s.count(r) / max(len(s), 1)
    return out


def summarize(predictor: Predictor, ids: list[str], seqs: list[str], labels: list[Any],
              max_records: int = MAX_RECORDS, seed: int = 0) -> dict:
    """The summary of the module doc for test records ``(ids, seqs, labels)`` (raw
    sequences; the model's policy is applied). Records beyond ``max_records`` are left out
    at random (``seed``)."""
    regression = predictor.task == "regression"
    if len(ids) > max_records:
        keep = np.sort(np.random.default_rng(seed).choice(len(ids), max_records, replace=False))
        ids, seqs, labels = ([x[i] for i in keep] for x in (ids, seqs, labels))
    chunk = predictor.prepare(list(zip(ids, seqs, strict=True)))
    if regression:
        values = np.asarray(labels, float)
        groups = np.where(values >= np.median(values), "upper half", "lower half")
        targets = [None] * len(ids)
    else:
        groups = np.asarray([str(x) for x in labels])
        targets = list(groups)
    ex = explainer_for(predictor)
    items = []
    for t in dict.fromkeys(targets):
        sel = [i for i, x in enumerate(targets) if x == t]
        got = ex.explain([chunk.ids[i] for i in sel], [chunk.seqs[i] for i in sel],
                         "gradxinput", t)
        items += list(zip(sel, got, strict=True))
    items.sort(key=lambda p: p[0])
    stats = [_record_stats(e.seq, e.scores) for _, e in items]
    ok = [i for i, s in enumerate(stats) if s is not None]
    seen = [items[i][1].seq for i in range(len(items))]
    freq = _frequencies(seen)
    by_class: dict[str, dict] = {}
    names = ["upper half"] if regression else list(dict.fromkeys(groups.tolist()))
    att_all, comp_all = [], []
    for c in names:
        mine = [i for i in ok if groups[i] == c]
        rest = [i for i in range(len(items)) if groups[i] != c]
        if not mine or not rest:
            continue
        att = [float(np.mean([stats[i]["share"][r] for i in mine])) for r in STANDARD]
        comp = (freq[[i for i in range(len(items)) if groups[i] == c]].mean(0)
                - freq[rest].mean(0)).tolist()
        by_class[c] = {"attribution": att, "composition_diff": comp}
        att_all += att
        comp_all += comp
    rho = None
    if len(att_all) > 2 and np.ptp(att_all) > 0 and np.ptp(comp_all) > 0:
        rho = float(spearmanr(att_all, comp_all).statistic)
    etas = [stats[i]["eta2"] for i in ok if stats[i]["eta2"] is not None]
    mass = float(np.mean([stats[i]["term_mass"] for i in ok])) if ok else None
    res = float(np.mean([stats[i]["term_res"] for i in ok])) if ok else None
    out = {"method": "gradxinput", "n": len(ok), "rule": RULE, "alphabet": STANDARD,
           "termini": {"fraction": TERMINAL_FRACTION, "attribution_share": mass,
                       "residue_share": res, "ratio": mass / res if ok and res else None},
           "residues": {"by_class": by_class, "rho": rho,
                        "eta2": float(np.mean(etas)) if etas else None},
           "maps": _maps(items, groups)}
    out["flags"] = flags(out)
    return out


def _maps(items: list, groups: np.ndarray) -> list[dict]:
    out, count = [], {}
    for i, e in items:
        g = str(groups[i])
        if count.get(g, 0) >= MAPS_PER_CLASS:
            continue
        count[g] = count.get(g, 0) + 1
        n = min(len(e.seq), MAP_MAX_LEN)
        out.append({"id": e.id, "class": g, "target": e.target, "sequence": e.seq[:n],
                    "scores": [round(float(v), 5) for v in e.scores[:n]]})
    return out


def flags(summary: dict) -> list[str]:
    """The shortcut flags of a summary (module doc), as sentences."""
    out = []
    t, r = summary["termini"], summary["residues"]
    if t.get("ratio") is not None and t["ratio"] >= TERMINI_RATIO:
        out.append(f"attributions concentrate on the termini: {t['attribution_share']:.0%} of "
                   f"the attribution on the first/last {t['fraction']:.0%} of residues "
                   f"({t['residue_share']:.0%} of residues)")
    eta, rho = r.get("eta2"), r.get("rho")
    if eta is not None and rho is not None and eta >= COMPOSITION_ETA2 \
            and rho >= COMPOSITION_RHO and not math.isnan(rho):
        out.append(f"attributions track composition: residue type explains {eta:.0%} of the "
                   f"attribution variance and follows the class composition difference "
                   f"(Spearman {rho:.2f})")
    return out


def test_records(sequences: pd.DataFrame, splits: pd.DataFrame) -> tuple[list, list, list]:
    """``(ids, sequences, labels)`` of the test split from ``sequences.tsv`` and
    ``splits.tsv`` tables (rows without a label left out)."""
    df = sequences.merge(splits[["id", "split"]], on="id", suffixes=("_seq", ""))
    df = df[(df["split"] == "test") & df["label"].notna() & (df["label"].astype(str) != "")]
    return df["id"].astype(str).tolist(), df["sequence"].astype(str).tolist(), \
        df["label"].tolist()


def write_summary(model_dir: str | os.PathLike, out_dir: str | os.PathLike,
                  device: str = "cpu") -> Path | None:
    """Summarise the model in ``model_dir`` on its dataset's test split (the
    ``sequences.tsv`` and ``splits.tsv`` two folders up) into ``out_dir/attributions.json``;
    ``None`` (nothing written) for a model that is not binary, multiclass or regression, or
    when those files or labelled test records are missing."""
    from ..data.files import write_text
    from ..layout import ATTRIBUTIONS, MODEL_META, SEQUENCES, SPLITS
    from .predictor import load

    md = Path(model_dir)
    root = md.parent.parent
    if not (md / MODEL_META).is_file() or not (root / SEQUENCES).is_file() \
            or not (root / SPLITS).is_file():
        return None
    predictor = load(md, device=device)
    if predictor.task not in ("binary", "multiclass", "regression"):
        return None
    seqs = pd.read_csv(root / SEQUENCES, sep="\t", dtype={"id": str, "label": str},
                       keep_default_na=False)
    splits = read_text_table(root / SPLITS)
    ids, raw, labels = test_records(seqs.drop(columns=["split"], errors="ignore"), splits)
    if not ids:
        return None
    if predictor.task == "regression":
        labels = [float(x) for x in labels]
    else:  # a class the model does not know (absent from its training) has no target
        keep = [i for i, x in enumerate(labels) if str(x) in predictor.class_names]
        ids, raw, labels = ([v[i] for i in keep] for v in (ids, raw, labels))
        if not ids:
            return None
    summary = summarize(predictor, ids, raw, labels)
    path = Path(out_dir) / ATTRIBUTIONS
    write_text(json.dumps(summary) + "\n", path, inside=out_dir)
    return path


__all__ = ["COMPOSITION_ETA2", "COMPOSITION_RHO", "MAX_RECORDS", "RULE", "TERMINAL_FRACTION",
           "TERMINI_RATIO", "flags", "summarize", "test_records", "write_summary"]
