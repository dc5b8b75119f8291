"""One self-contained HTML report per dataset, and an index page putting datasets side by side.

The report is built only from the files the workflow leaves under ``results/<dataset>/``
(``sequences.tsv``, ``ingest.json``, ``splits.tsv``, ``split_summary.json``, ``audit.json``,
``nearest_train.tsv``, ``models/<model>/``, ``baselines.json``, ``checks.json``). Plots are
drawn by :mod:`seqnn.evaluate` into a temporary folder and embedded as base64 PNG data URIs,
CSS is inline, there is no JavaScript and nothing is fetched, so the one file can be mailed.
Every text from a file is escaped; a missing file or field reads "not available".
"""

from __future__ import annotations

import base64
import contextlib
import os
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from . import diagnostics as dg
from . import evaluate as ev
from .io import write_text
from .report_html import (
    NA,
    SPLITS,
    _badge,
    _dict,
    _e,
    _fmt,
    _howto,
    _na,
    _page,
    _pct,
    _table,
)
from .report_models import baselines_section, headline_cell, models_section


class _Plots:
    """Draws :mod:`seqnn.evaluate` plots into a temporary folder; returns ``<img>`` tags."""

    def __init__(self, tmp: Path) -> None:
        self.tmp, self.count = tmp, 0

    def __call__(self, fn: Callable[..., None], *args: Any, alt: str, **kwargs: Any) -> str:
        self.count += 1
        path = self.tmp / f"plot{self.count}.png"
        try:
            fn(*args, path, **kwargs)
        except (ValueError, KeyError, TypeError, OSError) as exc:
            return _na(alt, exc)
        data = base64.b64encode(path.read_bytes()).decode("ascii")
        return f'<img src="data:image/png;base64,{data}" alt="{_e(alt)}">'


@dataclass
class _Data:
    """Everything read from one dataset folder (missing files are empty dicts / None)."""

    root: Path
    ingest: dict
    split_summary: dict
    audit: dict
    baselines: dict
    checks: dict
    sequences: pd.DataFrame | None
    models: dict[str, dict] = field(default_factory=dict)
    task: str | None = None
    metric: str = "mcc"
    split_lengths: pd.DataFrame | None = None  # split and length of every sequence

    @property
    def leakage(self) -> dict:
        """The audit (``audit.json``, else the summary in ``checks.json``)."""
        return self.audit or self.checks.get("leakage") or {}


def _guard(title: str, anchor: str, fn: Callable[..., str], *args: Any) -> str:
    """Render one section; content of an unexpected shape reads "not available" there."""
    try:
        return fn(*args)
    except (AttributeError, LookupError, TypeError, ValueError) as exc:
        return f'<h2 id="{anchor}">{_e(title)}</h2>{_na(title, f"{type(exc).__name__}: {exc}")}'


def _load(dataset_dir: str | os.PathLike, with_sequences: bool = True) -> _Data:
    """Read the files of one dataset folder, tolerating any of them missing."""
    root = Path(dataset_dir)
    seqs = None
    if with_sequences and (root / "sequences.tsv").exists():
        try:
            seqs = ev.read_tsv(root / "sequences.tsv", ("id", "sequence", "label", "source"))
        except ValueError:
            seqs = None
    d = _Data(root, *(ev.read_json(root / f) or {} for f in (
        "ingest.json", "split_summary.json", "audit.json", "baselines.json", "checks.json")),
        sequences=seqs)
    if seqs is not None and (root / "splits.tsv").exists():
        with contextlib.suppress(ValueError, KeyError, OSError):
            d.split_lengths = dg.split_lengths(seqs, root / "splits.tsv")
    checked = _dict(d.checks.get("models"))
    found = [p.name for p in (root / "models").glob("*") if p.is_dir()]
    for name in [*checked, *sorted(set(found) - set(checked))]:  # checked models first
        mdir = root / "models" / name
        d.models[name] = {"dir": mdir, "info": ev.read_json(mdir / "model.json") or {},
                          "metrics": ev.read_json(mdir / "metrics.json") or {},
                          "check": _dict(checked.get(name))}
        if with_sequences:  # the index page needs neither table
            d.models[name].update(_class_results(d, d.models[name]))
    d.models = dict(sorted(d.models.items(), key=lambda kv: (  # autoencoders last
        kv[1]["check"].get("task") in ev.AUTOENCODER_TASKS
        or kv[1]["info"].get("task") in ev.AUTOENCODER_TASKS)))
    supervised = (*ev.CLASSIFICATION, "regression")
    first = next((m["check"] for m in d.models.values()
                  if m["check"].get("task") in supervised), {})
    tasks = [first.get("task"), d.checks.get("task"), *(m["info"].get("task")
                                                         for m in d.models.values())]
    d.task = next((t for t in tasks if t in supervised), None)
    if d.task is None and seqs is not None and "label" in seqs.columns:
        d.task = "regression" if ev.is_continuous(seqs["label"]) else "multiclass"
    d.metric = (first.get("metric") or d.checks.get("metric")
                or ("spearman" if d.task == "regression" else "mcc"))
    return d


def _class_results(d: _Data, m: Mapping) -> dict:
    """``classes`` (per-class test table or None) and ``cuts`` (sequences over the model's
    ``max_len`` per split, or None) of one model."""
    out: dict = {"classes": None, "cuts": None}
    info, pred = m["info"], m["dir"] / "predictions.tsv"
    if info.get("task") in ev.CLASSIFICATION and pred.exists():
        with contextlib.suppress(ValueError, KeyError, OSError):
            out["classes"] = dg.class_table(ev.read_tsv(pred, ("id", "split", "true",
                                                              "predicted")),
                                            info.get("class_names"))
    if isinstance(info.get("max_len"), int) and d.split_lengths is not None:
        out["cuts"] = dg.count_cuts(d.split_lengths, info["max_len"])
    return out


# ----------------------------------------------------------------------------- 1. summary

def _leak_banner(d: _Data) -> str:
    """Loud red box for leakage and other warnings, a yellow one for notes, or a quiet
    all-clear line when the audit found nothing."""
    audit = d.leakage
    msgs = [str(w) for w in [*(audit.get("warnings") or []), *(d.checks.get("warnings") or [])]]
    if audit.get("leak") and not any(m.startswith("LEAKAGE") for m in msgs):
        frac = _dict(audit.get("fraction_above_threshold")).get("test")
        msgs.insert(0, f"LEAKAGE: {_pct(frac)} of test sequences share at least "
                    f"{_pct(audit.get('identity_threshold', 0.3))} identity with a training "
                    "sequence; held-out scores may be inflated by near-copies.")
    msgs = list(dict.fromkeys(msgs))
    alarm = [m for m in msgs if not m.startswith("NOTE")]
    notes = [m for m in msgs if m.startswith("NOTE")]
    out = "".join(f'<div class="banner {cls}"><strong>{title}</strong><ul>'
                  + "".join(f"<li>{_e(m)}</li>" for m in items) + "</ul></div>"
                  for cls, title, items in (("alarm", "Warnings", alarm), ("note", "Notes", notes))
                  if items)
    if audit and not audit.get("leak"):
        frac = _dict(audit.get("fraction_above_threshold")).get("test")
        out += (f'<div class="banner ok">Leakage audit passed: {_pct(frac)} of test sequences '
                f'above {_pct(audit.get("identity_threshold", 0.3))} identity to training.</div>')
    return out or f'<div class="banner none">Leakage audit: {NA}.</div>'


def _headline(c: Mapping) -> str:
    """Test metric with CI and the best shortcut, as one line of text."""
    ci = c.get("ci") or [None, None]
    best = c.get("best_shortcut") or {}
    return (f"test {_fmt(c.get('test_metric'))} [{_fmt(ci[0])}, {_fmt(ci[-1])}] · best "
            f"shortcut {_e(best.get('label', best.get('name', '—')))} "
            f"{_fmt(best.get('test_metric'))} · "
            f"Δ {_fmt(c.get('delta_vs_best_shortcut'), signed=True)}")


def _verdict_box(name: str, m: Mapping) -> str:
    """The coloured verdict box of one model: status, plain verdict, numbers, warnings."""
    c, test = m["check"], m["metrics"].get("test") or {}
    status = c.get("status")
    cls = {"ok": "ok", "warning": "warn"}.get(str(status), "unknown")
    verdict = c.get("verdict") or f"Honesty checks for this model: {NA}." + (
        f" Test reconstruction accuracy {_fmt(test['reconstruction_accuracy'])}."
        if "reconstruction_accuracy" in test else "")
    warnings = list(c.get("warnings") or [])
    if m.get("classes") is not None:
        zero = dg.zero_recall(m["classes"])
        if zero:
            warnings.append(f"{len(zero)} of {len(m['classes'])} classes are never recalled on "
                            f"test (recall 0): {'; '.join(map(str, zero))}.")
    warns = "".join(f"<li>{_e(w)}</li>" for w in warnings)
    return (f'<div class="verdict {cls}"><h3>{_e(name)} {_badge(status)}</h3>'
            f"<p>{_e(verdict)}</p>"
            + (f'<p class="muted">{_headline(c)}</p>' if "test_metric" in c else "")
            + (f"<ul>{warns}</ul>" if warns else "") + "</div>")


def _summary(d: _Data) -> str:
    """Section 1: leakage banner and one verdict box per model."""
    boxes = "".join(_verdict_box(n, m) for n, m in d.models.items()) or _na("Models")
    return f'<h2 id="summary">1. Summary</h2>{_leak_banner(d)}{boxes}'


# ----------------------------------------------------------------------------- 2. dataset

def _dataset(d: _Data, plot: _Plots) -> str:
    """Section 2: records per source, lengths, composition, labels, substitutions."""
    out = ['<h2 id="dataset">2. Dataset</h2>']
    seqs, ing = d.sequences, d.ingest
    per_source = ing.get("records_per_source")
    if not per_source and seqs is not None and "source" in seqs.columns:
        per_source = seqs["source"].value_counts().to_dict()
    out.append(_table(["Source", "Records"], [[_e(k), _fmt(v)] for k, v in per_source.items()])
               if per_source else _na("Records per source"))
    path = d.root / "sequences.tsv"
    if seqs is None:
        out.append(_na("Sequences (sequences.tsv)"))
    else:
        out.append(f"<p>{len(seqs)} sequences.</p>")
        figs = [plot(ev.plot_length_hist, path, alt="length histogram", task=d.task),
                plot(ev.plot_composition, path, alt="residue composition", task=d.task)]
        if d.task == "regression":
            figs.append(plot(ev.plot_target_hist, path, alt="target distribution",
                             splits_tsv=d.root / "splits.tsv"))
        out.append(f'<div class="plots">{"".join(figs)}</div>')
        if d.task != "regression" and "label" in seqs.columns:
            counts = seqs["label"].fillna("(none)").value_counts()
            out.append(_table(["Class", "Sequences", "Share"], [
                [_e(k), _fmt(int(v)), _pct(v / len(seqs))] for k, v in counts.items()]))
    keys = (("substitution_summary", "Residue substitutions"),
            ("duplicate_sequence_groups", "Duplicate sequence groups"),
            ("duplicate_rows_dropped", "Duplicate rows dropped"),
            ("conflicting_label_groups", "Identical sequences with conflicting labels"))
    out.append("<dl>" + "".join(f"<dt>{_e(t)}</dt><dd>{_fmt(ing[k]) if k in ing else NA}</dd>"
                                for k, t in keys) + "</dl>")
    return "".join(out)


# ----------------------------------------------------------------------------- 3. split

def _split_table(d: _Data) -> tuple[dict, dict]:
    """Sizes ``{split: n}`` and balance ``{split: {class: n} or {mean: .., sd: ..}}`` from
    ``split_summary.json`` (either layout), else computed from ``splits.tsv``."""
    ss = d.split_summary
    if "sizes" in ss:
        return _dict(ss["sizes"]), _dict(ss.get("class_balance"))
    per = {k: v for k, v in _dict(ss.get("splits")).items() if isinstance(v, dict)}
    if per:
        stats = ("clusters", "mean", "sd", "min", "max")
        return ({k: v.get("n") for k, v in per.items()},
                {k: {**{s: v[s] for s in stats if s in v}, **_dict(v.get("classes"))}
                 for k, v in per.items()})
    if not (d.root / "splits.tsv").exists() or d.sequences is None:
        return {}, {}
    merged = ev.read_tsv(d.root / "splits.tsv").merge(
        d.sequences.drop(columns="split", errors="ignore"), on="id")
    balance = (pd.crosstab(merged["split"], merged["label"]).to_dict("index")
               if d.task != "regression" and "label" in merged.columns else {})
    return merged["split"].value_counts().to_dict(), balance


def _balance_rows(d: _Data) -> tuple[list[str], list[list[str]]]:
    """Header and rows of split sizes and class balance (counts with their share)."""
    sizes, balance = _split_table(d)
    keys = list(dict.fromkeys(k for v in balance.values() for k in v))
    plain = {"clusters", "mean", "sd", "min", "max"}
    rows = []
    for split in [s for s in SPLITS if s in sizes] + [s for s in sizes if s not in SPLITS]:
        n, bal = sizes[split], _dict(balance.get(split))
        cells = [f"{_fmt(bal[k])} ({_pct(bal[k] / n)})" if k not in plain and isinstance(
            bal.get(k), int) and isinstance(n, int) and n else _fmt(bal.get(k)) for k in keys]
        rows.append([_e(split), _fmt(n), *cells])
    return ["Split", "Sequences", *map(str, keys)], rows


def _fraction_rows(audit: Mapping) -> list[list[str]]:
    """Per held-out split: sequences, how many and what share reach the threshold, and the
    share of residue-shuffled copies that do (chance similarity)."""
    frac = _dict(audit.get("fraction_above_threshold"))
    n, above = _dict(audit.get("n")), _dict(audit.get("n_above_threshold"))
    background = _dict(audit.get("background_fraction_above_threshold"))
    return [[_e(s), _fmt(n.get(s)), _fmt(above.get(s)),
             f'<span class="{"bad" if v else "good"}">{_pct(v)}</span>', _pct(background.get(s))]
            for s, v in frac.items()]


def _duplicate_rows(dups: Mapping) -> list[list[str]]:
    """Exact duplicate findings; a list is shown as a count and its first few entries, unless
    its count is already there as ``n_<key>``."""
    rows = []
    for key, value in dups.items():
        if isinstance(value, list) and f"n_{key}" in dups:
            continue
        if isinstance(value, list):
            shown = ", ".join(str(v) for v in value[:5] if not isinstance(v, dict))
            value = f"{len(value)}" + (f" (e.g. {shown})" if shown else "")
        rows.append([_e(key.replace("_", " ")), _fmt(value)])
    return rows


def _split(d: _Data, plot: _Plots) -> str:
    """Section 3: split method, sizes and balance, identity histogram, leakage numbers."""
    ss, audit = d.split_summary, d.leakage
    keys = ("identity", "coverage") if ss.get("method") == "given" else (
        "identity", "coverage", "fractions", "seed")  # a given split has no fractions or seed
    params = [f"{k}: {ss[k]}" for k in keys if k in ss]
    tool = _dict(audit.get("mmseqs")).get("version")
    out = ['<h2 id="split">3. Split and leakage audit</h2>',
           f"<p>Method: <b>{_e(ss.get('method', NA))}</b>" + (
               f" ({_e('; '.join(params))})" if params else "") + "." + (
               f" Identity audit: MMseqs2 {_e(tool)}." if tool else "") + "</p>"]
    header, rows = _balance_rows(d)
    out.append(_table(header, rows) if rows else _na("Split sizes"))
    threshold = float(audit.get("identity_threshold", 0.3))
    nearest = d.root / "nearest_train.tsv"
    source = audit if audit.get("histogram") else nearest if nearest.exists() else None
    out.append(plot(ev.plot_identity_histogram, source, threshold, alt="identity histogram")
               if source is not None else _na("Identity to training histogram"))
    rows = _fraction_rows(audit)
    out.append(_table(["Split", "Sequences", f"≥ {threshold:g} identity to train", "Share",
                       "Share of shuffled copies (chance)"], rows)
               if rows else _na("Fraction above threshold"))
    bins = _dict(audit.get("identity_bins"))
    cols = list(dict.fromkeys(k for v in bins.values() for k in v))
    if bins:
        out.append(_table(["Split", *cols], [[_e(s), *(_fmt(v.get(c)) for c in cols)]
                                             for s, v in bins.items()]))
    dups = audit.get("duplicates")
    out.append(_table(["Exact duplicates / conflicts", "Value"], _duplicate_rows(dups))
               if isinstance(dups, dict) else _na("Exact duplicates across splits"))
    return "".join(out)


def build_report(dataset_dir: str | os.PathLike, out_html: str | os.PathLike,
                 title: str | None = None) -> None:
    """Write one self-contained HTML report for the dataset folder ``dataset_dir`` to
    ``out_html``: summary with verdicts, dataset, split and leakage audit, models, shortcut
    baselines and how to read it. Missing files or fields read "not available"."""
    d = _load(dataset_dir)
    nav = "".join(f'<a href="#{a}">{t}</a>' for a, t in (
        ("summary", "Summary"), ("dataset", "Dataset"), ("split", "Split and leakage"),
        ("models", "Models"), ("baselines", "Baselines"), ("howto", "How to read")))
    with tempfile.TemporaryDirectory() as tmp:
        plot = _Plots(Path(tmp))
        body = (f'<p class="muted">Task: {_e(d.task or NA)}; headline metric: {_e(d.metric)}; '
                f"margin over shortcuts: {_fmt(d.checks.get('margin'))}.</p><nav>{nav}</nav>"
                + _guard("1. Summary", "summary", _summary, d)
                + _guard("2. Dataset", "dataset", _dataset, d, plot)
                + _guard("3. Split and leakage audit", "split", _split, d, plot)
                + _guard("4. Models", "models", models_section, d, plot)
                + _guard("5. Shortcut baselines", "baselines", baselines_section, d) + _howto())
    write_text(_page(title or f"seqnn report: {d.root.name}", body), out_html)


# ----------------------------------------------------------------------------- index

def _index_column(d: _Data, models: list[str]) -> list[str]:
    """One dataset's cells of the index table, in the order of :func:`build_index` rows."""
    audit, ss = d.leakage, d.split_summary
    frac = _dict(audit.get("fraction_above_threshold")).get("test")
    leak = audit.get("leak")
    cells = [_e(f"{ss.get('method', NA)} (identity {ss.get('identity', '—')})"),
             f'<span class="{"bad" if leak else "good"}">{_pct(frac)}</span>'
             + (" <b class='bad'>LEAK</b>" if leak else " no leak" if audit else "")]
    for name in models:
        m = d.models.get(name)
        if m is None:
            cells.append("—")
            continue
        c, best = m["check"], _dict(m["check"].get("best_shortcut"))
        head = headline_cell(d, c, _dict(m["metrics"].get("test")))
        head = head if head.startswith("reconstruction") else f"{_e(d.metric)} {head}"
        acc = _dict(m["metrics"].get("test")).get("accuracy")
        if acc is not None:
            head += f" · accuracy {_fmt(acc)}"
        cells.append(f"{head} {_badge(c.get('status'))}" + ("" if not best else
                     f"<br><span class='muted'>best shortcut {_e(best.get('name', '—'))} "
                     f"{_fmt(best.get('test_metric'))} (Δ "
                     f"{_fmt(c.get('delta_vs_best_shortcut'), signed=True)})</span>"))
    return cells


def build_index(results_dir: str | os.PathLike, dataset_names: Sequence[str],
                out_html: str | os.PathLike, title: str = "seqnn: datasets side by side") -> None:
    """Write a small self-contained page comparing datasets (e.g. a published split and a
    homology-aware cluster split of the same data): per dataset the split method, the share
    of test sequences above the identity threshold, and each model's test metric next to its
    best shortcut, with links to each dataset's ``report.html``."""
    data = {n: _load(Path(results_dir) / n, with_sequences=False) for n in dataset_names}
    models = list(dict.fromkeys(m for d in data.values() for m in d.models))
    labels = ["Split", "Test share above identity threshold",
              *(f"{m}: test metric / best shortcut" for m in models), "Report"]
    out_dir = Path(out_html).resolve().parent
    cols = [_index_column(d, models) + [
        f'<a href="{_e(os.path.relpath(d.root.resolve() / "report.html", out_dir))}">'
        "report.html</a>"] for d in data.values()]
    rows = [[_e(label), *(col[i] for col in cols)] for i, label in enumerate(labels)]
    note = ("<p>If a model's score falls from a published split to a homology-aware cluster "
            "split, part of the published score came from near-copies of training sequences."
            "</p>")
    write_text(_page(title, _table(["", *dataset_names], rows) + note), out_html)
