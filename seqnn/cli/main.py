"""The ``seqnn`` command group. Each subcommand is a thin call into the library and lives in
the module of its stage (``data``, ``split``, ``train``, ``checks``, ``report``,
``predict``, ``workflow``); this module only assembles them.

Heavy modules (torch, matplotlib, pandas) are imported inside the subcommands that need
them, so ``seqnn --help`` is instant. A user mistake (any :class:`~seqnn.errors.SeqnnError`)
prints one line to stderr and exits 2.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
import threading
import warnings
from collections.abc import Iterator
from typing import Any

import click

from .._version import __version__
from ..errors import SeqnnError
from .checks import baselines, check
from .data import encode, ingest, inspect, prepare
from .explain import explain
from .generate import check_generated, generate, report_generation
from .predict import embed, predict
from .report import evaluate, report, report_index
from .split import audit, split
from .train import models, train
from .workflow import run


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised as an exception so that every ``with`` block (atomic outputs, temp
    folders) cleans up on the way out, as it does for Ctrl-C."""


def _terminate(signum: int, frame: object) -> None:
    raise Terminated()


@contextlib.contextmanager
def _sigterm_raises() -> Iterator[None]:
    """While the command runs, SIGTERM raises :class:`Terminated` (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


class SeqnnGroup(click.Group):
    """A click group that turns user errors into one line on stderr and exit code 2."""

    def invoke(self, ctx: click.Context) -> object:
        """Run the subcommand; report user errors without a traceback. SIGTERM and Ctrl-C
        remove the temporary files of unfinished outputs before seqnn exits (143, 130)."""
        try:
            with _sigterm_raises():
                return super().invoke(ctx)
        except Terminated:
            click.echo("seqnn: terminated", err=True)
            sys.exit(143)
        except KeyboardInterrupt:
            click.echo("seqnn: interrupted", err=True)
            sys.exit(130)
        except SeqnnError as exc:
            click.echo(f"seqnn: error: {exc}", err=True)
            sys.exit(2)
        except BrokenPipeError:  # e.g. `seqnn ... -o - | head`: stop quietly
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(141)
        except OSError as exc:  # any other file problem: one line, not a traceback
            where = f"{exc.filename}: " if exc.filename else ""
            click.echo(f"seqnn: error: {where}{exc.strerror or exc}", err=True)
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
    warnings.showwarning = show_warning
    setup_logging()


def show_warning(message: Warning | str, category: type[Warning], filename: str, lineno: int,
                 file: Any = None, line: str | None = None) -> None:
    """Print a Python warning as one plain line on stderr (``seqnn: warning: ...``), without
    the internal file path, line number and category that ``warnings`` prints by default."""
    click.echo(f"seqnn: warning: {message}", err=True)


for _command in (inspect, encode, ingest, prepare, split, audit, baselines, train, models,
                 evaluate, check, report, report_index, predict, embed, explain, run,
                 generate, check_generated, report_generation):
    main.add_command(_command)
