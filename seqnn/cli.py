"""The ``seqnn`` command. Each subcommand is a thin call into the library.

Heavy modules (torch, matplotlib, pandas) are imported inside the subcommands that need
them, so ``seqnn --help`` is instant. A user mistake prints one line to stderr and exits 2.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

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
@click.argument("source", type=click.Path(dir_okay=False, allow_dash=True))
@click.option("-o", "--out", required=True, type=click.Path(dir_okay=False),
              help="Output .npz (ragged tokens, offsets, ids[, labels]).")
@click.option("--task", type=click.Choice(["binary", "multiclass", "regression", "unsupervised"]),
              default=None, help="With a sequences table: encode its labels for this task.")
@click.option("--max-len", type=int, default=None, help="Refuse sequences longer than this.")
@click.option("--classes", help="Class order, comma-separated (binary: the second is positive).")
@_policy_option
def encode(source: str, out: str, task: str | None, max_len: int | None, classes: str | None,
           policy: str, drop_gaps: bool) -> None:
    """Tokenise a FASTA file (or a sequences.tsv table) into seqnn's ragged .npz format."""
    from .alphabet import Substitutions
    from .encode import encode_table, save_encoded
    from .io import SeqnnInputError, read_fasta, read_table

    subs = Substitutions()
    if source.endswith((".tsv", ".csv")):
        table = read_table(source, ["id", "sequence"])
        ids, seqs = table["id"].tolist(), table["sequence"].tolist()
        labels = table["label"].tolist() if task not in (None, "unsupervised") else None
    else:
        records = read_fasta(source, policy=policy, drop_gaps=drop_gaps, subs=subs)
        ids, seqs, labels = [r.id for r in records], [r.sequence for r in records], None
    if max_len is not None:
        for rid, seq in zip(ids, seqs, strict=True):
            if len(seq) > max_len:
                raise SeqnnInputError(source, f"length {len(seq)} > --max-len {max_len}", rid)
    try:
        ds = encode_table(ids, seqs, labels, task or "unsupervised",
                          class_names=classes.split(",") if classes else None)
    except ValueError as exc:  # e.g. a label missing from --classes
        raise SeqnnInputError(source, str(exc)) from None
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
               f"{report.duplicate_groups} group(s) of identical sequences, "
               f"{report.cross_split_groups} across splits, {report.conflicting_groups} with "
               f"conflicting labels (dropped {report.duplicate_rows_dropped} rows)", err=True)





def _spec_arg(spec: str | None, what: str) -> dict:
    from .config import parse_json_arg

    return parse_json_arg(spec, what) if spec else {}


@main.command()
@click.argument("sequences", type=click.Path(dir_okay=False))
@click.option("--spec", help='Split block as JSON, e.g. {"task": "binary", "method": "cluster"}.')
@click.option("--task", help="binary | multiclass | regression (stratification).")
@click.option("--method", type=click.Choice(["cluster", "given", "random", "stratified"]))
@click.option("--identity", type=float, help="MMseqs2 identity for clustering [0.3].")
@click.option("--coverage", type=float, help="MMseqs2 coverage for clustering [0.8].")
@click.option("--fractions", help="train,valid,test fractions [0.8,0.1,0.1].")
@click.option("--seed", type=int)
@click.option("--folds", type=int, help="Also assign k cross-validation folds (whole clusters).")
@click.option("--workdir", type=click.Path(file_okay=False), help="Folder for temporary files.")
@click.option("--threads", type=int, default=1, show_default=True)
@click.option("-o", "--out", required=True, type=click.Path(dir_okay=False))
@click.option("--summary", "summary_path", type=click.Path(dir_okay=False))
def split(sequences: str, spec: str | None, task: str | None, method: str | None,
          identity: float | None, coverage: float | None, fractions: str | None,
          seed: int | None, folds: int | None, workdir: str | None, threads: int, out: str,
          summary_path: str | None) -> None:
    """Split a sequences table into train/valid/test (default: MMseqs2 clusters)."""
    from .stages import split_from_options

    options = _spec_arg(spec, "--spec")
    given = {"task": task, "method": method, "identity": identity, "coverage": coverage,
             "fractions": [float(x) for x in fractions.split(",")] if fractions else None,
             "seed": seed, "folds": folds}
    options.update({k: v for k, v in given.items() if v is not None})
    split_from_options(sequences, options, out, summary_path, workdir, threads)


@main.command()
@click.argument("sequences", type=click.Path(dir_okay=False))
@click.argument("splits", type=click.Path(dir_okay=False))
@click.option("--spec", help="Split block as JSON (its identity/coverage are used).")
@click.option("--identity", type=float, help="Identity threshold for leakage [0.3].")
@click.option("--no-mmseqs", is_flag=True, help="Only the exact-duplicate checks.")
@click.option("--workdir", type=click.Path(file_okay=False))
@click.option("--threads", type=int, default=1, show_default=True)
@click.option("-o", "--out", required=True, type=click.Path(dir_okay=False), help="audit.json")
@click.option("--nearest", "nearest_path", type=click.Path(dir_okay=False),
              help="Write each held-out sequence's nearest training identity (TSV).")
def audit(sequences: str, splits: str, spec: str | None, identity: float | None,
          no_mmseqs: bool, workdir: str | None, threads: int, out: str,
          nearest_path: str | None) -> None:
    """Leakage audit: duplicates and each held-out sequence's identity to train."""
    from .stages import audit_from_options

    options = _spec_arg(spec, "--spec")
    if identity is not None:
        options["identity"] = identity
    report = audit_from_options(sequences, splits, options, out, nearest_path, workdir,
                                threads, not no_mmseqs)
    for line in report.get("warnings", []):
        click.echo(f"seqnn audit: {line}", err=True)


@main.command()
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
    from .stages import baselines_from_files

    baselines_from_files(sequences, splits, task, seed, out,
                         classes.split(",") if classes else None)


def _model_block(data: Any, name: str | None, path: str) -> dict:
    """The model block of a YAML file: the file itself, or ``models[name]`` of a workflow
    config (its only model when ``name`` is None)."""
    from .config import ConfigError

    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping (a model block or a workflow config)")
    if "models" not in data:
        return data
    models = data["models"] if isinstance(data["models"], dict) else {}
    if name is None and len(models) == 1:
        name = next(iter(models))
    if name not in models:
        raise ConfigError(f"{path}: give --name, one of the config's models: "
                          f"{', '.join(map(str, models)) or '(none)'}")
    block = models[name]
    if not isinstance(block, dict):
        raise ConfigError(f"{path}: models.{name} is not a mapping")
    return dict(block)


@main.command()
@click.argument("data", type=click.Path(dir_okay=False))
@click.argument("splits", type=click.Path(dir_okay=False))
@click.option("--spec", help="Model block as JSON: model, params, train (as in config.yaml).")
@click.option("--config", "config_file", type=click.Path(dir_okay=False),
              help="The same model block as a YAML file, or a workflow config: then the "
                   "block of --name under its models: (the only one, without --name).")
@click.option("--model", "model_name", help="Registry name (mlp, cnn, rnn, autoencoder).")
@click.option("--params", help="Model parameters as JSON.")
@click.option("--name", help="Name of this model (default: the registry name).")
@click.option("--task", help="Task, when DATA is a sequences table rather than .npz.")
@click.option("--out", required=True, type=click.Path(file_okay=False))
@click.option("--device", default=None, help="auto | cpu | cuda | mps [auto].")
@click.option("--seed", type=int, default=None)
@click.option("--threads", type=int, default=None)
@click.option("--epochs", type=int, default=None)
@click.option("--max-epochs", type=int, default=None, help="Cap on epochs (controls).")
@click.option("--ensemble", type=int, default=None,
              help="Train K members (seeds seed..seed+K-1) and save their average.")
@click.option("--control", type=click.Choice(["permutation", "shuffle"]), default=None,
              help="Train a control: shuffled labels or residue-shuffled sequences.")
@click.option("--control-run", type=int, default=1, show_default=True,
              help="Repeat number of a control (run k uses seed + (k - 1) x ensemble).")
@click.option("--resume", is_flag=True, help="Continue an interrupted run in --out.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def train(data: str, splits: str, spec: str | None, config_file: str | None,
          model_name: str | None, params: str | None, name: str | None, task: str | None,
          out: str, device: str | None, seed: int | None, threads: int | None,
          epochs: int | None, max_epochs: int | None, ensemble: int | None,
          control: str | None, control_run: int, resume: bool, quiet: bool) -> None:
    """Train one model on an encoded dataset and a split table; write its folder."""
    from .config import ConfigError, model_from_dict, parse_json_arg
    from .experiment import run_training

    block = _spec_arg(spec, "--spec")
    if config_file:
        import yaml

        block = yaml.safe_load(Path(config_file).read_text()) or {}
        block = _model_block(block, name, config_file)
    max_len = block.pop("max_len", None)
    if model_name:
        block["model"] = model_name
    if params:
        block["params"] = parse_json_arg(params, "--params")
    if "model" not in block:
        raise ConfigError("give --model NAME, or --spec/--config with a 'model' key")
    m = model_from_dict(name or block["model"], block)
    settings = dict(m.train)
    given = {"device": device, "seed": seed, "threads": threads, "epochs": epochs,
             "ensemble": ensemble}
    settings.update({k: v for k, v in given.items() if v is not None})
    if max_len is not None:
        settings.setdefault("max_len", max_len)
    settings["quiet"] = quiet or settings.get("quiet", False)
    summary = run_training(data, splits, out, m.model, m.params, settings, task=task,
                           control=control, control_run=control_run,
                           max_epochs=max_epochs, resume=resume,
                           meta={"name": m.name})
    click.echo(f"{m.name}: best epoch {summary.get('best_epoch')} "
               f"({summary.get('monitor')} {summary.get('best_metric')}) -> {out}", err=True)


@main.command()
@click.argument("model_dir", type=click.Path(file_okay=False, exists=True))
@click.option("-o", "--out", required=True, type=click.Path(file_okay=False))
def evaluate(model_dir: str, out: str) -> None:
    """Plots for a trained model: learning curves, confusion, ROC/PR or scatter."""
    from .evaluate import evaluate_model_dir

    for path in evaluate_model_dir(model_dir, out):
        click.echo(path, err=True)


@main.command()
@click.argument("dataset_dir", type=click.Path(file_okay=False, exists=True))
@click.option("--models", required=True, help="Comma-separated model names.")
@click.option("--margin", type=float, default=0.05, show_default=True)
@click.option("--bootstrap", type=int, default=1000, show_default=True)
@click.option("-o", "--out", required=True, type=click.Path(dir_okay=False))
def check(dataset_dir: str, models: str, margin: float, bootstrap: int, out: str) -> None:
    """The honesty checks and a verdict per model (checks.json)."""
    from .checks import CheckSettings, run_checks
    from .io import write_text

    result = run_checks(dataset_dir, [m for m in models.split(",") if m],
                        CheckSettings(margin=margin, bootstrap=bootstrap))
    write_text(json.dumps(result, indent=2), out)
    for name, entry in result["models"].items():
        click.echo(f"{name}: {entry['verdict']}", err=True)
        for line in entry["warnings"]:
            click.echo(f"  WARNING {line}", err=True)


@main.command()
@click.argument("dataset_dir", type=click.Path(file_okay=False, exists=True))
@click.option("-o", "--out", required=True, type=click.Path(dir_okay=False))
@click.option("--title", default=None)
def report(dataset_dir: str, out: str, title: str | None) -> None:
    """One self-contained HTML report for a dataset's results folder."""
    from .report import build_report

    build_report(dataset_dir, out, title=title)


@main.command("report-index")
@click.argument("results_dir", type=click.Path(file_okay=False, exists=True))
@click.option("--datasets", required=True, help="Comma-separated dataset names.")
@click.option("-o", "--out", required=True, type=click.Path(dir_okay=False))
@click.option("--others/--no-others", default=True, show_default=True,
              help="Also list the other dataset folders under RESULTS_DIR that have a "
                   "report.html (e.g. from another config's run), after the given ones.")
def report_index(results_dir: str, datasets: str, out: str, others: bool) -> None:
    """A page putting several datasets (e.g. published vs cluster split) side by side."""
    from .report import build_index

    names = [d for d in datasets.split(",") if d]
    if others:
        found = sorted(p.parent.name for p in Path(results_dir).glob("*/report.html"))
        names += [n for n in found if n not in names]
    build_index(results_dir, names, out)


@main.command()
@click.argument("name", type=click.Choice(["scl2205"]))
@click.option("-o", "--out", required=True, type=click.Path(dir_okay=False))
@click.option("--from", "folder", type=click.Path(file_okay=False, exists=True),
              help="Read the package's data files from this folder instead.")
def prepare(name: str, out: str, folder: str | None) -> None:
    """Turn a published benchmark package (scl2205) into a seqnn input table."""
    from .prepare import prepare as run

    table = run(name, out, folder)
    counts = table["split"].value_counts().to_dict()
    click.echo(f"{name}: {len(table)} rows ({counts}) -> {out}", err=True)


@main.command()
def models() -> None:
    """List the registered models and their parameters with defaults."""
    from .models import list_models, model_params

    for name in list_models():
        click.echo(name)
        for key, value in model_params(name).items():
            click.echo(f"  {key} = {json.dumps(value)}")

from .cli_predict import embed, predict  # noqa: E402 - registered after main is defined

main.add_command(predict)
main.add_command(embed)
