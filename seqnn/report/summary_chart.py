"""The dot-and-interval chart at the top of the report's summary: every model's test metric
with its 95 % bootstrap interval, against the shortcut baselines' test scores drawn as
vertical reference lines, coloured by verdict level.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from .figures import PathLike, PlotUnavailable, pyplot, save_png
from .html import as_dict, level
from .results import Results

LEVEL_COLOURS = {"fail": "#c62828", "caution": "#ef8f00", "warning": "#ef8f00",
                 "pass": "#2e7d32", "ok": "#2e7d32"}
#: the shortcut lines, best first: blues and greys with distinct dashes, so no line reads as
#: a verdict colour (red, amber and green are the models' levels only)
BASELINE_STYLES = (("#08306b", "--"), ("#2171b5", ":"), ("#6baed6", "-."),
                   ("0.35", (0, (5, 1, 1, 1))), ("0.6", (0, (1, 1))), ("0.2", (0, (3, 2))))


def chart_data(d: Results) -> dict[str, Any]:
    """What the chart draws: ``models`` (one dict per model with ``name``, ``value``, ``lo``,
    ``hi`` and ``level``; an autoencoder is its linear probe, without an interval) and
    ``shortcuts`` (``{baseline: test metric}``), all in the headline metric."""
    models = []
    for name, m in d.models.items():
        c = as_dict(m.get("check"))
        value, ci = c.get("test_metric"), c.get("ci") or [None, None]
        probe = as_dict(c.get("probe"))
        if value is None and probe.get("metric") == d.metric:
            name, value, ci = f"{name} (probe)", probe.get("test"), [None, None]
        if isinstance(value, int | float):
            models.append({"name": name, "value": float(value), "lo": ci[0], "hi": ci[-1],
                           "level": level(c)})
    shortcuts = {}
    for name, b in d.baselines.items():
        test = as_dict(b).get("test")
        v = test.get(d.metric) if isinstance(test, Mapping) else test
        if isinstance(v, int | float):
            shortcuts[str(name)] = float(v)
    return {"models": models, "shortcuts": shortcuts, "metric": d.metric}


def plot_summary_chart(data: Mapping[str, Any], path: PathLike) -> None:
    """Draw :func:`chart_data`'s ``data``: one row per model (dot and interval, coloured by
    level), one vertical line per shortcut baseline (:data:`BASELINE_STYLES`), labelled in
    the legend outside the axes."""
    models, shortcuts, metric = data["models"], data["shortcuts"], data["metric"]
    if not models:
        raise PlotUnavailable("no model with a test metric")
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(9.0, 0.9 + 0.45 * len(models)))
    for i, m in enumerate(reversed(models)):
        colour = LEVEL_COLOURS.get(str(m["level"]), "0.4")
        if m["lo"] is not None and m["hi"] is not None:
            ax.plot([m["lo"], m["hi"]], [i, i], color=colour, lw=2.5, solid_capstyle="butt")
        ax.plot(m["value"], i, "o", color=colour, ms=8)
        ax.text(m["value"], i + 0.22, f"{m['value']:.3f}", ha="center", fontsize=9)
    for k, (name, v) in enumerate(sorted(shortcuts.items(), key=lambda kv: -kv[1])):
        colour, dash = BASELINE_STYLES[k % len(BASELINE_STYLES)]
        ax.axvline(v, color=colour, ls=dash, lw=1.4, label=f"{name} {v:.3f}")
    ax.set_yticks(np.arange(len(models)), [m["name"] for m in reversed(models)])
    ax.set_ylim(-0.6, len(models) - 0.3)
    ax.set_xlabel(f"test {metric} (dot) with 95% interval; lines: shortcut baselines")
    if shortcuts:
        ax.legend(fontsize=9, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    save_png(fig, path)


__all__ = ["chart_data", "plot_summary_chart"]
