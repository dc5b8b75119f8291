"""The ``seqnn`` command. Each subcommand is a thin call into the library.

Heavy modules (torch, matplotlib, pandas) are imported inside the subcommands that need
them, so ``seqnn --help`` is instant. A user mistake prints one line to stderr and exits 2.
"""

from __future__ import annotations

import json
import sys

import click

from . import __version__

#: exception class names that mean "the user gave us something wrong" (exit 2, one line)
USER_ERRORS = {
    "SeqnnInputError", "ConfigError", "PolicyError", "CheckpointError", "MMseqsNotFound",
    "TrainingError", "UsageError",
}


class SeqnnGroup(click.Group):
    """A click group that turns user errors into one line on stderr and exit code 2."""

    def invoke(self, ctx: click.Context) -> object:
        """Run the subcommand; report user errors without a traceback."""
        try:
            return super().invoke(ctx)
        except click.exceptions.Exit:
            raise
        except click.ClickException:
            raise
        except KeyboardInterrupt:
            click.echo("seqnn: interrupted", err=True)
            sys.exit(130)
        except Exception as exc:  # noqa: BLE001 - filtered by class name below
            if type(exc).__name__ in USER_ERRORS or any(
                c.__name__ in USER_ERRORS for c in type(exc).__mro__
            ):
                click.echo(f"seqnn: error: {exc}", err=True)
                sys.exit(2)
            raise


@click.group(cls=SeqnnGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="seqnn")
def main() -> None:
    """seqnn: protein FASTA to honestly evaluated neural networks."""


def _policy_option(f):  # noqa: ANN001, ANN202
    f = click.option("--drop-gaps", is_flag=True, help="Remove gap characters (- and .).")(f)
    return click.option(
        "--policy", type=click.Choice(["map", "strict"]), default="map", show_default=True,
        help="Alphabet policy for non-standard residues (see README).",
    )(f)


@main.command()
@click.argument("fasta", type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--labels", "labels", type=click.Path(dir_okay=False), help="TSV/CSV of id,label.")
@click.option("--id-column", default="id", show_default=True)
@click.option("--label-column", default="label", show_default=True)
@click.option("--header-field", help="Read labels from a key=value header field (e.g. TARGET).")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@_policy_option
def inspect(fasta: str, labels: str | None, id_column: str, label_column: str,
            header_field: str | None, as_json: bool, policy: str, drop_gaps: bool) -> None:
    """Summarise a FASTA file: records, lengths, residues, duplicates, label balance."""
    from .inspect import inspect_fasta, render_summary

    summary = inspect_fasta(fasta, policy=policy, drop_gaps=drop_gaps, labels=labels,
                            id_column=id_column, label_column=label_column,
                            header_field=header_field)
    click.echo(json.dumps(summary, indent=2) if as_json else render_summary(summary))


@main.command()
@click.argument("fasta", type=click.Path(dir_okay=False, allow_dash=True))
@click.option("-o", "--out", required=True, type=click.Path(dir_okay=False),
              help="Output .npz (ragged tokens, offsets, ids).")
@click.option("--max-len", type=int, default=None, help="Refuse sequences longer than this.")
@_policy_option
def encode(fasta: str, out: str, max_len: int | None, policy: str, drop_gaps: bool) -> None:
    """Tokenise a FASTA file into seqnn's ragged .npz format."""
    from .alphabet import Substitutions
    from .encode import encode_table, save_encoded
    from .io import SeqnnInputError, read_fasta

    subs = Substitutions()
    records = read_fasta(fasta, policy=policy, drop_gaps=drop_gaps, subs=subs)
    if max_len is not None:
        for r in records:
            if len(r.sequence) > max_len:
                raise SeqnnInputError(fasta, f"length {len(r.sequence)} > --max-len {max_len}",
                                      r.id)
    ds = encode_table([r.id for r in records], [r.sequence for r in records])
    save_encoded(ds, out)
    click.echo(f"encoded {len(ds)} sequences, {len(ds.tokens)} residues -> {out}; "
               f"substitutions: {subs.summary()}", err=True)


@main.command()
@click.option("--config", "config_path", type=click.Path(dir_okay=False),
              help="Workflow config YAML (with --dataset).")
@click.option("--dataset", help="Dataset name in the config.")
@click.option("--spec", help="The dataset block as JSON (what the workflow passes).")
@click.option("--name", default="dataset", show_default=True, help="Dataset name with --spec.")
@click.option("-o", "--out", required=True, type=click.Path(dir_okay=False),
              help="sequences.tsv to write.")
@click.option("--report", "report_path", type=click.Path(dir_okay=False),
              help="Also write the ingest report (JSON).")
def ingest(config_path: str | None, dataset: str | None, spec: str | None, name: str,
           out: str, report_path: str | None) -> None:
    """Read and validate a dataset's inputs into one sequences table."""
    from .config import ConfigError, dataset_from_dict, load_workflow, parse_json_arg
    from .ingest import load_dataset
    from .io import write_table, write_text

    if spec:
        ds = dataset_from_dict(name, parse_json_arg(spec, "--spec"))
    elif config_path and dataset:
        wf = load_workflow(config_path)
        if dataset not in wf.datasets:
            raise ConfigError(f"{config_path}: no dataset {dataset!r}; "
                              f"known: {', '.join(wf.datasets)}")
        ds = wf.datasets[dataset]
    else:
        raise click.UsageError("give --spec JSON, or --config FILE with --dataset NAME")
    df, report = load_dataset(ds)
    write_table(df, out)
    if report_path:
        write_text(json.dumps(report.as_dict(), indent=2), report_path)
    click.echo(f"{ds.name}: {len(df)} sequences from {len(ds.inputs)} input(s); "
               f"substitutions: {report.substitutions.summary()}; "
               f"duplicate groups: {report.duplicate_groups} "
               f"(dropped {report.duplicate_rows_dropped} rows)", err=True)


if __name__ == "__main__":  # pragma: no cover
    main()

