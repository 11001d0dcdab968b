"""The variant registries: problems answer what the core used to test by name, architectures say
which commands take them, and a refusal is the variant's own line."""

from __future__ import annotations

import numpy as np
import pytest

from convexdual.config import config_from_dict
from convexdual.errors import ConfigError, SolverError
from convexdual.network import Network, objective
from convexdual.problems import PROBLEMS, Interpolation, Regression, get_problem
from convexdual.variants import ARCHITECTURES, architecture_of, require

SCALAR = {"data": {"kind": "gaussian", "n": 6, "d": 2, "seed": 0}}
VECTOR = {"data": {"kind": "gaussian", "n": 6, "d": 2, "seed": 0}, "model": {"outputs": 2}}
PARALLEL = {"data": {"kind": "gaussian", "n": 4, "d": 2, "seed": 0}, "model": {"architecture": "parallel_three_layer"}}
INTERPOLATION = {"problem": "interpolation", "data": {"kind": "gaussian", "n": 6, "d": 2, "seed": 0}}


def test_registry_holds_the_config_problems():
    from convexdual.config import PROBLEMS as CONFIG_PROBLEMS

    assert set(PROBLEMS) == set(CONFIG_PROBLEMS)
    assert isinstance(get_problem("regression"), Regression) and isinstance(get_problem("interpolation"), Interpolation)
    assert get_problem(PROBLEMS["regression"]) is PROBLEMS["regression"]
    with pytest.raises(ConfigError, match="unknown problem 'huber'"):
        get_problem("huber")


def test_problem_objectives_follow_the_one_convention():
    """(P_m) = 1/2 ||f(X) - y||^2 + beta/2 sum (||w||^2 + a^2) (regression), 1/2 sum (...) (interpolation);
    exact arithmetic on a one-neuron network, so 1e-15."""
    X = np.array([[1.0, 0.0], [0.0, 1.0]])
    y = np.array([1.0, 0.0])
    net = Network(W=np.array([[2.0, 0.0]]), a=np.array([1.0]))  # f = (2, 0), residual (1, 0), penalty 2.5
    assert objective(net, X, y, "regression", 0.1) == pytest.approx(0.5 + 0.25, abs=1e-15)
    assert objective(net, X, y, "interpolation", 0.1) == pytest.approx(2.5, abs=1e-15)
    nu = np.array([0.5, -1.0])
    assert get_problem("regression").dual_objective(nu, y) == pytest.approx(0.5 - 0.5 * (0.25 + 1.0), abs=1e-15)
    assert get_problem("interpolation").dual_objective(nu, y) == pytest.approx(0.5, abs=1e-15)
    assert get_problem("regression").bound(0.3) == 0.3 and get_problem("interpolation").bound(0.3) == 1.0


def test_empty_program_per_problem():
    y = np.array([1.0, -2.0])
    assert get_problem("regression").empty_solution(y)[0] == pytest.approx(2.5)
    with pytest.raises(SolverError, match="infeasible"):
        get_problem("interpolation").empty_solution(y)
    assert get_problem("interpolation").empty_solution(np.zeros(2))[0] == 0.0


def test_each_config_finds_its_architecture():
    assert architecture_of(config_from_dict(SCALAR)).name == "two_layer"
    assert architecture_of(config_from_dict(VECTOR)).name == "vector_outputs"
    assert architecture_of(config_from_dict(PARALLEL)).name == "parallel_three_layer"
    assert set(ARCHITECTURES) == {"two_layer", "vector_outputs", "parallel_three_layer"}


@pytest.mark.parametrize("command", ["solve", "sweep", "certify", "uniqueness", "search", "train", "path"])
def test_scalar_regression_is_taken_by_every_command(command):
    require(config_from_dict(SCALAR), command)


def test_a_command_that_reads_no_config_is_a_programming_error():
    with pytest.raises(ValueError, match="'certfy' is not a command"):
        require(config_from_dict(SCALAR), "certfy")


@pytest.mark.parametrize("command", ["uniqueness", "search", "train", "path"])
def test_refusals_are_the_variants_lines(command):
    with pytest.raises(ConfigError) as exc:
        require(config_from_dict(VECTOR), command)
    assert str(exc.value) == (f"convexdual {command} handles scalar outputs only (model.outputs = 1); this config "
                              "has model.outputs = 2")
    with pytest.raises(ConfigError) as exc:
        require(config_from_dict(PARALLEL), command)
    assert str(exc.value) == (f"convexdual {command} handles two-layer networks only; this config has "
                              "model.architecture = parallel_three_layer")
    require(config_from_dict(VECTOR), "certify")
    require(config_from_dict(PARALLEL), "certify")


def test_interpolation_refusals():
    cfg = config_from_dict(INTERPOLATION)
    for command in ("solve", "sweep", "uniqueness", "search"):
        require(cfg, command)
    for command, line in (("certify", "certify needs problem: regression"),
                          ("train", "train needs problem: regression (interpolation has no training objective here)"),
                          ("path", "paths, training and certificates need problem: regression")):
        with pytest.raises(ConfigError) as exc:
            require(cfg, command)
        assert str(exc.value) == line


def test_config_choices_come_from_the_registries():
    from convexdual import config, solvers

    assert config.SOLVERS == ("auto", *solvers.SOLVERS)
    assert set(config.ARCHITECTURES) <= set(ARCHITECTURES)
    with pytest.raises(ConfigError, match="auto, mosek, clarabel, scs"):
        config_from_dict({**SCALAR, "solver": "gurobi"})


def test_solver_registry_gives_options_and_accuracy():
    """Each registered solver turns a tolerance into its own options; SCS (first order) is never
    reported as accurate; unknown names raise."""
    from convexdual.solvers import SOLVERS, resolve_solver, solver_options

    assert solver_options("clarabel", 1e-9)["tol_gap_rel"] == 1e-9
    assert solver_options("scs", 1e-12)["eps_abs"] == 1e-9  # SCS is floored at 1e-9
    assert solver_options("mosek", 1e-8)["mosek_params"]["MSK_DPAR_INTPNT_CO_TOL_REL_GAP"] == 1e-8
    assert not SOLVERS["scs"].accurate and SOLVERS["clarabel"].accurate and SOLVERS["mosek"].licensed
    with pytest.raises(SolverError, match="choose auto, mosek, clarabel or scs"):
        resolve_solver("gurobi")


def test_a_new_solver_is_one_registry_entry(monkeypatch):
    """A solver registered under its own name (here Clarabel without equilibration) resolves, solves
    and is reported installed through its cvxpy name; objective to 1e-6 (the solve's tolerance 1e-9)."""
    import cvxpy as cp

    from convexdual import solvers

    entry = solvers.Solver("clarabel_plain", "CLARABEL",
                           lambda tol: {**solvers.solver_options("clarabel", tol), "equilibrate_enable": False})
    monkeypatch.setitem(solvers.SOLVERS, "clarabel_plain", entry)
    assert solvers.resolve_solver("clarabel_plain") == "clarabel_plain"
    x = cp.Variable(2)
    prob = cp.Problem(cp.Minimize(cp.norm(x - np.array([1.0, 2.0]))), [x >= 0, x[0] <= 0.5])
    stats = solvers.solve(prob, "clarabel_plain", 1e-9)
    assert stats.name == "clarabel_plain" and stats.accuracy == "high"
    assert prob.value == pytest.approx(0.5, abs=1e-6)
