"""Sections 1 (summary), 2 (dataset) and 3 (split and leakage audit) of the HTML report.

Each function takes the loaded results folder (:class:`~seqnn.report.results.Results`) and
returns ready HTML; every text from a file is escaped.
"""

from __future__ import annotations

import html
from collections.abc import Mapping

import pandas as pd

from .. import layout
from ..data.tables import SPLITS
from .attribution_section import attribution_flags
from .classes import zero_recall
from .data_plots import (
    plot_composition,
    plot_identity_histogram,
    plot_length_hist,
    plot_target_hist,
)
from .figures import read_tsv
from .html import (
    LEVEL_CLASS,
    NA,
    Plots,
    as_dict,
    badge,
    esc,
    fmt,
    howto,
    html_table,
    level,
    na,
    pct,
)
from .results import Results
from .summary_chart import chart_data, plot_summary_chart


def _leak_banner(d: Results) -> str:
    """Loud red box for leakage and other warnings, a yellow one for notes, or a quiet
    all-clear line when the audit found nothing."""
    audit = d.leakage
    msgs = [str(w) for w in [*(audit.get("warnings") or []), *(d.checks.get("warnings") or [])]]
    if audit.get("leak") and not any(m.startswith("LEAKAGE") for m in msgs):
        frac = as_dict(audit.get("fraction_above_threshold")).get("test")
        msgs.insert(0, f"LEAKAGE: {pct(frac)} of test sequences share at least "
                    f"{pct(audit.get('identity_threshold', 0.3))} identity with a training "
                    "sequence; held-out scores may be inflated by near-copies.")
    msgs = list(dict.fromkeys(msgs))
    alarm = [m for m in msgs if not m.startswith("NOTE")]
    notes = [m for m in msgs if m.startswith("NOTE")]
    out = "".join(f'<div class="banner {cls}"><strong>{title}</strong><ul>'
                  + "".join(f"<li>{esc(m)}</li>" for m in items) + "</ul></div>"
                  for cls, title, items in (("alarm", "Warnings", alarm), ("note", "Notes", notes))
                  if items)
    if audit and not audit.get("leak"):
        frac = as_dict(audit.get("fraction_above_threshold")).get("test")
        out += (f'<div class="banner ok">Leakage audit passed: {pct(frac)} of test sequences '
                f'above {pct(audit.get("identity_threshold", 0.3))} identity to training.</div>')
    return out or f'<div class="banner none">Leakage audit: {NA}.</div>'


def _headline(c: Mapping) -> str:
    """Test metric with CI and the best shortcut, as one line of text."""
    ci = c.get("ci") or [None, None]
    best = c.get("best_shortcut") or {}
    return (f"test {fmt(c.get('test_metric'))} [{fmt(ci[0])}, {fmt(ci[-1])}] · best "
            f"shortcut {esc(best.get('label', best.get('name', '—')))} "
            f"{fmt(best.get('test_metric'))} · "
            f"Δ {fmt(c.get('delta_vs_best_shortcut'), signed=True)}")


def _reason_items(c: Mapping, extra: list[str]) -> str:
    """The list items of a verdict box: each reason with its level (most severe first), or
    the plain warnings of a checks.json from before levels, then ``extra`` items (ready
    HTML)."""
    reasons = [r for r in c.get("reasons") or [] if isinstance(r, Mapping)]
    items = [f'<li><span class="lvl-{esc(r.get("level"))}">{esc(r.get("level", ""))}</span>: '
             f'{esc(r.get("message", r.get("short", "")))}</li>' for r in reasons]
    if not reasons:
        items = [f"<li>{esc(w)}</li>" for w in c.get("warnings") or []]
    return "".join(items + [f"<li>{w}</li>" for w in extra])


def _verdict_box(name: str, m: Mapping) -> str:
    """The coloured verdict box of one model: level, the line saying why, plain verdict,
    numbers, reasons."""
    c, test = m["check"], m["metrics"].get("test") or {}
    lvl = level(c)
    cls = LEVEL_CLASS.get(str(lvl), "unknown")
    verdict = c.get("verdict") or f"Honesty checks for this model: {NA}." + (
        f" Test reconstruction accuracy {fmt(test['reconstruction_accuracy'])}."
        if "reconstruction_accuracy" in test else "")
    extra = []
    if m.get("classes") is not None:
        zero = zero_recall(m["classes"])
        if zero:  # the report's own finding: tagged caution, the level stays the checks'
            extra.append('<span class="lvl-caution">caution</span>: '
                         + esc(f"{len(zero)} of {len(m['classes'])} classes are never "
                               f"recalled on test (recall 0): {'; '.join(map(str, zero))}.")
                         + ' <span class="muted">(from the per-class table; not a reason of '
                         "the level)</span>")
    items = _reason_items(c, extra)
    why = f'<p class="why">{esc(c["why"])}</p>' if c.get("why") else ""
    return (f'<div class="verdict {cls}"><h3>{esc(name)} {badge(lvl)}</h3>{why}'
            f"<p>{esc(verdict)}</p>"
            + (f'<p class="muted">{_headline(c)}</p>' if "test_metric" in c else "")
            + attribution_flags(m["dir"])
            + (f"<ul>{items}</ul>" if items else "") + "</div>")


def summary_section(d: Results, plot: Plots | None = None) -> str:
    """Section 1: the dot-and-interval chart of every model against the shortcuts, the
    leakage banner (with small-data warnings), one verdict box per model and how to read
    them."""
    chart = ""
    if plot is not None and d.models:
        img = plot(plot_summary_chart, chart_data(d),
                   alt="summary chart: test metric with interval against the shortcuts")
        chart = f'<div class="plots chart">{img}</div>'
    boxes = "".join(_verdict_box(n, m) for n, m in d.models.items()) or na("Models")
    return f'<h2 id="summary">1. Summary</h2>{chart}{_leak_banner(d)}{boxes}{howto()}'


def dataset_section(d: Results, plot: Plots) -> str:
    """Section 2: records per source, lengths, composition, labels, substitutions."""
    out = ['<h2 id="dataset">2. Dataset</h2>']
    seqs, ing = d.sequences, d.ingest
    per_source = ing.get("records_per_source")
    if not per_source and seqs is not None and "source" in seqs.columns:
        per_source = seqs["source"].value_counts().to_dict()
    out.append(html_table(["Source", "Records"], [[esc(k), fmt(v)] for k, v in per_source.items()])
               if per_source else na("Records per source"))
    path = d.root / layout.SEQUENCES
    if seqs is None:
        out.append(na("Sequences (sequences.tsv)"))
    else:
        out.append(f"<p>{len(seqs)} sequences.</p>")
        figs = [plot(plot_length_hist, path, alt="length histogram", task=d.task),
                plot(plot_composition, path, alt="residue composition", task=d.task)]
        if d.task == "regression":
            figs.append(plot(plot_target_hist, path, alt="target distribution",
                             splits_tsv=d.root / layout.SPLITS))
        out.append(f'<div class="plots">{"".join(figs)}</div>')
        if d.task != "regression" and "label" in seqs.columns:
            counts = seqs["label"].fillna("(none)").value_counts()
            out.append(html_table(["Class", "Sequences", "Share"], [
                [esc(k), fmt(int(v)), pct(v / len(seqs))] for k, v in counts.items()]))
    keys = (("substitution_summary", "Residue substitutions"),
            ("duplicate_sequence_groups", "Duplicate sequence groups"),
            ("duplicate_rows_dropped", "Duplicate rows dropped"),
            ("conflicting_label_groups", "Identical sequences with conflicting labels"))
    out.append("<dl>" + "".join(f"<dt>{esc(t)}</dt><dd>{fmt(ing[k]) if k in ing else NA}</dd>"
                                for k, t in keys) + "</dl>")
    return "".join(out)


def _split_table(d: Results) -> tuple[dict, dict]:
    """Sizes ``{split: n}`` and balance ``{split: {class: n} or {mean: .., sd: ..}}`` from
    ``split_summary.json`` (either layout), else computed from ``splits.tsv``."""
    ss = d.split_summary
    if "sizes" in ss:
        return as_dict(ss["sizes"]), as_dict(ss.get("class_balance"))
    per = {k: v for k, v in as_dict(ss.get("splits")).items() if isinstance(v, dict)}
    if per:
        stats = ("clusters", "mean", "sd", "min", "max")
        return ({k: v.get("n") for k, v in per.items()},
                {k: {**{s: v[s] for s in stats if s in v}, **as_dict(v.get("classes"))}
                 for k, v in per.items()})
    if not (d.root / layout.SPLITS).exists() or d.sequences is None:
        return {}, {}
    merged = read_tsv(d.root / layout.SPLITS).merge(
        d.sequences.drop(columns="split", errors="ignore"), on="id")
    balance = (pd.crosstab(merged["split"], merged["label"]).to_dict("index")
               if d.task != "regression" and "label" in merged.columns else {})
    return merged["split"].value_counts().to_dict(), balance


def _balance_rows(d: Results) -> tuple[list[str], list[list[str]]]:
    """Header and rows of split sizes and class balance (counts with their share)."""
    sizes, balance = _split_table(d)
    keys = list(dict.fromkeys(k for v in balance.values() for k in v))
    plain = {"clusters", "mean", "sd", "min", "max"}
    rows = []
    for split in [s for s in SPLITS if s in sizes] + [s for s in sizes if s not in SPLITS]:
        n, bal = sizes[split], as_dict(balance.get(split))
        cells = [f"{fmt(bal[k])} ({pct(bal[k] / n)})" if k not in plain and isinstance(
            bal.get(k), int) and isinstance(n, int) and n else fmt(bal.get(k)) for k in keys]
        rows.append([esc(split), fmt(n), *cells])
    return ["Split", "Sequences", *map(str, keys)], rows


def _fraction_rows(audit: Mapping) -> list[list[str]]:
    """Per held-out split: sequences, how many and what share reach the threshold (red only
    when the audit calls it a leak), and the share of residue-shuffled copies that do
    (chance similarity)."""
    frac = as_dict(audit.get("fraction_above_threshold"))
    leak = bool(audit.get("leak"))
    n, above = as_dict(audit.get("n")), as_dict(audit.get("n_above_threshold"))
    background = as_dict(audit.get("background_fraction_above_threshold"))
    return [[esc(s), fmt(n.get(s)), fmt(above.get(s)),
             f'<span class="{"good" if not v else "bad" if leak else "plain"}">{pct(v)}</span>',
             pct(background.get(s))]
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
        rows.append([esc(key.replace("_", " ")), fmt(value)])
    return rows


def _search_note(ss: dict, audit: dict) -> str:
    """How the clusters and the audit's alignments were found (large data: linclust and a
    k-mer prefiltered search, which can miss homologues)."""
    clustering, search = as_dict(ss.get("clustering")), as_dict(audit.get("search"))
    parts = []
    if clustering.get("method"):
        parts.append(f"Clusters: MMseqs2 {clustering['method']}"
                     + (f" ({' '.join(map(str, clustering['flags']))})"
                        if clustering.get("flags") else "") + ".")
    if search.get("method"):
        parts.append(f"Audit search: {search['method']} "
                     f"({' '.join(map(str, search.get('flags', [])))}).")
    if clustering.get("method") == "linclust" or search.get("method") == "prefilter":
        parts.append("A prefiltered search can miss distant homologues: see the measured "
                     "recall in benchmarks/README.md.")
    return "".join(f" {esc(p)}" for p in parts)


def split_section(d: Results, plot: Plots) -> str:
    """Section 3: split method, sizes and balance, identity histogram, leakage numbers."""
    ss, audit = d.split_summary, d.leakage
    keys = ("identity", "coverage") if ss.get("method") == "given" else (
        "identity", "coverage", "fractions", "seed")  # a given split has no fractions or seed
    if ss.get("method") == "mutations":  # variant libraries: seqnn.split.variants
        keys = ("max_train_mutations", "reference", "fractions", "seed")
    params = [f"{k}: {ss[k]}" for k in keys if k in ss]
    tool = as_dict(audit.get("mmseqs")).get("version")
    out = ['<h2 id="split">3. Split and leakage audit</h2>',
           f"<p>Method: <b>{esc(ss.get('method', NA))}</b>" + (
               f" ({esc('; '.join(params))})" if params else "") + "." + (
               f" Identity audit: MMseqs2 {esc(tool)}." if tool else "")
           + _search_note(ss, audit) + "</p>"]
    carved = as_dict(ss.get("valid_carved"))
    if carved:
        out.append(f"<p>The given split had no validation records: {fmt(carved.get('n_valid'))} "
                   f"of {fmt(carved.get('n_train_before'))} training sequences were carved out "
                   f"as valid ({esc(carved.get('how', NA))}"
                   + (f" at identity {fmt(carved['identity'])}" if "identity" in carved else "")
                   + f"; valid_fraction {fmt(carved.get('valid_fraction'))}, seed "
                   f"{fmt(carved.get('seed'))}).</p>")
    header, rows = _balance_rows(d)
    if len(header) > 8:  # many classes: one row per class, a column per split
        header, rows = (["Class", *(html.unescape(r[0]) for r in rows)],
                        [[esc(h), *(r[i] for r in rows)] for i, h in enumerate(header[1:], 1)])
    out.append(html_table(header, rows) if rows else na("Split sizes"))
    threshold = float(audit.get("identity_threshold", 0.3))
    nearest = d.root / layout.NEAREST_TRAIN
    source = audit if audit.get("histogram") else nearest if nearest.exists() else None
    out.append(plot(plot_identity_histogram, source, threshold, alt="identity histogram")
               if source is not None else na("Identity to training histogram"))
    rows = _fraction_rows(audit)
    out.append(html_table(["Split", "Sequences", f"≥ {threshold:g} identity to train", "Share",
                       "Share of shuffled copies (chance)"], rows)
               if rows else na("Fraction above threshold"))
    bins = as_dict(audit.get("identity_bins"))
    cols = list(dict.fromkeys(k for v in bins.values() for k in v))
    if bins:
        out.append(html_table(["Split", *cols], [[esc(s), *(fmt(v.get(c)) for c in cols)]
                                             for s, v in bins.items()]))
    dups = audit.get("duplicates")
    out.append(html_table(["Exact duplicates / conflicts", "Value"], _duplicate_rows(dups))
               if isinstance(dups, dict) else na("Exact duplicates across splits"))
    return "".join(out)
