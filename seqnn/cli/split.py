"""``seqnn split`` and ``seqnn audit``: the split and its leakage audit (:mod:`seqnn.split`)."""

from __future__ import annotations

import click

from ..config_bounds import MAX_FOLDS, MAX_MUTATIONS
from .options import SEED, THREADS, check_outputs, spec_arg


def _fractions(text: str | None) -> list[float] | None:
    """``--fractions 0.8,0.1,0.1`` as numbers; anything else is one :class:`ConfigError`."""
    if not text:
        return None
    from ..errors import ConfigError

    try:
        return [float(x) for x in text.split(",")]
    except ValueError:
        raise ConfigError(f"--fractions: three comma-separated numbers expected (train,valid,"
                          f"test, e.g. 0.8,0.1,0.1), got {text!r}") from None


@click.command()
@click.argument("sequences", type=click.Path(dir_okay=False))
@click.option("--spec", help='Split block as JSON, e.g. {"task": "binary", "method": "cluster"}.')
@click.option("--task", help="binary | multiclass | multilabel | regression (stratification).")
@click.option("--method", type=click.Choice(["cluster", "given", "random", "stratified",
                                             "mutations"]))
@click.option("--identity", type=float, help="MMseqs2 identity for clustering [0.3].")
@click.option("--coverage", type=float, help="MMseqs2 coverage for clustering [0.8].")
@click.option("--fractions", help="train,valid,test fractions [0.8,0.1,0.1].")
@click.option("--seed", type=SEED)
@click.option("--folds", type=click.IntRange(0, MAX_FOLDS),
              help="Also assign k cross-validation folds (whole clusters).")
@click.option("--max-train-mutations", type=click.IntRange(0, MAX_MUTATIONS),
              help="Method mutations: train on variants with <= k mutations, test on the rest.")
@click.option("--parent", help="Method mutations: reference record id or sequence [consensus].")
@click.option("--valid-fraction", type=float,
              help="Method given without valid records: share of train carved out [0.1].")
@click.option("--workdir", type=click.Path(file_okay=False), help="Folder for temporary files.")
@click.option("--threads", type=THREADS, default=1, show_default=True)
@click.option("-o", "--out", required=True, type=click.Path(dir_okay=False))
@click.option("--summary", "summary_path", type=click.Path(dir_okay=False))
def split(sequences: str, spec: str | None, task: str | None, method: str | None,
          identity: float | None, coverage: float | None, fractions: str | None,
          seed: int | None, folds: int | None, max_train_mutations: int | None,
          parent: str | None, valid_fraction: float | None, workdir: str | None, threads: int,
          out: str, summary_path: str | None) -> None:
    """Split a sequences table into train/valid/test (default: MMseqs2 clusters)."""
    from ..split.stage import split_from_options

    check_outputs([out, summary_path], [sequences])
    options = spec_arg(spec, "--spec")
    given = {"task": task, "method": method, "identity": identity, "coverage": coverage,
             "fractions": _fractions(fractions),
             "seed": seed, "folds": folds, "max_train_mutations": max_train_mutations,
             "parent": parent, "valid_fraction": valid_fraction}
    options.update({k: v for k, v in given.items() if v is not None})
    split_from_options(sequences, options, out, summary_path, workdir, threads,
                       log=lambda line: click.echo(f"seqnn split: {line}", err=True))


@click.command()
@click.argument("sequences", type=click.Path(dir_okay=False))
@click.argument("splits", type=click.Path(dir_okay=False))
@click.option("--spec", help="Split block as JSON (its identity/coverage are used).")
@click.option("--identity", type=float, help="Identity threshold for leakage [0.3].")
@click.option("--no-mmseqs", is_flag=True, help="Only the exact-duplicate checks.")
@click.option("--variants", type=click.Choice(["auto", "true", "false"]),
              help="Variant library (audit by mutational distance): detect, force, or never.")
@click.option("--workdir", type=click.Path(file_okay=False))
@click.option("--threads", type=THREADS, default=1, show_default=True)
@click.option("-o", "--out", required=True, type=click.Path(dir_okay=False), help="audit.json")
@click.option("--nearest", "nearest_path", type=click.Path(dir_okay=False),
              help="Write each held-out sequence's nearest training identity (TSV).")
def audit(sequences: str, splits: str, spec: str | None, identity: float | None,
          no_mmseqs: bool, variants: str | None, workdir: str | None, threads: int, out: str,
          nearest_path: str | None) -> None:
    """Leakage audit: duplicates and each held-out sequence's identity to train."""
    from ..split.stage import audit_from_options

    check_outputs([out, nearest_path], [sequences, splits])
    options = spec_arg(spec, "--spec")
    if identity is not None:
        options["identity"] = identity
    if variants is not None:
        options["variants"] = variants
    report = audit_from_options(sequences, splits, options, out, nearest_path, workdir,
                                threads, not no_mmseqs)
    for line in report.get("warnings", []):
        click.echo(f"seqnn audit: {line}", err=True)
