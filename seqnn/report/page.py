"""One self-contained HTML report per dataset, and an index page putting datasets side by side.

The report is built only from the files the workflow leaves under ``results/<dataset>/``
(``sequences.tsv``, ``ingest.json``, ``splits.tsv``, ``split_summary.json``, ``audit.json``,
``nearest_train.tsv``, ``models/<model>/``, ``baselines.json``, ``checks.json``; see
:mod:`seqnn.layout`). Plots are drawn by :mod:`seqnn.report.plots` and
:mod:`seqnn.report.data_plots` into a temporary folder and embedded as base64 PNG data URIs,
CSS is inline, there is no JavaScript and nothing is fetched, so the one file can be mailed.
Every text from a file is escaped; a missing file or field reads "not available".
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

from .. import layout
from ..data.files import write_text
from .html import NA, Plots, as_dict, badge, esc, fmt, html_table, level, na, page, pct
from .models import baselines_section, headline_cell, models_section
from .multilabel import labels_section
from .results import Results, load_results
from .sections import dataset_section, split_section, summary_section
from .variants import variant_section


def _guard(title: str, anchor: str, fn: Callable[..., str], *args: Any) -> str:
    """Render one section; content of an unexpected shape reads "not available" there."""
    try:
        return fn(*args)
    except (AttributeError, LookupError, TypeError, ValueError) as exc:
        return f'<h2 id="{anchor}">{esc(title)}</h2>{na(title, f"{type(exc).__name__}: {exc}")}'


def build_report(dataset_dir: str | os.PathLike, out_html: str | os.PathLike,
                 title: str | None = None) -> None:
    """Write one self-contained HTML report for the dataset folder ``dataset_dir`` to
    ``out_html``: summary (chart, verdicts and how to read them), dataset, split and leakage
    audit, models and shortcut baselines. Missing files or fields read "not available"."""
    d = load_results(dataset_dir)
    nav = "".join(f'<a href="#{a}">{t}</a>' for a, t in (
        ("summary", "Summary"), ("dataset", "Dataset"), ("split", "Split and leakage"),
        ("models", "Models"), ("baselines", "Baselines"), ("howto", "How to read")))
    with tempfile.TemporaryDirectory() as tmp:
        plot = Plots(Path(tmp))
        body = (f'<p class="muted">Task: {esc(d.task or NA)}; headline metric: {esc(d.metric)}; '
                f"margin over shortcuts: {fmt(d.checks.get('margin'))}.</p><nav>{nav}</nav>"
                + _guard("1. Summary", "summary", summary_section, d, plot)
                + _guard("2. Dataset", "dataset", dataset_section, d, plot)
                + _guard("3. Split and leakage audit", "split", split_section, d, plot)
                + _guard("3b. Variant library", "variants", variant_section, d)
                + _guard("4. Models", "models", models_section, d, plot)
                + _guard("5. Shortcut baselines", "baselines", baselines_section, d)
                + _guard("6. Labels (multi-label)", "labels", labels_section, d))
    write_text(page(title or f"seqnn report: {d.root.name}", body), out_html)


def _index_column(d: Results, models: list[str]) -> list[str]:
    """One dataset's cells of the index table, in the order of :func:`build_index` rows."""
    audit, ss = d.leakage, d.split_summary
    frac = as_dict(audit.get("fraction_above_threshold")).get("test")
    leak = audit.get("leak")
    cells = [esc(f"{ss.get('method', NA)} (identity {ss.get('identity', '—')})"),
             f'<span class="{"bad" if leak else "good"}">{pct(frac)}</span>'
             + (" <b class='bad'>LEAK</b>" if leak else " no leak" if audit else "")]
    for name in models:
        m = d.models.get(name)
        if m is None:
            cells.append("—")
            continue
        c, best = m["check"], as_dict(m["check"].get("best_shortcut"))
        head = headline_cell(d, c, as_dict(m["metrics"].get("test")))
        head = head if head.startswith("reconstruction") else f"{esc(d.metric)} {head}"
        acc = as_dict(m["metrics"].get("test")).get("accuracy")
        if acc is not None:
            head += f" · accuracy {fmt(acc)}"
        cells.append(f"{head} {badge(level(c))}" + ("" if not best else
                     f"<br><span class='muted'>best shortcut {esc(best.get('name', '—'))} "
                     f"{fmt(best.get('test_metric'))} (Δ "
                     f"{fmt(c.get('delta_vs_best_shortcut'), signed=True)})</span>"))
    return cells


def local_href(target: Path, base: Path) -> str:
    """The link from a page in ``base`` to the file ``target``, for an ``href``: relative,
    URL-encoded and starting with ``./``, so that no folder name (``javascript:alert(1)``, a
    ``#`` or a ``?``) becomes a URL scheme, a fragment or a query; escaped for the attribute."""
    rel = Path(os.path.relpath(target, base)).as_posix()
    return esc("./" + quote(rel))


def build_index(results_dir: str | os.PathLike, dataset_names: Sequence[str],
                out_html: str | os.PathLike, title: str = "seqnn: datasets side by side") -> None:
    """Write a small self-contained page comparing datasets (e.g. a published split and a
    homology-aware cluster split of the same data): per dataset the split method, the share
    of test sequences above the identity threshold, and each model's test metric next to its
    best shortcut, with links to each dataset's ``report.html``."""
    data = {n: load_results(Path(results_dir) / n, with_sequences=False) for n in dataset_names}
    models = list(dict.fromkeys(m for d in data.values() for m in d.models))
    labels = ["Split", "Test share above identity threshold",
              *(f"{m}: test metric / best shortcut" for m in models), "Report"]
    out_dir = Path(out_html).resolve().parent
    cols = [_index_column(d, models) + [
        f'<a href="{local_href(d.root.resolve() / layout.REPORT_HTML, out_dir)}">'
        "report.html</a>"] for d in data.values()]
    rows = [[esc(label), *(col[i] for col in cols)] for i, label in enumerate(labels)]
    note = ("<p>If a model's score falls from a published split to a homology-aware cluster "
            "split, part of the published score came from near-copies of training sequences."
            "</p>")
    write_text(page(title, html_table(["", *dataset_names], rows) + note), out_html)


__all__ = ["build_index", "build_report"]
