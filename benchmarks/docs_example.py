"""The documentation's example numbers, from one run of ``examples/amp_tiny``.

Usage (``make docs-example`` runs the first form from the repository root)::

    python benchmarks/docs_example.py [--cores 2] [--workdir .] [--snakefile Snakefile]
                                      [--no-screenshot]

Runs the README's five steps on ``examples/amp_tiny`` (Snakemake with the example's config,
then ``seqnn predict`` on ``new.fa`` with the nearest-identity check), reads the results and
writes, from them alone:

* ``docs/example_numbers.json``: every number the documentation quotes from the example
  (verdicts, test MCC with intervals, split sizes, the prediction table, the run's jobs and
  wall time from Snakemake's log);
* the marked blocks ``<!-- example:NAME:start -->`` ... ``<!-- example:NAME:end -->`` of
  ``README.md``, ``docs/index.md`` and ``docs/getting-started.md``, rendered from that JSON
  by :func:`render_blocks`;
* ``docs/report.png``: a headless-Chromium screenshot of the top of ``report.html``
  (its SHA-256 goes into the JSON).

Snakemake does nothing when ``--workdir``'s ``results/amp_tiny`` is already complete, so
running the script again on the same results only re-renders. ``tests/test_docs_numbers.py``
checks, without running anything, that every marked block equals :func:`render_blocks` of
the committed JSON and that ``docs/report.png`` is the screenshot the JSON names.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import hashlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = "examples/amp_tiny"
DATASET = "amp_tiny"
JSON_PATH = REPO / "docs" / "example_numbers.json"
PNG_PATH = REPO / "docs" / "report.png"
#: the files holding marked blocks, and where each finds docs/report.png from itself
TARGETS = {"README.md": "docs/report.png", "docs/index.md": "report.png",
           "docs/getting-started.md": "report.png"}
#: the blocks each target holds (a target may hold fewer than all)
BLOCKS = {"README.md": ("verdict", "run", "report", "predict"),
          "docs/index.md": ("verdict",),
          "docs/getting-started.md": ("run", "report", "predict")}
LEVEL_ORDER = {"pass": 0, "caution": 1, "fail": 2}
PREDICT_COLUMNS = ("id", "length", "predicted", "p_nonAMP", "p_AMP", "nearest_identity", "flags")
_TIME = re.compile(r"^\[(\w{3} \w{3} +\d+ \d\d:\d\d:\d\d \d{4})\]$")


def _r(x: float | None) -> float | None:
    return None if x is None else round(float(x), 3)


_DONE = re.compile(r"^(\d+) of \1 steps \(100%\) done$", re.MULTILINE)


def _snakemake_run(workdir: Path) -> tuple[int | None, float | None, str | None]:
    """Jobs, wall seconds and start date of the newest Snakemake log that finished every
    step (a later run that found nothing to do writes no such log)."""
    logs = sorted((workdir / ".snakemake" / "log").glob("*.snakemake.log"), reverse=True)
    for log in logs:
        text = log.read_text(errors="replace")
        done = _DONE.search(text)
        if done is None:
            continue
        stamps = [dt.datetime.strptime(m.group(1), "%a %b %d %H:%M:%S %Y")
                  for line in text.splitlines() if (m := _TIME.match(line.strip()))]
        if stamps:
            return (int(done.group(1)), (stamps[-1] - stamps[0]).total_seconds(),
                    stamps[0].date().isoformat())
    return None, None, None


def collect(workdir: Path) -> dict[str, Any]:
    """Every number the docs quote, read from ``workdir``'s ``results/amp_tiny``."""
    res = workdir / "results" / DATASET
    checks = json.loads((res / "checks.json").read_text())
    models = {}
    for name, m in checks["models"].items():
        why = m["why"]
        models[name] = {
            "level": m["level"],
            "why": why,
            "reasons": why.split(": ", 1)[1] if ": " in why else why,
            "verdict": m["verdict"],
            "test_mcc": _r(m["test_metric"]),
            "ci": [_r(v) for v in m["ci"]] if m.get("ci") else None,
            "best_shortcut": m["best_shortcut"]["label"],
            "best_shortcut_mcc": _r(m["best_shortcut"]["test_metric"]),
        }
    headline = min(models, key=lambda n: (LEVEL_ORDER.get(models[n]["level"], 3),
                                          -(models[n]["test_mcc"] or 0.0), n))
    with open(res / "new.tsv", newline="") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    predictions = []
    for row in rows:
        out: dict[str, Any] = {}
        for col in PREDICT_COLUMNS:
            val = row.get(col, "")
            if col.startswith("p_") or col == "nearest_identity":
                val = _r(float(val)) if val != "" else None
            elif col == "length":
                val = int(val)
            out[col] = val
        predictions.append(out)
    jobs, wall, date = _snakemake_run(workdir)
    return {
        "generated_by": "make docs-example (benchmarks/docs_example.py)",
        "config": f"{EXAMPLE}/config.yaml",
        "run_date": date,
        "machine": f"{os.cpu_count()}-core {platform.machine()}",
        "jobs": jobs,
        "wall_s": None if wall is None else round(wall),
        "split_sizes": {k: checks["split_sizes"][k] for k in ("train", "valid", "test")},
        "headline_model": headline,
        "models": models,
        "predictions": predictions,
        "report_png_sha256": None,
    }


def _minutes(seconds: float) -> str:
    m, s = divmod(int(round(seconds)), 60)
    return f"{m} min {s} s" if m else f"{s} s"


def render_blocks(data: dict[str, Any], png: str = "docs/report.png") -> dict[str, str]:
    """The text of every marked block, from the JSON alone (``png``: the image's path)."""
    models = data["models"]
    head = models[data["headline_model"]]
    levels = ", ".join(f"{n}: {m['level']}" for n, m in models.items())
    verdict = (
        f"> **{data['headline_model']}** {head['why']} — {head['verdict']}\n\n"
        f"![The summary of report.html for {EXAMPLE}: every model's test MCC with its 95 % "
        f"interval against the shortcut baselines, and the verdicts ({levels})]({png})\n")
    wall = (f"{_minutes(data['wall_s'])} on a {data['machine']} machine"
            if data["wall_s"] is not None else f"on a {data['machine']} machine")
    run = (f"{data['jobs']} jobs: ingest, split, leakage audit, encoding, two models, their "
           f"controls, baselines, checks and the report ({wall} when `make docs-example` "
           f"last ran it, on {data['run_date']}).\n")
    sizes = data["split_sizes"]
    lines = ["| model | verdict | test MCC [95% CI] | best shortcut (test MCC) | why |",
             "|---|---|---|---|---|"]
    for name, m in models.items():
        ci = f" [{m['ci'][0]:.3f}, {m['ci'][1]:.3f}]" if m["ci"] else ""
        lines.append(f"| `{name}` | **{m['level']}** | {m['test_mcc']:.3f}{ci} | "
                     f"{m['best_shortcut']} ({m['best_shortcut_mcc']:.3f}) | {m['reasons']} |")
    report = ("\n".join(lines) + "\n\n"
              f"The split: {sizes['train']} training, {sizes['valid']} validation and "
              f"{sizes['test']} test peptides.\n")
    cols = list(PREDICT_COLUMNS)
    plines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for p in data["predictions"]:
        cells = []
        for c in cols:
            v = p[c]
            cells.append("" if v is None else f"{v:.3f}" if isinstance(v, float) else str(v))
        plines.append("| " + " | ".join(cells) + " |")
    predict = "\n".join(plines) + "\n"
    blocks = {"verdict": verdict, "run": run, "report": report, "predict": predict}
    # a blank line after the start marker and before the end marker: Markdown then reads
    # a table in a block as a table, also inside a list item
    return {name: f"\n{body}\n" for name, body in blocks.items()}


def block_pattern(name: str) -> re.Pattern[str]:
    """The marked block ``name``: group 1 the markers' indent, group 2 the text between."""
    return re.compile(rf"^([ \t]*)<!-- example:{name}:start -->\n"
                      rf"(.*?)^\1<!-- example:{name}:end -->", re.DOTALL | re.MULTILINE)


def _indent(text: str, prefix: str) -> str:
    return "".join(prefix + line if line.strip() else line
                   for line in text.splitlines(keepends=True))


def _dedent(text: str, prefix: str) -> str:
    return "".join(line[len(prefix):] if line.startswith(prefix) else line
                   for line in text.splitlines(keepends=True))


def marked_blocks(text: str) -> dict[str, str]:
    """Every marked block of ``text`` by name, without the markers' indent."""
    names = re.findall(r"<!-- example:([a-z]+):start -->", text)
    return {n: _dedent(m.group(2), m.group(1))
            for n in names if (m := block_pattern(n).search(text))}


def write_blocks(path: Path, blocks: dict[str, str]) -> None:
    """Replace the marked blocks of ``path`` that ``blocks`` names (indented like the markers,
    so a block inside a list item stays in it)."""
    text = path.read_text()
    for name, body in blocks.items():
        pat = block_pattern(name)
        if not pat.search(text):
            raise SystemExit(f"{path}: no block <!-- example:{name}:start -->")
        text = pat.sub(lambda m, n=name, b=body: f"{m.group(1)}<!-- example:{n}:start -->\n"
                       f"{_indent(b, m.group(1))}{m.group(1)}<!-- example:{n}:end -->", text)
    path.write_text(text)


def screenshot(report: Path, out: Path) -> None:
    """The top of ``report`` (1000 x 1100 px) as a PNG, by headless Chromium."""
    exe = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome")
                if shutil.which(n)), None)
    if exe is None:
        raise SystemExit("docs_example: no chromium on PATH for docs/report.png "
                         "(install it or pass --no-screenshot)")
    with tempfile.TemporaryDirectory() as tmp:
        shot = Path(tmp) / "report.png"
        subprocess.run([exe, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                        f"--user-data-dir={tmp}/profile", "--window-size=1000,1100",
                        f"--screenshot={shot}", report.resolve().as_uri()],
                       check=True, capture_output=True, timeout=120)
        shutil.copyfile(shot, out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--workdir", type=Path, default=REPO,
                    help="folder to run in (results/ and .snakemake/ go there); it needs "
                         f"{EXAMPLE}/ (the config's paths are relative)")
    ap.add_argument("--snakefile", type=Path, default=REPO / "Snakefile")
    ap.add_argument("--no-screenshot", action="store_true",
                    help="keep docs/report.png and its hash as they are")
    args = ap.parse_args(argv)
    wd = args.workdir.resolve()
    env = dict(os.environ)
    subprocess.run([sys.executable, "-m", "snakemake", "-s", str(args.snakefile.resolve()),
                    "--cores", str(args.cores), "--configfile", f"{EXAMPLE}/config.yaml"],
                   cwd=wd, check=True, env=env)
    res = wd / "results" / DATASET
    subprocess.run([sys.executable, "-m", "seqnn", "predict", str(res / "models" / "rnn"),
                    f"{EXAMPLE}/new.fa", "-o", str(res / "new.tsv")],
                   cwd=wd, check=True, env=env)
    data = collect(wd)
    old = json.loads(JSON_PATH.read_text()) if JSON_PATH.exists() else {}
    if args.no_screenshot:
        data["report_png_sha256"] = old.get("report_png_sha256")
    else:
        screenshot(res / "report.html", PNG_PATH)
        data["report_png_sha256"] = hashlib.sha256(PNG_PATH.read_bytes()).hexdigest()
    JSON_PATH.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    for target, png in TARGETS.items():
        blocks = render_blocks(data, png)
        write_blocks(REPO / target, {n: blocks[n] for n in BLOCKS[target]})
    print(f"docs_example: {JSON_PATH.relative_to(REPO)}, {PNG_PATH.relative_to(REPO)} and the "
          f"marked blocks of {', '.join(TARGETS)} written")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
