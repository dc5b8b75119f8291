"""Options and helpers shared by several ``seqnn`` commands (click only, no heavy imports)."""

from __future__ import annotations

import click


def policy_option(f):  # noqa: ANN001, ANN202
    """``--policy`` and ``--drop-gaps``: the alphabet policy of the FASTA input."""
    f = click.option("--drop-gaps", is_flag=True, help="Remove gap characters (- and .).")(f)
    return click.option(
        "--policy", type=click.Choice(["map", "strict"]), default="map", show_default=True,
        help="Alphabet policy for non-standard residues (see README).",
    )(f)


def check_outputs(outs: list[str | None], inputs: list[str | None]) -> None:
    """Refuse, in one line, any output in ``outs`` that is the same file as one of
    ``inputs`` (``None`` and ``-`` are skipped): see :func:`seqnn.data.files.check_output`."""
    from ..data.files import check_output

    for out in outs:
        check_output(out, inputs)


def spec_arg(spec: str | None, what: str) -> dict:
    """A JSON block given with ``--spec`` (or ``@file.json``) as a dict; ``{}`` without."""
    from ..config import parse_json_arg

    return parse_json_arg(spec, what) if spec else {}
