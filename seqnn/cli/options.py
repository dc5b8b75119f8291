"""Options and helpers shared by several ``seqnn`` commands (click only, no heavy imports)."""

from __future__ import annotations

import click

from ..config_bounds import MAX_SEED, MAX_THREADS

#: ``--threads`` of every command: 1 .. MAX_THREADS (seqnn.config_bounds)
THREADS = click.IntRange(1, MAX_THREADS)
#: ``--seed`` of every command: 0 .. 2**32 - 1 (numpy's and torch's seeds)
SEED = click.IntRange(0, MAX_SEED)


def policy_option(f):  # noqa: ANN001, ANN202
    """``--policy`` and ``--drop-gaps``: the alphabet policy of the FASTA input."""
    f = click.option("--drop-gaps", is_flag=True, help="Remove gap characters (- and .).")(f)
    return click.option(
        "--policy", type=click.Choice(["map", "strict"]), default="map", show_default=True,
        help="Alphabet policy for non-standard residues (see docs/data.md).",
    )(f)


def max_record_option(f):  # noqa: ANN001, ANN202
    """``--max-record``: the longest FASTA record read, in residues (overrides the
    ``SEQNN_MAX_RECORD`` environment variable; see :func:`seqnn.data.fasta.max_record_limit`)."""
    return click.option(
        "--max-record", type=click.IntRange(min=1), default=None, metavar="N",
        help="Refuse a FASTA record longer than N residues (read in bounded memory) "
             "[default: 100000, or $SEQNN_MAX_RECORD].",
    )(f)


def check_outputs(outs: list[str | None], inputs: list[str | None],
                  folders: list[str | None] | None = None, own: tuple[str, ...] = ()) -> None:
    """Refuse, in one line, any output in ``outs`` that is the same file as one of
    ``inputs`` (``None`` and ``-`` are skipped; :func:`seqnn.data.files.check_output`), or
    that lies inside one of ``folders`` (the results or model folders the command reads)
    under the name of a file seqnn keeps there (every file name of :mod:`seqnn.layout` but
    the command's ``own`` outputs; :func:`seqnn.data.files.check_not_in_folder`)."""
    from ..data.files import check_not_in_folder, check_output

    kept = [name for name in kept_files() if name not in own]
    for out in outs:
        check_output(out, inputs)
        for folder in folders or []:
            check_not_in_folder(out, folder, kept)


def kept_files() -> list[str]:
    """Every file name that seqnn keeps in a results or model folder (:mod:`seqnn.layout`)."""
    from .. import layout

    return sorted(v for k, v in vars(layout).items()
                  if k.isupper() and isinstance(v, str) and "." in v)


def spec_arg(spec: str | None, what: str) -> dict:
    """A JSON block given with ``--spec`` (or ``@file.json``) as a dict; ``{}`` without."""
    from ..config import parse_json_arg

    return parse_json_arg(spec, what) if spec else {}


class DeviceType(click.ParamType):
    """``--device``: ``auto``, ``cpu``, ``cuda``, ``cuda:N`` or ``mps`` (the same choices in
    every command; whether the device exists is checked when the model is placed on it)."""

    name = "auto|cpu|cuda|cuda:N|mps"

    def get_metavar(self, *args: object, **kwargs: object) -> str:
        """Shown in ``--help`` as written (click would upper-case the name)."""
        return self.name

    def convert(self, value: object, param: click.Parameter | None,
                ctx: click.Context | None) -> str:
        """Return the device name, or fail naming the accepted spellings."""
        text = str(value)
        kind, _, index = text.partition(":")
        if text in ("auto", "cpu", "cuda", "mps") or (kind == "cuda" and index.isdigit()):
            return text
        self.fail(f"{text!r} is not one of auto, cpu, cuda, cuda:N, mps", param, ctx)


DEVICE = DeviceType()
DEVICE_HELP = "auto = CUDA, then Apple MPS, then CPU."


def fmt(value: object) -> str:
    """A number as the CLI prints it: 4 significant digits (``0.5909`` for
    0.5909090909090909, ``1234`` for 1234.4); integers and non-numbers unchanged."""
    if isinstance(value, bool) or not isinstance(value, float):
        return str(value)
    return f"{value:.4g}"
