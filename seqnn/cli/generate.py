"""``seqnn generate`` (new sequences from a ``vae`` or ``gan`` model folder),
``seqnn check-generated`` (those sequences judged against real ones and three baselines) and
``seqnn report-generation`` (the HTML report of a generative dataset).

Only click is imported here; the work is done by :meth:`seqnn.inference.predictor.Predictor.
generate` and :mod:`seqnn.checks.generation`.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import click

from ..config_bounds import MAX_GENERATE, MAX_TEMPERATURE
from .options import DEVICE, DEVICE_HELP, SEED, THREADS, check_outputs

#: the longest ``--prefix``
MAX_PREFIX = 64

CAVEAT = ("the classifier's share is not activity: the AMP classifier itself leans on "
          "composition (it is scored against composition baselines in the checks), so "
          "composition-matched sequences can score high without being antimicrobial")


@click.command()
@click.argument("model_dir", type=click.Path(file_okay=False))
@click.option("-n", "--number", type=click.IntRange(1, MAX_GENERATE), default=1000,
              show_default=True, help="Sequences to generate.")
@click.option("--seed", type=SEED, default=0, show_default=True,
              help="Random seed (the same seed gives the same sequences).")
@click.option("--temperature", type=click.FloatRange(0, MAX_TEMPERATURE, min_open=True),
              default=1.0,
              show_default=True, help="Sampling temperature (>1 flatter, <1 sharper).")
@click.option("-o", "--out", type=click.Path(dir_okay=False, allow_dash=True), default="-",
              show_default=True, help="Output FASTA (- = standard output).")
@click.option("--device", type=DEVICE, default="auto", show_default=True, help=DEVICE_HELP)
@click.option("--prefix", default="gen", show_default=True, help="Record id prefix.")
def generate(model_dir: str, number: int, seed: int, temperature: float, out: str,
             device: str, prefix: str) -> None:
    """Sample new sequences from a trained generative model (vae or gan) as FASTA.

    Records are PREFIX_1 .. PREFIX_N, streamed to the output one forward pass at a time
    (memory does not grow with N). A missing model folder or a model that is not
    generative stops with one line and exit code 2, writing nothing.
    """
    from ..data.files import atomic_path
    from ..inference.predictor import load
    from ..layout import GENERATED

    check_prefix(prefix)
    check_outputs([out], [], folders=[model_dir], own=(GENERATED,))
    chunks = load(model_dir, device=device).generate_chunks(number, seed=seed,
                                                            temperature=temperature)
    first = next(chunks, [])  # a model that is not generative stops here, nothing written
    written = 0

    def records() -> Iterator[str]:
        nonlocal written
        for chunk in itertools.chain([first], chunks):
            yield "".join(f">{prefix}_{written + i}\n{s}\n" for i, s in enumerate(chunk, 1))
            written += len(chunk)

    if out == "-":
        for text in records():
            click.echo(text, nl=False)
        return
    with atomic_path(out) as tmp, open(tmp, "w") as fh:  # renamed onto out when complete
        for text in records():
            fh.write(text)
    click.echo(f"generated {written} sequences -> {out}", err=True)


def check_prefix(prefix: str) -> None:
    """Refuse a record id prefix that would break the FASTA written: empty, over
    :data:`MAX_PREFIX` characters, or holding whitespace (a line end starts a new line), a
    control character or ``>``. Raises :class:`~seqnn.errors.ConfigError` (one line, the
    prefix escaped and cut to 20 characters)."""
    from ..data.fasta import snippet
    from ..errors import ConfigError

    if not (0 < len(prefix) <= MAX_PREFIX and prefix.isprintable()
            and not any(c.isspace() or c == ">" for c in prefix)):
        raise ConfigError(f"--prefix {snippet(prefix)}: a record id prefix must be 1 to "
                          f"{MAX_PREFIX} printable characters without spaces or '>'")


def _fasta(path: str) -> list[str]:
    from ..data.fasta import read_fasta

    return [rec.sequence for rec in read_fasta(path)]


def _real_sets(train_fa: str | None, reference: str | None, data: str | None,
               splits: str | None, reference_split: str) -> tuple[list[str], list[str]]:
    """(training, held-out) sequences from FASTA files or from a sequences + split table."""
    from ..errors import ConfigError

    if data is not None and splits is not None:
        from ..data.tables import read_table

        table = read_table(data, ["id", "sequence"])
        where = read_table(splits, ["id", "split"]).set_index("id")["split"]
        split = table["id"].map(where)
        return (table.loc[split == "train", "sequence"].tolist(),
                table.loc[split == reference_split, "sequence"].tolist())
    if train_fa is None or reference is None:
        raise ConfigError("give --train and --reference (FASTA), or --data and --splits")
    return _fasta(train_fa), _fasta(reference)


@click.command("check-generated")
@click.argument("generated", type=click.Path(exists=True, dir_okay=False))
@click.option("--train", "train_fa", type=click.Path(exists=True, dir_okay=False),
              default=None, help="The training sequences (FASTA), e.g. MODEL/train_sequences.fa.")
@click.option("--reference", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Held-out real sequences of the same class (FASTA).")
@click.option("--data", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Instead of the FASTA files: a sequences table (id, sequence) ...")
@click.option("--splits", type=click.Path(exists=True, dir_okay=False), default=None,
              help="... and its split table: train = the train split, reference = "
                   "--reference-split.")
@click.option("--reference-split", type=click.Choice(["test", "valid"]), default="test",
              show_default=True)
@click.option("--embed-model", type=click.Path(file_okay=False), default=None,
              help="A model folder whose embeddings give the Fréchet distance.")
@click.option("--classifier", type=click.Path(file_okay=False), default=None,
              help="A binary classifier folder: the share it calls the positive class.")
@click.option("--seed", type=SEED, default=0, show_default=True, help="Baselines' seed.")
@click.option("--threads", type=THREADS, default=1, show_default=True)
@click.option("--no-mmseqs", is_flag=True, help="Skip the MMseqs2 nearest-training identity.")
@click.option("-o", "--out", type=click.Path(dir_okay=False), required=True,
              help="Output JSON.")
def check_generated(generated: str, train_fa: str | None, reference: str | None,
                    data: str | None, splits: str | None, reference_split: str,
                    embed_model: str | None, classifier: str | None, seed: int, threads: int,
                    no_mmseqs: bool, out: str) -> None:
    """Judge generated sequences: validity, uniqueness, novelty (MMseqs2), distribution
    match, diversity, Fréchet distance and the classifier's view, next to three baselines
    (composition, first-order Markov, shuffled training sequences)."""
    import json

    from ..checks.generation import evaluate_generation, mmseqs_nearest
    from ..data.files import write_text
    from ..layout import GENERATION

    check_outputs([out], [generated, train_fa, reference, data, splits],
                  folders=[embed_model, classifier], own=(GENERATION,))
    gen = _fasta(generated)
    train, ref = _real_sets(train_fa, reference, data, splits, reference_split)
    if not train or not ref:
        from ..errors import ConfigError

        raise ConfigError("check-generated needs training and held-out sequences; one set "
                          "is empty")
    embed = classify = None
    if embed_model is not None:
        embed = _predictor(embed_model, threads).embed
    if classifier is not None:
        clf = _predictor(classifier, threads)
        column = f"p_{clf.class_names[-1]}" if clf.class_names else None
        if clf.task != "binary" or column is None:
            from ..errors import ConfigError

            raise ConfigError(f"{classifier}: --classifier needs a binary classifier folder")
        classify = lambda seqs: clf.predict(seqs, nearest=False)[column].to_numpy()  # noqa: E731
    result = evaluate_generation(gen, train, ref, seed=seed, embed=embed, classify=classify,
                                 nearest=None if no_mmseqs else mmseqs_nearest(threads))
    result.update({"generated": generated, "embed_model": embed_model,
                   "classifier": classifier, "classifier_positive_class":
                   clf.class_names[-1] if classifier else None,
                   "caveat": CAVEAT if classifier else None})
    write_text(json.dumps(_plain(result), indent=2) + "\n", out)
    click.echo(f"checked {len(gen)} generated sequences -> {out}", err=True)


@click.command("report-generation")
@click.argument("dataset_dir", type=click.Path(exists=True, file_okay=False))
@click.option("--models", required=True, help="Comma-separated generative model names.")
@click.option("-o", "--out", type=click.Path(dir_okay=False), required=True,
              help="Output HTML.")
def report_generation(dataset_dir: str, models: str, out: str) -> None:
    """Write the generation report of a task-generative dataset folder: each model's
    generation.json next to the baselines, a verdict and what it does not show."""
    from ..layout import GENERATION_HTML
    from ..report.generation import write_generation_report

    check_outputs([out], [], folders=[dataset_dir], own=(GENERATION_HTML,))
    write_generation_report(dataset_dir, [m for m in models.split(",") if m], out)
    click.echo(f"generation report -> {out}", err=True)


def _predictor(model_dir: str, threads: int):  # noqa: ANN202
    import torch

    from ..inference.predictor import load

    torch.set_num_threads(threads)
    return load(model_dir, device="cpu")


def _plain(value: object) -> object:
    import math

    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


__all__ = ["check_generated", "generate", "report_generation"]
