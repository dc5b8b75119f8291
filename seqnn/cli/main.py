"""The ``seqnn`` command group. Each subcommand is a thin call into the library and lives in
the module of its stage (``data``, ``split``, ``train``, ``checks``, ``report``,
``predict``); this module only assembles them.

Heavy modules (torch, matplotlib, pandas) are imported inside the subcommands that need
them, so ``seqnn --help`` is instant. A user mistake (any :class:`~seqnn.errors.SeqnnError`)
prints one line to stderr and exits 2.
"""

from __future__ import annotations

import logging
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


class _StderrHandler(logging.Handler):
    """Log records as ``seqnn.<part>: message`` lines on the current stderr (so the
    workflow's log files get them)."""

    def emit(self, record: logging.LogRecord) -> None:
        """Write one formatted record to stderr."""
        click.echo(f"{record.name}: {record.getMessage()}", err=True)


def setup_logging() -> None:
    """Send the ``seqnn`` loggers' INFO and above to stderr, once per process."""
    logger = logging.getLogger("seqnn")
    if not any(isinstance(h, _StderrHandler) for h in logger.handlers):
        logger.addHandler(_StderrHandler())
    logger.setLevel(logging.INFO)
    logger.propagate = False


@click.group(cls=SeqnnGroup, invoke_without_command=True,
             context_settings={"help_option_names": ["-h", "--help"], "show_default": True})
@click.version_option(__version__, prog_name="seqnn")
@click.pass_context
def main(ctx: click.Context) -> None:
    """seqnn: protein FASTA to honestly evaluated neural networks.

    Run `seqnn COMMAND --help` for a command's options; `seqnn` alone prints this help.
    """
    if ctx.invoked_subcommand is None:
        click.echo(ctx.get_help())
        ctx.exit(0)
    setup_logging()


for _command in (inspect, encode, ingest, prepare, split, audit, baselines, train, models,
                 evaluate, check, report, report_index, predict, embed):
    main.add_command(_command)
