"""The nonconvex side with real computations: training, certificates, paths, and their commands.

Tolerances: certify.gap = 1e-6 relative (the default; certified trained networks measured up to 1.8e-7 above p*);
paths between exact points of P* stay at p* to 1e-12 (measured ~1e-16: only rounding); descent
paths may rise by at most 1e-9 per step (measured up to 1.3e-11: solver accuracy of the restricted
solves at 1e-10).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from convexdual.certify import certify
from convexdual.cli import main
from convexdual.config import CertifyTolerances, TrainSettings, load_config
from convexdual.figures.nonconvex import split_network
from convexdual.network import Network
from convexdual.paths import descent_path, landscape, optimal_path
from convexdual.pipeline import solve
from convexdual.program import solve_convex
from convexdual.results import load_network, save_network
from convexdual.training import initial_network, loss_and_grad, train

CONFIGS = Path(__file__).resolve().parent.parent / "configs"


@pytest.fixture(scope="module")
def example1():
    return solve(load_config(CONFIGS / "example1.yaml"))


@pytest.fixture(scope="module")
def circle3():
    """3 points on a circle: m* = 2 < M* = 3, n = 3."""
    return solve(load_config(CONFIGS / "figures" / "staircase_circle3.yaml"))


def _certify(res, net):
    return certify(net, res.data.X, res.data.y, res.patterns.D, beta=res.config.beta, skip=res.config.model.skip,
                   p_star=res.p_star, solver="clarabel", tol=CertifyTolerances())


def test_gradient_matches_finite_differences(circle3):
    X, y = circle3.data.X, circle3.data.y
    net = initial_network(4, X.shape[1], 1, 1.0, False)
    _, g = loss_and_grad(net, X, y, 0.1)
    eps = 1e-6
    for j, k in [(0, 0), (2, 1), (3, 0)]:
        Wp = net.W.copy()
        Wp[j, k] += eps
        Wm = net.W.copy()
        Wm[j, k] -= eps
        fd = (loss_and_grad(Network(Wp, net.a), X, y, 0.1)[0] - loss_and_grad(Network(Wm, net.a), X, y, 0.1)[0]) / (2 * eps)
        assert g.W[j, k] == pytest.approx(fd, rel=1e-5, abs=1e-8)


def test_wide_trained_networks_reach_p_star_and_are_certified(example1):
    X, y = example1.data.X, example1.data.y
    for seed in range(5):
        tr = train(X, y, 0.1, initial_network(6, X.shape[1], seed, 1.0, False), TrainSettings())
        cert = _certify(example1, tr.network)
        assert cert.classification == "global_optimum"
        assert abs(cert.objective - example1.p_star) <= 1e-6 * max(1.0, example1.p_star)


def test_no_network_below_m_star_is_certified(circle3):
    """Width 1 < m* = 2: whatever training reaches is never a global optimum."""
    X, y = circle3.data.X, circle3.data.y
    for seed in range(6):
        tr = train(X, y, circle3.config.beta, initial_network(1, X.shape[1], seed, 1.0, False), TrainSettings())
        cert = _certify(circle3, tr.network)
        assert cert.classification != "global_optimum" and cert.gap > 1e-3


def test_planted_one_neuron_fit_is_stationary_not_global(circle3):
    """One neuron active on one data point only, at the optimum of (C) over that block."""
    X, y = circle3.data.X, circle3.data.y
    pattern = np.zeros((X.shape[0], 1))
    pattern[0] = 1.0
    sol = solve_convex(X, y, pattern, np.zeros((X.shape[0], 0)), problem="regression", beta=circle3.config.beta,
                       skip=False, solver="clarabel", tol=1e-10)
    u = sol.U[0]
    net = Network(W=(u / np.sqrt(np.linalg.norm(u)))[None, :], a=np.array([np.sqrt(np.linalg.norm(u))]))
    assert np.count_nonzero(np.maximum(X @ net.W[0], 0) > 1e-12) == 1
    cert = _certify(circle3, net)
    assert cert.classification == "stationary_not_global"
    assert cert.dual_violation > 0 and cert.violating_direction is not None
    assert cert.restricted_objective == pytest.approx(cert.objective, abs=1e-8)


def test_random_network_is_not_stationary(circle3):
    cert = _certify(circle3, initial_network(3, circle3.data.X.shape[1], 0, 1.0, False))
    assert cert.classification == "not_stationary" and cert.gradient_norm > 1e-3


def test_path_inside_the_optimal_set_is_flat_point_by_point(example1):
    """Width 3 on Example 1: connected; the 60° network (split over two neurons) to the 0° + 120° one."""
    V = example1.polytope.vertices
    one, two = V[(V > 0).sum(axis=1) == 1][0], V[(V > 0).sum(axis=1) == 2][0]
    path = optimal_path(landscape(example1), split_network(example1, one, 3), split_network(example1, two, 3))
    assert path.verdict == "connected" and len(path.objective) >= 50
    assert np.max(np.abs(np.array(path.objective) - example1.p_star)) <= 1e-12
    for net, value in zip(path.networks[::7], path.objective[::7]):  # independent re-evaluation
        r = net.predict(example1.data.X) - example1.data.y
        again = 0.5 * r @ r + 0.05 * (np.sum(net.W ** 2) + np.sum(net.a ** 2))
        assert again == pytest.approx(value, abs=1e-14)


def test_separated_optima_get_the_straight_line_barrier(example1):
    """Width 2 = M*: the 0° + 120° network is an isolated point; the line to the 60° continuum rises."""
    V = example1.polytope.vertices
    one, two = V[(V > 0).sum(axis=1) == 1][0], V[(V > 0).sum(axis=1) == 2][0]
    path = optimal_path(landscape(example1), split_network(example1, one, 2), split_network(example1, two, 2))
    assert path.verdict == "different_components"
    assert max(path.objective) - example1.p_star > 0.03  # measured 0.071


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_descent_path_is_nonincreasing_and_ends_at_the_goal(circle3, seed):
    m = circle3.data.n + 1
    goal = split_network(circle3, circle3.widths.m_star_vertex, m)
    start = initial_network(m, circle3.data.X.shape[1], seed, 1.0, False)
    path = descent_path(landscape(circle3), start, goal)
    obj = np.array(path.objective)
    assert path.verdict == "nonincreasing"
    assert np.max(np.diff(obj)) <= 1e-9
    assert obj[-1] == pytest.approx(circle3.p_star, abs=1e-12)
    end = path.networks[-1]
    assert np.allclose(end.W, goal.W, atol=1e-9) and np.allclose(end.a, goal.a, atol=1e-9)


def test_descent_needs_width_n_plus_one(circle3):
    from convexdual.errors import ConfigError

    with pytest.raises(ConfigError, match="n \\+ 1"):
        descent_path(landscape(circle3), initial_network(3, 2, 0, 1.0, False),
                     split_network(circle3, circle3.widths.m_star_vertex, 3))


def test_weights_file_round_trip_and_bad_files(tmp_path):
    from convexdual.errors import ConfigError

    p = save_network(tmp_path / "n.npz", np.ones((3, 2)), np.ones(3), None, "abc")
    W, a, z, h = load_network(p, 2, False)
    assert W.shape == (3, 2) and a.shape == (3,) and z is None and h == "abc"
    with pytest.raises(FileExistsError):
        save_network(p, np.ones((3, 2)), np.ones(3), None, "abc")
    with pytest.raises(ConfigError, match="input columns"):
        load_network(p, 3, False)
    np.savez(tmp_path / "nan.npz", W=np.full((1, 2), np.nan), a=np.ones(1))
    with pytest.raises(ConfigError, match="NaN"):
        load_network(tmp_path / "nan.npz", 2, False)
    with pytest.raises(ConfigError, match="not found"):
        load_network(tmp_path / "missing.npz", 2, False)


@pytest.mark.slow
def test_train_certify_and_path_commands(tmp_path):
    cfg = str(CONFIGS / "example1.yaml")
    run = tmp_path / "run"
    r = CliRunner().invoke(main, ["train", "--config", cfg, "--width", "1-3", "--seeds", "0-2", "--out", str(run),
                                  "--no-progress"])
    assert r.exit_code == 0, r.output
    table = (run / "table.csv").read_text().splitlines()
    assert table[0].startswith("width,seed,classification,objective") and len(table) == 1 + 9
    assert (run / "train_success.png").exists() and (run / "weights" / "m3_seed0.npz").exists()
    # resuming trains nothing again
    again = CliRunner().invoke(main, ["train", "--config", cfg, "--width", "1-3", "--seeds", "0-2", "--out", str(run),
                                      "--no-progress"])
    assert again.exit_code == 0 and "9 already on disk" in again.output
    rows = [json.loads(p.read_text()) for p in (run / "points").glob("*.json")]
    certified = [r for r in rows if r["classification"] == "global_optimum"]
    assert certified and all(abs(r["gap"]) <= 1e-6 for r in certified)
    out = CliRunner().invoke(main, ["certify", "--config", cfg, "--weights", str(run / "weights" / "m3_seed0.npz"),
                                    "--json"])
    assert out.exit_code == 0, out.output
    js = json.loads(out.output)
    assert {"objective", "gap", "dual_violation", "classification", "violating_direction"} <= set(js)
    p = CliRunner().invoke(main, ["path", "--config", cfg, "--from", str(run / "weights" / "m3_seed1.npz"),
                                  "--out", str(tmp_path / "path"), "--json"])
    assert p.exit_code == 0, p.output
    s = json.loads(p.output)
    assert s["verdict"] in ("connected", "nonincreasing") and s["objective_end"] == pytest.approx(0.19, abs=1e-9)
    assert (tmp_path / "path" / "profile.csv").exists() and (tmp_path / "path" / "path.png").exists()


def test_certify_rejects_a_wrong_shape(tmp_path):
    np.savez(tmp_path / "bad.npz", W=np.ones((2, 3)), a=np.ones(2))
    r = CliRunner().invoke(main, ["certify", "--config", str(CONFIGS / "example1.yaml"), "--weights",
                                  str(tmp_path / "bad.npz")])
    assert r.exit_code == 2 and "input columns" in r.output


def test_bad_training_settings_are_one_line_errors(tmp_path):
    cfg = str(CONFIGS / "example1.yaml")
    r = CliRunner().invoke(main, ["train", "--config", cfg, "--width", "2", "--out", str(tmp_path / "r"),
                                  "train.optimizer=sgd"])
    assert r.exit_code == 2 and "train.optimizer" in r.output and not (tmp_path / "r").exists()
    r = CliRunner().invoke(main, ["train", "--config", cfg, "--width", "two", "--out", str(tmp_path / "r")])
    assert r.exit_code == 2 and "--width" in r.output


@pytest.mark.slow
def test_descent_with_a_skip_connection_is_nonincreasing():
    """The skip branch of the descent (z re-optimized along the added direction) on a 1-D set with bias."""
    res = solve(load_config(CONFIGS / "line5_bias.yaml", ["model.skip=true", "beta=0.01"]))
    assert res.features.H.shape[1] >= 2  # a non-trivial optimum (with beta = 0.1 the skip alone is optimal)
    m = res.data.n + 1
    goal_c = res.widths.m_star_vertex
    from convexdual.network import network_from_coefficients, skip_weights

    base = network_from_coefficients(res.features, goal_c, None)
    W = np.zeros((m, base.W.shape[1]))
    a = np.zeros(m)
    W[: base.width], a[: base.width] = base.W, base.a
    goal = Network(W, a, skip_weights(res.data.X, res.fit_target, res.features.H, goal_c))
    start = initial_network(m, res.data.X.shape[1], 4, 1.0, True)
    path = descent_path(landscape(res), start, goal)
    obj = np.array(path.objective)
    assert np.max(np.diff(obj)) <= 1e-9 and obj[-1] == pytest.approx(res.p_star, abs=1e-9)
