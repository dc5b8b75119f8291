"""``seqnn evaluate``, ``report`` and ``report-index``: plots and pages (:mod:`seqnn.report`)."""

from __future__ import annotations

from pathlib import Path

import click

from .options import check_outputs


def _results_folder(folder: str | Path) -> None:
    """Refuse a folder that is not a dataset's results folder (no ``sequences.tsv``, the
    first file the workflow writes there) with one :class:`SeqnnInputError` line."""
    from .. import layout
    from ..errors import SeqnnInputError

    if not (Path(folder) / layout.SEQUENCES).is_file():
        raise SeqnnInputError(folder, f"not a seqnn results folder (no {layout.SEQUENCES})")


@click.command()
@click.argument("model_dir", type=click.Path(file_okay=False, exists=True))
@click.option("-o", "--out", required=True, type=click.Path(file_okay=False))
@click.option("--attributions/--no-attributions", default=True, show_default=True,
              help="Also summarise the test attributions (attributions.json) of a supervised "
                   "model whose dataset folder holds sequences.tsv and splits.tsv.")
def evaluate(model_dir: str, out: str, attributions: bool) -> None:
    """Plots for a trained model: learning curves, confusion, ROC/PR or scatter."""
    from .. import layout
    from ..errors import CheckpointError
    from ..report.plots import evaluate_model_dir

    if not (Path(model_dir) / layout.MODEL_META).is_file():
        raise CheckpointError(f"{Path(model_dir) / layout.MODEL_META}: missing (not a seqnn "
                              "model directory)")

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
    from ..layout import REPORT_HTML
    from ..report.page import build_report

    check_outputs([out], [], folders=[dataset_dir], own=(REPORT_HTML,))
    _results_folder(dataset_dir)
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
    from ..layout import INDEX_HTML
    from ..report.page import build_index

    check_outputs([out], [], folders=[results_dir], own=(INDEX_HTML,))
    names = [d for d in datasets.split(",") if d]
    for name in names:
        _results_folder(Path(results_dir) / name)
    if others:
        found = sorted(p.parent.name for p in Path(results_dir).glob("*/report.html"))
        names += [n for n in found if n not in names]
    build_index(results_dir, names, out)
