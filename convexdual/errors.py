"""Error types that the command line turns into one clear line and an exit code."""


class ConvexdualError(Exception):
    """Base class: an expected failure with a one-line message."""

    exit_code = 1


class ConfigError(ConvexdualError):
    """Bad input: malformed YAML, unknown keys, wrong types, bad data, missing files."""

    exit_code = 2


class SolverError(ConvexdualError):
    """A solver is unavailable, unlicensed, or returned an inaccurate or failed status."""

    exit_code = 3


class CertificateError(ConvexdualError):
    """The computed optimum cannot be certified (e.g. the active-set margin is unclear)."""

    exit_code = 4
