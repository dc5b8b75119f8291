"""``seqnn inspect``, ``encode``, ``ingest`` and ``prepare``: data in (:mod:`seqnn.data`)."""

from __future__ import annotations

import json

import click

from ..config_bounds import MAX_LEN_LIMIT
from .options import check_outputs, max_record_option, policy_option


@click.command()
@click.argument("fasta", nargs=-1, required=True, type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--labels", "labels", type=click.Path(dir_okay=False), help="TSV/CSV of id,label.")
@click.option("--id-column", default="id", show_default=True)
@click.option("--label-column", default="label", show_default=True)
@click.option("--header-field", help="Read labels from a key=value header field (e.g. TARGET).")
@click.option("--header-regex", help="Read labels with this regular expression, searched in the "
              "header line without '>' (id included); group 1 if it has one, else the match. "
              "As a dataset's header_regex.")
@click.option("--classes", help="Class names, comma-separated (as a dataset's classes): count "
              "the labels outside them.")
@click.option("--label-separator", help="Labels are multi-label sets split by this (e.g. ';'): "
              "count proteins per label and label sets.")
@click.option("--split-field", help="Count the given split of a key=value header field (e.g. SET).")
@click.option("--valid-field", default="VALIDATION", show_default=True,
              help="With --split-field: a true field moves a train record to valid ('' = off).")
@click.option("--json", "as_json", is_flag=True,
              help="Print the summary as JSON (a list of summaries for several files).")
@click.option("-o", "--out", default="-", show_default=True, type=click.Path(dir_okay=False),
              help="Write the summary to this file (- = standard output).")
@policy_option
@max_record_option
def inspect(fasta: tuple[str, ...], labels: str | None, id_column: str, label_column: str,
            header_field: str | None, header_regex: str | None, classes: str | None,
            label_separator: str | None, split_field: str | None,
            valid_field: str, as_json: bool, out: str, policy: str,
            drop_gaps: bool, max_record: int | None) -> None:
    """Summarise FASTA files, each on its own: records, lengths, residues, duplicates,
    label balance and the given split."""
    from ..data.files import write_text
    from ..data.inspect import inspect_fasta, render_summary

    check_outputs([out], [*fasta, labels])
    summaries = [inspect_fasta(f, policy=policy, drop_gaps=drop_gaps, labels=labels,
                               id_column=id_column, label_column=label_column,
                               header_field=header_field, max_record=max_record,
                               label_separator=label_separator,
                               split_field=split_field, valid_field=valid_field or None,
                               header_regex=header_regex, classes=tuple(
                                   c.strip() for c in (classes or "").split(",") if c.strip()))
                 for f in fasta]
    if as_json:
        text = json.dumps(summaries[0] if len(summaries) == 1 else summaries, indent=2)
    else:
        text = "\n\n".join(render_summary(s) for s in summaries)
    if out == "-":
        click.echo(text)
    else:
        write_text(text + "\n", out)



@click.command()
@click.argument("source", type=click.Path(dir_okay=False, allow_dash=True))
@click.option("-o", "--out", required=True, type=click.Path(dir_okay=False),
              help="Output .npz (ragged tokens, offsets, ids[, labels]).")
@click.option("--task", type=click.Choice(["binary", "multiclass", "multilabel", "regression",
                                           "unsupervised"]),
              default=None, help="With a sequences table: encode its labels for this task.")
@click.option("--max-len", type=click.IntRange(1, MAX_LEN_LIMIT), default=None,
              help="Refuse sequences longer than this.")
@click.option("--classes", help="Class order, comma-separated (binary: the second is positive).")
@click.option("--label-separator", default=";", show_default=True,
              help="multilabel: joins predicted label sets in `seqnn predict` output (the "
              "table's label sets use ';', as in sequences.tsv).")
@policy_option
@max_record_option
def encode(source: str, out: str, task: str | None, max_len: int | None, classes: str | None,
           label_separator: str, policy: str, drop_gaps: bool, max_record: int | None) -> None:
    """Tokenise a FASTA file (or a sequences.tsv table) into seqnn's ragged .npz format."""
    from ..data.alphabet import Substitutions
    from ..data.streaming import encode_stream, iter_fasta_clean, iter_table
    from ..data.tables import check_labels

    check_outputs([out], [source])
    subs = Substitutions()
    supervised = task not in (None, "unsupervised")
    if source.endswith((".tsv", ".csv")):
        required = ["id", "sequence", *(["label"] if supervised else [])]
        chunks = ((df["id"].tolist(), df["sequence"].tolist(),
                   check_labels(df, task, source, count_classes=False)["label"].tolist()
                   if supervised else None) for df in iter_table(source, required))
    else:
        if supervised:
            from ..errors import SeqnnInputError

            raise SeqnnInputError(source, f"--task {task} needs labels: give a sequences table "
                                  "(id, sequence, label), not a FASTA")
        chunks = ((ids, seqs, None) for ids, seqs in iter_fasta_clean(
            source, policy=policy, drop_gaps=drop_gaps, subs=subs, max_record=max_record))
    n, residues = encode_stream(chunks, out, task or "unsupervised",
                                class_names=classes.split(",") if classes else None,
                                source=source, max_len=max_len,
                                label_separator=label_separator)
    click.echo(f"encoded {n} sequences, {residues} residues -> {out}; "
               f"substitutions: {subs.summary()}", err=True)


@click.command()
@click.option("--config", "config_path", type=click.Path(dir_okay=False),
              help="Workflow config YAML (with --dataset).")
@click.option("--dataset", help="Dataset name in the config.")
@click.option("--spec", help="The dataset block as JSON (what the workflow passes).")
@click.option("--name", default="dataset", show_default=True, help="Dataset name with --spec.")
@click.option("-o", "--out", required=True, type=click.Path(dir_okay=False),
              help="sequences.tsv to write.")
@click.option("--report", "report_path", type=click.Path(dir_okay=False),
              help="Also write the ingest report (JSON).")
@max_record_option
def ingest(config_path: str | None, dataset: str | None, spec: str | None, name: str,
           out: str, report_path: str | None, max_record: int | None) -> None:
    """Read and validate a dataset's inputs into one sequences table."""
    from ..config import dataset_from_dict, load_workflow, parse_json_arg
    from ..data.files import write_text
    from ..data.ingest import write_dataset
    from ..errors import ConfigError

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
    check_outputs([out, report_path], [config_path, *(
        p for i in ds.inputs for p in (i.fasta, i.table, i.labels))])
    rows, report = write_dataset(ds, out, max_record=max_record)
    if report_path:
        write_text(json.dumps(report.as_dict(), indent=2), report_path)
    click.echo(f"{ds.name}: {rows} sequences from {len(ds.inputs)} input(s); "
               f"substitutions: {report.substitutions.summary()}; "
               f"{report.duplicate_groups} group(s) of identical sequences, "
               f"{report.cross_split_groups} across splits, {report.conflicting_groups} with "
               f"conflicting labels (dropped {report.duplicate_rows_dropped} rows)", err=True)
    dropped = report.labels.as_dict() if report.labels is not None else {}
    if "dropped_missing_labels" in dropped:
        click.echo(f"dropped {dropped['dropped_missing_labels']} record(s) without a label "
                   "(missing_labels: drop)", err=True)
    if "dropped_unknown_labels" in dropped:
        from ..data.labelfilter import describe_counts

        click.echo(f"dropped {dropped['dropped_unknown_label_records']} record(s) with a label "
                   f"not in classes (unknown_labels: drop): "
                   f"{describe_counts(dropped['dropped_unknown_labels']) or 'none'}", err=True)
    if report.label_sets:
        click.echo("labels: " + ", ".join(f"{k} {v}" for k, v in report.label_sets["labels"]
                                          .items()), err=True)




@click.command()
@click.argument("name", type=click.Choice(["scl2205"]))
@click.option("-o", "--out", required=True, type=click.Path(dir_okay=False))
@click.option("--from", "folder", type=click.Path(file_okay=False, exists=True),
              help="Read the package's data files from this folder instead.")
def prepare(name: str, out: str, folder: str | None) -> None:
    """Turn a published benchmark package (scl2205) into a seqnn input table."""
    from ..data.prepare import prepare as run

    table = run(name, out, folder)
    counts = table["split"].value_counts().to_dict()
    click.echo(f"{name}: {len(table)} rows ({counts}) -> {out}", err=True)
