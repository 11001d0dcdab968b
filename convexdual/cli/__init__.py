"""Command line: thin wrappers over the pipeline. Logs go to stderr; ``--json`` output to stdout.

Every failure prints one line ``error: ...`` to stderr and exits with the code of its class in the
error table (:mod:`convexdual.errors`): 2 bad input, 3 solver, 4 uncertifiable, 5 resource limit,
6 run folder busy, 70 internal error (the traceback goes to a log file the line names), 130/143
interrupted. Usage errors (unknown options, missing arguments) are one line with exit code 2 too.

This package holds the command group, its error edge and SIGTERM handling; the commands live one
module per group: :mod:`.solve` (solve, certify, uniqueness, search), :mod:`.sweeps` (sweep,
status), :mod:`.figures` (figures, plot), :mod:`.train` (train, path), :mod:`.bench` and
:mod:`.info` (solvers); :mod:`.common` holds what they share. A new command is a ``click.command``
in the module of its group and one more name in ``COMMANDS``.
"""

from __future__ import annotations

import os
import signal
import sys
import tempfile
import threading
import time
import traceback
from pathlib import Path
from typing import Any

import click

from ..errors import EXIT_INTERNAL, EXIT_PIPE, EXIT_SIGINT, Terminated, classify, first_line
from .bench import bench
from .figures import figures, plot
from .info import solvers
from .solve import certify, search, solve, summary, uniqueness
from .sweeps import status, sweep
from .train import path, train

def crash_log(exc: BaseException) -> Path | None:
    """Write the traceback of an unexpected exception to a new log file in the temporary folder."""
    try:
        fd, name = tempfile.mkstemp(prefix=f"convexdual-crash-{time.strftime('%Y%m%d-%H%M%S')}-", suffix=".log")
        with os.fdopen(fd, "w") as fh:
            fh.write(f"convexdual {' '.join(sys.argv[1:])}\n\n")
            fh.write("".join(traceback.format_exception(type(exc), exc, exc.__traceback__)))
    except OSError:
        return None
    return Path(name)


def fail(exc: BaseException) -> None:
    """Print the one line of ``exc`` and exit with its code (internal errors: log the traceback;
    a closed stdout: exit quietly)."""
    known = classify(exc)
    if known is None:
        where = crash_log(exc)
        log_note = f"the traceback is in {where}" if where else "no log could be written"
        code, message = EXIT_INTERNAL, (f"internal error (a bug in convexdual): {type(exc).__name__}: "
                                        f"{first_line(exc)}; please report it with the command you ran; {log_note}")
    else:
        code, message = known
    if code == EXIT_PIPE:  # nothing more can be written to stdout; keep the interpreter from trying
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    else:
        click.echo(f"error: {message}", err=True)
    sys.exit(code)


def _sigterm(signum: int, frame: Any) -> None:
    raise Terminated()


class Commands(click.Group):
    """The command group: every exception of a command, and every usage error, becomes one line."""

    def invoke(self, ctx: click.Context) -> Any:
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, _sigterm)  # SIGTERM ends every command like Ctrl-C: one line, 143
        try:
            return super().invoke(ctx)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except Exception as exc:  # noqa: BLE001 - the edge where every failure is mapped
            fail(exc)
        except KeyboardInterrupt as exc:
            fail(exc)

    def main(self, *args: Any, standalone_mode: bool = True, **kwargs: Any) -> Any:
        if not standalone_mode:
            return super().main(*args, standalone_mode=False, **kwargs)
        try:
            code = super().main(*args, standalone_mode=False, **kwargs)
        except click.exceptions.ClickException as exc:
            click.echo(f"error: {exc.format_message()}", err=True)
            sys.exit(exc.exit_code)
        except click.exceptions.Abort:
            click.echo("error: interrupted", err=True)
            sys.exit(EXIT_SIGINT)
        sys.exit(code if isinstance(code, int) else 0)


@click.group(cls=Commands)
@click.version_option(package_name="convexdual")
def main() -> None:
    """Exact loss landscapes of weight-decay-regularized ReLU networks via convex duality."""


COMMANDS = (solve, solvers, figures, plot, sweep, status, uniqueness, search, train, certify, path, bench)
for _command in COMMANDS:
    main.add_command(_command)

__all__ = ["COMMANDS", "Commands", "crash_log", "fail", "main", "summary"]
