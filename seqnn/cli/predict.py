"""``seqnn predict`` and ``seqnn embed``: a trained model on new sequences.

Only click is imported here; torch, pandas and the model code are imported inside the
commands, so ``seqnn --help`` stays fast. The work is done by :mod:`seqnn.inference`.
"""

from __future__ import annotations

import click

from ..config_bounds import MAX_BATCH_PREDICT, MAX_CHUNK
from .options import DEVICE, DEVICE_HELP, THREADS, check_outputs, max_record_option


def _common(f):  # noqa: ANN001, ANN202 - click decorator stack
    """Options shared by ``predict`` and ``embed``."""
    f = max_record_option(f)
    f = _common_device(f)
    f = click.argument("input_path", metavar="INPUT",
                       type=click.Path(dir_okay=False, allow_dash=True))(f)
    return click.argument("model_dir", type=click.Path(file_okay=False))(f)


def _common_device(f):  # noqa: ANN001, ANN202 - click decorator stack
    """The chunk, thread, device and batch options of ``predict``, ``embed``, ``explain``."""
    f = click.option("--chunk-size", type=click.IntRange(1, MAX_CHUNK), default=10_000,
                     show_default=True, help="Records read and predicted per chunk.")(f)
    f = click.option("--threads", type=THREADS, default=None,
                     help="CPU threads for torch (and MMseqs2 for nearest_identity) "
                          "[default: torch's choice].")(f)
    f = click.option("--device", type=DEVICE, default="auto", show_default=True,
                     help=DEVICE_HELP)(f)
    return click.option("--batch-size", type=click.IntRange(1, MAX_BATCH_PREDICT), default=256,
                        show_default=True,
                        help="Most records per batch (records run sorted by length; on CPU "
                             "a batch also holds at most 16,384 padded residues).")(f)


def _load(model_dir: str, device: str, batch_size: int, threads: int | None):  # noqa: ANN202
    """Set the thread count and load the predictor; an unavailable device is a usage error."""
    import torch

    from ..inference.predictor import load
    from ..runtime.device import limit_heap_growth, limit_primitive_cache, select_device

    limit_heap_growth()
    limit_primitive_cache()
    if threads:
        torch.set_num_threads(threads)
    try:
        select_device(device)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--device") from None
    return load(model_dir, device=device, batch_size=batch_size)


def _model_files(model_dir: str) -> list[str]:
    """The files of a model folder that predict and embed read (never to be overwritten)."""
    from pathlib import Path

    from ..layout import MODEL_META, TRAIN_SEQUENCES, WEIGHTS

    return [str(Path(model_dir) / name) for name in (MODEL_META, WEIGHTS, TRAIN_SEQUENCES)]


@click.command()
@_common
@click.option("-o", "--out", type=click.Path(dir_okay=False), default=None,
              help="Output TSV (default, or -: standard output).")
@click.option("--nearest/--no-nearest", default=None,
              help="Add nearest_identity to the model's train_sequences.fa (MMseqs2) and flag "
                   "'extrapolating' below the model's identity_threshold [default: on when "
                   "the model folder has train_sequences.fa].")
@click.option("--coverage", type=click.FloatRange(0, 1, min_open=True, max_open=True),
              default=None, help="Add a conformal prediction_set (classification) or "
                                 "lower/upper interval (regression) at this coverage, e.g. 0.9.")
def predict(model_dir: str, input_path: str, batch_size: int, device: str, threads: int | None,
            chunk_size: int, max_record: int | None, out: str | None,
            nearest: bool | None, coverage: float | None) -> None:
    """Predict every sequence of a FASTA file (plain, gzip or - for stdin) with a trained model.

    Writes a TSV in input order: id, length, predicted, p_<class> per class (or
    reconstruction_accuracy for an autoencoder), nearest_identity, and flags (';'-separated:
    truncated, substituted:U->C, lowercase, stop_dropped, gaps_dropped, extrapolating). The
    input follows the model's recorded alphabet policy and max_len. The applicability check
    (nearest_identity, extrapolating) runs by default when the model folder keeps its
    training sequences; --no-nearest skips it. Where `seqnn check` stored reliability.json
    in the model folder, the check adds expected_<metric> (the test metric of the query's
    identity bin, or of all test sequences where that bin had none) and expected_from (bin
    or all), and --coverage a conformal prediction set or interval calibrated on the
    validation split (per identity bin). Numbers have 4 significant digits;
    seqnn.load(MODEL_DIR).predict(...) returns the same table at full precision.
    """
    import os
    import sys

    from ..inference.files import predict_file

    out = None if out == "-" else out
    check_outputs([out], [input_path, *_model_files(model_dir)], folders=[model_dir])
    predictor = _load(model_dir, device, batch_size, threads)
    near, skipped = predictor.applicability(nearest, threads)
    reliability = predictor.reliability(coverage)
    try:
        n = predict_file(predictor, input_path, out, chunk_size=chunk_size, nearest=near,
                         progress=True, max_record=max_record, reliability=reliability)
    except BrokenPipeError:  # e.g. `seqnn predict ... | head`: stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(141)
    if skipped:
        click.echo(f"seqnn predict: {skipped}", err=True)
    if out is not None:
        click.echo(f"predicted {n} sequences -> {out}", err=True)


@click.command()
@_common
@click.option("-o", "--out", type=click.Path(dir_okay=False, allow_dash=True), default="-",
              show_default=True,
              help="Output .npy ((N, D) float32, ids in OUT.ids.txt) or .tsv (id, dim_0..); "
                   "- = TSV on standard output.")
def embed(model_dir: str, input_path: str, batch_size: int, device: str, threads: int | None,
          chunk_size: int, max_record: int | None, out: str) -> None:
    """Write the model's embedding of every sequence (an autoencoder's latent vectors).

    ``.npy`` output holds the (N, D) float32 array with the ids one per line in OUT.ids.txt;
    ``.tsv`` output has columns id, dim_0 .. dim_{D-1}. Rows follow the input order.
    """
    from ..inference.files import embed_file

    if out != "-" and not out.lower().endswith((".npy", ".tsv")):
        raise click.BadParameter("must end in .npy or .tsv, or be - (standard output)",
                                 param_hint="-o/--out")
    sidecar = f"{out}.ids.txt" if out.lower().endswith(".npy") else None
    check_outputs([out, sidecar], [input_path, *_model_files(model_dir)], folders=[model_dir])
    predictor = _load(model_dir, device, batch_size, threads)
    n, dim = embed_file(predictor, input_path, out, chunk_size=chunk_size, progress=True,
                        max_record=max_record)
    if out != "-":
        click.echo(f"embedded {n} sequences ({dim} dimensions) -> {out}", err=True)


__all__ = ["predict", "embed"]
