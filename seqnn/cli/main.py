"""The ``seqnn`` command group. Each subcommand is a thin call into the library and lives in
the module of its stage (``data``, ``split``, ``train``, ``checks``, ``report``,
``predict``, ``workflow``); this module only assembles them.

Heavy modules (torch, matplotlib, pandas) are imported inside the subcommands that need
them, so ``seqnn --help`` is instant. A user mistake (any :class:`~seqnn.errors.SeqnnError`)
prints one line to stderr and exits 2.
"""

from __future__ import annotations

import sys

import click

from .._version import __version__
from ..errors import SeqnnError
from .checks import baselines, check
from .data import encode, ingest, inspect, prepare
from .predict import embed, predict
from .report import evaluate, report, report_index
from .split import audit, split
from .train import models, train
from .workflow import run


class SeqnnGroup(click.Group):
    """A click group that turns user errors into one line on stderr and exit code 2."""

    def invoke(self, ctx: click.Context) -> object:
        """Run the subcommand; report user errors without a traceback."""
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            click.echo("seqnn: interrupted", err=True)
            sys.exit(130)
        except SeqnnError as exc:
            click.echo(f"seqnn: error: {exc}", err=True)
            sys.exit(2)


@click.group(cls=SeqnnGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="seqnn")
def main() -> None:
    """seqnn: protein FASTA to honestly evaluated neural networks."""


for _command in (inspect, encode, ingest, prepare, split, audit, baselines, train, models,
                 evaluate, check, report, report_index, predict, embed, run):
    main.add_command(_command)
