"""The ``seqnn`` command group. Each subcommand is a thin call into the library and lives in
the module of its stage (``data``, ``split``, ``train``, ``checks``, ``report``,
``predict``, ``workflow``); this module only assembles them.

Heavy modules (torch, matplotlib, pandas) are imported inside the subcommands that need
them, so ``seqnn --help`` is instant. A user mistake (any :class:`~seqnn.errors.SeqnnError`)
prints one line to stderr and exits 2.
"""

from __future__ import annotations

import contextlib
import errno
import io
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

STDOUT_NAME = "<stdout>"  # as seqnn.data.outputs names standard output (not imported: --help)
#: errors of a full or size-limited output (seqnn.data.outputs.FULL)
FULL = (errno.ENOSPC, errno.EFBIG, errno.EDQUOT, errno.EIO)


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

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list of ``seqnn --help``: each command's whole first sentence,
        wrapped, instead of click's cut at the terminal width ("...")."""
        rows = [(name, cmd.get_short_help_str(limit=10_000))
                for name in self.list_commands(ctx)
                if (cmd := self.get_command(ctx, name)) is not None and not cmd.hidden]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    def invoke(self, ctx: click.Context) -> object:
        """Run the subcommand; report user errors without a traceback. SIGTERM and Ctrl-C
        remove the temporary files of unfinished outputs before seqnn exits (143, 130)."""
        try:
            with _sigterm_raises(), _checked_stdout():
                return super().invoke(ctx)
        except Terminated:
            click.echo("seqnn: terminated", err=True)
            sys.exit(143)
        except KeyboardInterrupt:
            click.echo("seqnn: interrupted", err=True)
            sys.exit(130)
        except SeqnnError as exc:
            if getattr(exc, "path", None) == STDOUT_NAME:
                _quiet_stdout()
            click.echo(f"seqnn: error: {exc}", err=True)
            sys.exit(2)
        except BrokenPipeError:  # e.g. `seqnn ... -o - | head`: stop quietly
            _quiet_stdout()
            sys.exit(141)
        except OSError as exc:  # any other file problem: one line, not a traceback
            if exc.filename is None and (exc.errno in FULL or _stdout_failure()):
                _quiet_stdout()  # every output file names itself: this was standard output
                click.echo(f"seqnn: error: {STDOUT_NAME}: cannot write ({exc.strerror or exc})",
                           err=True)
                sys.exit(2)
            where = f"{exc.filename}: " if exc.filename else ""
            click.echo(f"seqnn: error: {where}{exc.strerror or exc}", err=True)
            sys.exit(2)


@contextlib.contextmanager
def _checked_stdout() -> Iterator[None]:
    """While the command runs, standard output reports every failed write.

    Unbuffered (``PYTHONUNBUFFERED``, ``python -u``), ``sys.stdout`` writes straight to the
    file and drops what a short write left (a full disk, ``ulimit -f``): it gets a buffered
    writer instead, flushed at each line, which retries short writes and raises the error.
    At the end standard output is flushed, so the error comes here and not at exit."""
    raw = getattr(sys.stdout, "buffer", None)
    if not isinstance(raw, io.FileIO):
        yield
        sys.stdout.flush()
        return
    old = sys.stdout
    old.flush()
    sys.stdout = io.TextIOWrapper(io.BufferedWriter(io.FileIO(raw.fileno(), "w", closefd=False)),
                                  encoding=old.encoding, errors=old.errors, line_buffering=True)
    try:
        yield
        sys.stdout.flush()
    finally:
        sys.stdout = old


def _stdout_failure() -> bool:
    """Whether flushing standard output fails now (text it could not write is buffered)."""
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        return False
    except OSError:
        return True
    return False


def _quiet_stdout() -> None:
    """Point standard output at /dev/null, so that the flush at exit neither fails again nor
    prints a second error."""
    with contextlib.suppress(OSError, ValueError, AttributeError, io.UnsupportedOperation):
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


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
