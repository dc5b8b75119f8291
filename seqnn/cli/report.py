"""``seqnn evaluate``, ``report`` and ``report-index``: plots and pages (:mod:`seqnn.report`)."""

from __future__ import annotations

from pathlib import Path

import click


@click.command()
@click.argument("model_dir", type=click.Path(file_okay=False, exists=True))
@click.option("-o", "--out", required=True, type=click.Path(file_okay=False))
@click.option("--attributions/--no-attributions", default=True, show_default=True,
              help="Also summarise the test attributions (attributions.json) of a supervised "
                   "model whose dataset folder holds sequences.tsv and splits.tsv.")
def evaluate(model_dir: str, out: str, attributions: bool) -> None:
    """Plots for a trained model: learning curves, confusion, ROC/PR or scatter."""
    from ..report.plots import evaluate_model_dir

    for path in evaluate_model_dir(model_dir, out):
        click.echo(path, err=True)
    if attributions:
        import torch

        from ..inference.attribution_summary import write_summary

        torch.set_num_threads(1)
        made = write_summary(model_dir, out)
        if made is not None:
            click.echo(str(made), err=True)


@click.command()
@click.argument("dataset_dir", type=click.Path(file_okay=False, exists=True))
@click.option("-o", "--out", required=True, type=click.Path(dir_okay=False))
@click.option("--title", default=None)
def report(dataset_dir: str, out: str, title: str | None) -> None:
    """One self-contained HTML report for a dataset's results folder."""
    from ..report.page import build_report

    build_report(dataset_dir, out, title=title)


@click.command("report-index")
@click.argument("results_dir", type=click.Path(file_okay=False, exists=True))
@click.option("--datasets", required=True, help="Comma-separated dataset names.")
@click.option("-o", "--out", required=True, type=click.Path(dir_okay=False))
@click.option("--others/--no-others", default=True, show_default=True,
              help="Also list the other dataset folders under RESULTS_DIR that have a "
                   "report.html (e.g. from another config's run), after the given ones.")
def report_index(results_dir: str, datasets: str, out: str, others: bool) -> None:
    """A page putting several datasets (e.g. published vs cluster split) side by side."""
    from ..report.page import build_index

    names = [d for d in datasets.split(",") if d]
    if others:
        found = sorted(p.parent.name for p in Path(results_dir).glob("*/report.html"))
        names += [n for n in found if n not in names]
    build_index(results_dir, names, out)
