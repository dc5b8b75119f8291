"""``seqnn explain``: per-residue attributions and mutagenesis of a trained model's output.

Only click is imported here; the work is done by :mod:`seqnn.inference.explain` and
:mod:`seqnn.inference.explain_files`, the PNGs by :mod:`seqnn.report.explain_plots`.
"""

from __future__ import annotations

import click

from ..config_bounds import MAX_LEN_LIMIT
from .options import check_outputs, max_record_option
from .predict import _common_device, _load, _model_files

METHODS = ("gradxinput", "ig", "ism")


@click.command()
@click.argument("model_dir", type=click.Path(file_okay=False))
@click.argument("input_path", metavar="INPUT", type=click.Path(dir_okay=False, allow_dash=True))
@click.option("-o", "--out", type=click.Path(dir_okay=False, allow_dash=True), default="-",
              show_default=True,
              help="Output .tsv (long table) or .npz; - = TSV on standard output.")
@click.option("--method", type=click.Choice(METHODS), default="gradxinput", show_default=True,
              help="gradient x input, Integrated Gradients, or in-silico saturation "
                   "mutagenesis.")
@click.option("--target", default=None,
              help="Class to explain (a class name), or output index for regression "
                   "[default: the predicted class].")
@click.option("--steps", type=click.IntRange(min=1, max=1024), default=32, show_default=True,
              help="Integrated Gradients interpolation steps.")
@click.option("--ism-max-len", type=click.IntRange(1, MAX_LEN_LIMIT), default=1000,
              show_default=True,
              help="Mutagenesis window: longer records are scored window by window.")
@click.option("--ism-max-mutants", type=click.IntRange(min=1), default=1_000_000,
              show_default=True,
              help="ism refuses a record with more mutants (19 per residue, one forward pass "
                   "each) than this; raise it for very long proteins.")
@click.option("--plot", "plot_dir", type=click.Path(file_okay=False), default=None,
              help="Write one PNG per record into this new (or empty) folder.")
@_common_device
@max_record_option
def explain(model_dir: str, input_path: str, out: str, method: str, target: str | None,
            steps: int, ism_max_len: int, ism_max_mutants: int, plot_dir: str | None,
            batch_size: int, device: str, threads: int | None, chunk_size: int,
            max_record: int | None) -> None:
    """Explain a model's prediction of every sequence of a FASTA file, residue by residue.

    gradxinput and ig write id, position, residue, score, target (score > 0: the residue
    supports the target class); ism writes id, position, wt, mt, delta, target (the change
    of the target's logit when wt is replaced by mt). Scores are on the model's logit
    (binary, multiclass) or value (regression). Integrated Gradients starts from the
    average residue at every position (see seqnn.inference.explain).
    """
    from ..errors import SeqnnInputError
    from ..inference.explain import explainer_for
    from ..inference.explain_files import explain_file
    from ..report.explain_plots import PlotDir

    if out != "-" and not out.lower().endswith((".tsv", ".npz")):
        raise SeqnnInputError(out, "output must end in .tsv or .npz, or be - (standard output)")
    check_outputs([out], [input_path, *_model_files(model_dir)], folders=[model_dir])
    predictor = _load(model_dir, device, batch_size, threads)
    explainer = explainer_for(predictor)
    explainer.ism_max_mutants = ism_max_mutants
    explainer.target_index(target)
    cut = [0, 0]  # records cut, residues cut

    def seen(item) -> None:  # noqa: ANN001
        cut[0], cut[1] = cut[0] + (item.truncated > 0), cut[1] + item.truncated
        if plot_dir:
            plots.add(item)

    with PlotDir(plot_dir, method) as plots:
        n = explain_file(predictor, explainer, input_path, None if out == "-" else out,
                         method=method, target=target, steps=steps, ism_max_len=ism_max_len,
                         chunk_size=chunk_size, max_record=max_record, on_record=seen)
    if cut[0]:
        click.echo(f"seqnn explain: {cut[0]} of {n} records longer than the model's input "
                   f"({predictor.input_width} residues): {cut[1]} residues "
                   "cut, without a score (the .npz keeps 'truncated' per record)", err=True)
    if plots.note:
        click.echo(f"seqnn explain: {plots.note}", err=True)
    if out != "-":
        click.echo(f"explained {n} sequences ({method}) -> {out}", err=True)
    if plot_dir:
        click.echo(f"{n} plots -> {plot_dir}", err=True)


__all__ = ["explain"]
