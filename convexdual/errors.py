"""The one error table: every failure is one of these classes, and each class has one exit code.

The command line prints ``error: <message>`` (one line) and exits with the class's code; library
code raises and never prints or exits. :func:`classify` maps any other exception (operating-system
errors, decoding errors, memory exhaustion, bugs) onto the same table.

======  ==========================  =============================================================
code    class                       meaning
======  ==========================  =============================================================
0                                   success
1                                   a sweep finished, but some of its points failed or are missing;
                                    ``status`` of a sweep with failed points
2       ConfigError                 bad input: config, data, weights, paths, an output folder that
                                    cannot be written, a run folder that belongs to another run
3       SolverError                 a solver is unavailable, unlicensed, or failed / inaccurate
4       CertificateError            the result cannot be certified (e.g. an unclear active set)
5       ResourceLimitError          a size estimate above a configured limit, or out of memory /
                                    disk space
6       BusyError                   another convexdual process holds the run folder's lock
70      (any other exception)       a bug: the traceback is written to a log file to report
130     Interrupted                 Ctrl-C (SIGINT)
141                                 stdout was closed early (e.g. piped into ``head``); silent
143     Interrupted                 SIGTERM
======  ==========================  =============================================================
"""

from __future__ import annotations

import errno

EXIT_OK = 0
EXIT_POINTS_FAILED = 1
EXIT_INTERNAL = 70
EXIT_SIGINT = 130
EXIT_PIPE = 141
EXIT_SIGTERM = 143


class ConvexdualError(Exception):
    """Base class: an expected failure with a one-line message (a subclass says which)."""

    exit_code = EXIT_INTERNAL


class ConfigError(ConvexdualError):
    """Bad input: malformed YAML, unknown keys, wrong types, bad data, missing or unwritable files."""

    exit_code = 2


class SolverError(ConvexdualError):
    """A solver is unavailable, unlicensed, or returned an inaccurate or failed status."""

    exit_code = 3


class CertificateError(ConvexdualError):
    """The computed optimum cannot be certified (e.g. the active-set margin is unclear)."""

    exit_code = 4


class ResourceLimitError(ConvexdualError):
    """The work would exceed a limit (cells, memory, sweep points, networks), or memory or disk ran out."""

    exit_code = 5


class BusyError(ConvexdualError):
    """Another process holds the run folder's lock."""

    exit_code = 6


class Interrupted(ConvexdualError):
    """Ctrl-C or SIGTERM stopped a run; the message says what was done and how to resume."""

    def __init__(self, message: str, terminated: bool = False) -> None:
        super().__init__(message)
        self.terminated = terminated
        self.exit_code = EXIT_SIGTERM if terminated else EXIT_SIGINT


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so that every ``finally`` and atomic write cleans up."""


EXIT_CODES: list[tuple[int, str]] = [
    (EXIT_OK, "success"),
    (EXIT_POINTS_FAILED, "a sweep finished, but some of its points failed or are missing; status of a sweep with "
                         "failed or lost points"),
    (ConfigError.exit_code, "bad input: config, data, weights, paths, unwritable output, a run folder of another run"),
    (SolverError.exit_code, "solver unavailable, unlicensed, or an inaccurate / failed solve"),
    (CertificateError.exit_code, "the result cannot be certified"),
    (ResourceLimitError.exit_code, "a size estimate above a limit, or out of memory / disk space"),
    (BusyError.exit_code, "another convexdual process is using the run folder"),
    (EXIT_INTERNAL, "internal error (a bug): the traceback is in the log file the message names"),
    (EXIT_SIGINT, "interrupted (Ctrl-C)"),
    (EXIT_PIPE, "stdout closed early (e.g. piped into head); nothing is printed"),
    (EXIT_SIGTERM, "terminated (SIGTERM)"),
]

_RESOURCE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.ENOMEM, errno.EMFILE, errno.ENFILE}


def first_line(exc: BaseException) -> str:
    """The first non-empty line of an exception's message ('' when it has none)."""
    return next((line.strip() for line in str(exc).splitlines() if line.strip()), "")


def classify(exc: BaseException) -> tuple[int, str] | None:
    """(exit code, one-line message) of an expected failure, or None for a bug (internal error)."""
    if isinstance(exc, ConvexdualError):
        return exc.exit_code, first_line(exc) or type(exc).__name__
    if isinstance(exc, SystemError) and isinstance(exc.__cause__, KeyboardInterrupt):
        exc = exc.__cause__  # a signal that arrived inside compiled code surfaces this way
    if isinstance(exc, KeyboardInterrupt):
        return (EXIT_SIGTERM, "terminated") if isinstance(exc, Terminated) else (EXIT_SIGINT, "interrupted")
    if isinstance(exc, BrokenPipeError):
        return EXIT_PIPE, ""
    if isinstance(exc, MemoryError):
        return ResourceLimitError.exit_code, "out of memory" + (f": {first_line(exc)}" if first_line(exc) else "")
    if isinstance(exc, UnicodeError):
        what = "encode" if isinstance(exc, UnicodeEncodeError) else "decode"
        return ConfigError.exit_code, f"cannot {what} text: {first_line(exc)}"
    if isinstance(exc, OSError):
        where = exc.filename if exc.filename is not None else ""
        text = exc.strerror or first_line(exc) or type(exc).__name__
        message = f"{where}: {text}" if where else text
        code = ResourceLimitError.exit_code if exc.errno in _RESOURCE_ERRNOS else ConfigError.exit_code
        return code, message
    return None
