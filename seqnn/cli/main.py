"""The ``seqnn`` command group. Each subcommand is a thin call into the library and lives in
the module of its stage (``data``, ``split``, ``train``, ``checks``, ``report``,
``predict``, ``workflow``); this module only assembles them.

Heavy modules (torch, matplotlib, pandas) are imported inside the subcommands that need
them, so ``seqnn --help`` is instant. A user mistake (any :class:`~seqnn.errors.SeqnnError`)
prints one line to stderr and exits 2.
"""

from __future__ import annotations

import contextlib
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


@click.group(cls=SeqnnGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="seqnn")
def main() -> None:
    """seqnn: protein FASTA to honestly evaluated neural networks."""
    warnings.showwarning = show_warning


def show_warning(message: Warning | str, category: type[Warning], filename: str, lineno: int,
                 file: Any = None, line: str | None = None) -> None:
    """Print a Python warning as one plain line on stderr (``seqnn: warning: ...``), without
    the internal file path, line number and category that ``warnings`` prints by default."""
    click.echo(f"seqnn: warning: {message}", err=True)


for _command in (inspect, encode, ingest, prepare, split, audit, baselines, train, models,
                 evaluate, check, report, report_index, predict, embed, run):
    main.add_command(_command)
