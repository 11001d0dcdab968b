"""The registry of architectures, and what each variant (problem, architecture) declares.

A config names one problem (:mod:`convexdual.problems`) and one architecture: the scalar two-layer
network, the two-layer network with vector outputs (``model.outputs`` > 1) or the parallel
three-layer network. Each architecture declares how it is solved, how a stored network of it is
certified and which commands take it; commands ask :func:`require` instead of testing names, and
the refusal comes from the variant.
Adding an architecture means one module with its solve, one :class:`Architecture` entry here and,
when configs name it by ``model.architecture``, its name in ``config.ARCHITECTURES``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from .certify_weights import (other_lines, parallel_certificate, two_layer_certificate, two_layer_lines,
                              vector_certificate)
from .config import Config
from .data import Dataset
from .errors import ConfigError
from .problems import get_problem
from .report import SolveResult
from .solve_cache import SolveCache
from .three_layer_solve import solve_parallel
from .two_layer_solve import solve_two_layer
from .vector import MAX_INPUT_DIM
from .vector_solve import solve_vector

Solve = Callable[[Config, Dataset, dict[str, float], float, SolveCache], SolveResult]
Certify = Callable[[Config, SolveResult, str], dict[str, Any]]  # (config, its certified result, weights file)
Lines = Callable[[dict[str, Any], float], list[str]]  # (certificate, beta) -> its text

# The commands that read a config: every architecture takes the first two; the others are listed by
# the architectures that take them.
COMMON_COMMANDS = frozenset({"solve", "sweep"})
CONFIG_COMMANDS = COMMON_COMMANDS | {"certify", "uniqueness", "search", "train", "path"}


@dataclass(frozen=True)
class Architecture:
    """One network architecture: its solve, how a stored network of it is certified and printed
    (``convexdual certify``), whether the exact oracle may replace enumeration, and the commands that
    take it. ``refusal`` is the line a command it does not take prints (formatted with the command
    and the config)."""

    name: str
    solve: Solve
    certify: Certify
    certificate_lines: Lines
    commands: frozenset[str]
    refusal: str
    oracle_fallback: bool = False  # a solve too large to enumerate certifies with the exact oracle instead
    oracle_above_dim: int | None = None  # above this input dimension the oracle replaces enumeration

    def takes(self, command: str) -> bool:
        if command not in CONFIG_COMMANDS:
            raise ValueError(f"{command!r} is not a command that reads a config")
        return command in COMMON_COMMANDS or command in self.commands

    def require(self, cfg: Config, command: str) -> None:
        """Raise :class:`ConfigError` with the architecture's refusal when it does not take ``command``."""
        if not self.takes(command):
            raise ConfigError(self.refusal.format(command=command, cfg=cfg))


def _two_layer(cfg: Config, data: Dataset, timing: dict[str, float], t0: float, cache: SolveCache) -> SolveResult:
    return solve_two_layer(cfg, data, timing, t0, cache)


def _vector(cfg: Config, data: Dataset, timing: dict[str, float], t0: float, cache: SolveCache) -> SolveResult:
    return solve_vector(cfg, data, timing, t0)


def _parallel(cfg: Config, data: Dataset, timing: dict[str, float], t0: float, cache: SolveCache) -> SolveResult:
    return solve_parallel(cfg, data, timing, t0)


ARCHITECTURES: dict[str, Architecture] = {a.name: a for a in (
    Architecture("two_layer", _two_layer, two_layer_certificate, two_layer_lines, CONFIG_COMMANDS,
                 "convexdual {command} does not take this config", oracle_fallback=True),
    Architecture("vector_outputs", _vector, vector_certificate, other_lines, frozenset({"certify"}),
                 "convexdual {command} handles scalar outputs only (model.outputs = 1); this config has "
                 "model.outputs = {cfg.model.outputs}", oracle_above_dim=MAX_INPUT_DIM),
    Architecture("parallel_three_layer", _parallel, parallel_certificate, other_lines, frozenset({"certify"}),
                 "convexdual {command} handles two-layer networks only; this config has "
                 "model.architecture = {cfg.model.architecture}"),
)}


def architecture_of(cfg: Config) -> Architecture:
    """The registered architecture of a config (vector outputs when ``model.outputs`` > 1)."""
    return ARCHITECTURES["vector_outputs" if cfg.model.outputs > 1 else cfg.model.architecture]


def require(cfg: Config, command: str) -> None:
    """Refuse, with the variant's own line, a command the config's architecture or problem does
    not take."""
    architecture_of(cfg).require(cfg, command)
    get_problem(cfg.problem).require(command)
