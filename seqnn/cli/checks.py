"""``seqnn baselines`` and ``seqnn check``: the honesty checks (:mod:`seqnn.checks`)."""

from __future__ import annotations

import json

import click

from .options import check_outputs


@click.command()
@click.argument("sequences", type=click.Path(dir_okay=False))
@click.argument("splits", type=click.Path(dir_okay=False))
@click.option("--task", required=True,
              type=click.Choice(["binary", "multiclass", "regression", "unsupervised"]))
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--classes", help="Class order, comma-separated (binary: the second is positive).")
@click.option("-o", "--out", required=True, type=click.Path(dir_okay=False))
def baselines(sequences: str, splits: str, task: str, seed: int, classes: str | None,
              out: str) -> None:
    """Shortcut baselines: majority, length, amino-acid and dipeptide composition."""
    from ..checks.baselines import baselines_from_files

    check_outputs([out], [sequences, splits])
    baselines_from_files(sequences, splits, task, seed, out,
                         classes.split(",") if classes else None)


@click.command()
@click.argument("dataset_dir", type=click.Path(file_okay=False, exists=True))
@click.option("--models", required=True, help="Comma-separated model names.")
@click.option("--margin", type=float, default=0.05, show_default=True)
@click.option("--bootstrap", type=int, default=1000, show_default=True)
@click.option("-o", "--out", required=True, type=click.Path(dir_okay=False))
def check(dataset_dir: str, models: str, margin: float, bootstrap: int, out: str) -> None:
    """The honesty checks and a verdict per model (checks.json)."""
    from ..checks.verdict import CheckSettings, run_checks
    from ..data.files import write_text

    result = run_checks(dataset_dir, [m for m in models.split(",") if m],
                        CheckSettings(margin=margin, bootstrap=bootstrap))
    write_text(json.dumps(result, indent=2), out)
    for name, entry in result["models"].items():
        click.echo(f"{name}: {entry['verdict']}", err=True)
        for line in entry["warnings"]:
            click.echo(f"  WARNING {line}", err=True)
