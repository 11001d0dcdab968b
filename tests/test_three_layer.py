"""Parallel three-layer ReLU networks (convexdual.three_layer), with real solves and training.

The convex program's p* is checked from both sides: a network rebuilt from its solution attains it
(to the solver tolerance, 1e-9 relative), and trained networks never go below it (a network's
objective is an upper bound of the global minimum, which the exact program attains). Trained
networks are compared with p* at certify.gap = 1e-6 relative; their first-layer directions with
the dual's set at 1e-2 (Adam's final accuracy in the directions is about the square root of its
objective gap; measured up to 1.1e-3).
"""

from __future__ import annotations

import numpy as np
import pytest

from convexdual.config import config_from_dict, load_config
from convexdual.errors import ConfigError
from convexdual.pipeline import solve
from convexdual.three_layer import (
    loss_and_grad,
    three_layer_objective,
    train_three_layer,
    used_first_layer_directions,
    ThreeLayerNetwork,
)


@pytest.fixture(scope="module")
def result():
    return solve(load_config("configs/three_layer/gaussian_n5.yaml"))


def test_program_certified_and_network_rebuilt(result) -> None:
    d = result.to_dict()
    assert d["architecture"] == "parallel_three_layer" and d["output_dim"] == 1
    c = d["certificates"]
    assert c["relative_duality_gap"] <= 1e-9 and c["dual_violation"] <= 1e-9
    assert c["reconstruction_gap"] <= 1e-9 * d["p_star"]
    net = result.network
    assert np.allclose(np.sqrt(np.sum(net.W**2, axis=(1, 2))), 1.0)
    # every nonzero inner block of the convex solution points along a direction of the dual's set
    sol, dirs = result.solution, result.directions.directions
    norms = np.linalg.norm(sol.W, axis=1)
    used = sol.W[norms > 1e-7 * norms.max()]
    for w in used:
        assert np.min(np.linalg.norm(dirs - w / np.linalg.norm(w), axis=1)) < 1e-5
    assert 1 <= len(dirs) <= 2 * sol.D1.shape[1]


def test_gradient_matches_finite_differences() -> None:
    rng = np.random.default_rng(3)
    X, y = rng.standard_normal((5, 2)), rng.standard_normal(5)
    net = ThreeLayerNetwork(W=rng.standard_normal((3, 2, 2)), v=rng.standard_normal((3, 2)), a=rng.standard_normal(3))
    _, g = loss_and_grad(net, X, y, 0.1)
    h = 1e-6
    for name, idx in (("W", (1, 0, 1)), ("W", (2, 1, 0)), ("v", (0, 1)), ("a", (2,))):
        plus = {k: getattr(net, k).copy() for k in ("W", "v", "a")}
        plus[name][idx] += h
        fd = (three_layer_objective(ThreeLayerNetwork(**plus), X, y, 0.1)
              - three_layer_objective(net, X, y, 0.1)) / h
        assert fd == pytest.approx(getattr(g, name)[idx], abs=1e-4)


@pytest.mark.slow
def test_trained_networks_reach_p_star_on_the_dual_directions(result) -> None:
    X, y, cfg = result.data.X, result.data.y, result.config
    dirs = result.directions.directions
    reached = 0
    for seed in range(3):
        net = train_three_layer(X, y, beta=cfg.beta, branches=cfg.model.branches, hidden=cfg.model.hidden, seed=seed)
        gap = three_layer_objective(net, X, y, cfg.beta) - result.p_star
        assert gap >= -1e-9 * result.p_star  # nobody beats the convex program
        if gap <= 1e-6 * max(1.0, result.p_star):
            reached += 1
            for u in used_first_layer_directions(net, X):
                assert np.min(np.linalg.norm(dirs - u, axis=1)) < 1e-2
    assert reached >= 2


def test_three_layer_config_errors() -> None:
    with pytest.raises(ConfigError, match="n <= 8"):
        solve(config_from_dict({"model": {"architecture": "parallel_three_layer"},
                                "data": {"kind": "gaussian", "n": 9, "d": 2}}))
    with pytest.raises(ConfigError, match="parallel_three_layer needs"):
        config_from_dict({"model": {"architecture": "parallel_three_layer", "outputs": 2},
                          "data": {"kind": "gaussian", "n": 4, "d": 2}})
    with pytest.raises(ConfigError, match="model.architecture"):
        config_from_dict({"model": {"architecture": "four_layer"}, "data": {"kind": "gaussian", "n": 4, "d": 2}})


def test_certify_command_for_three_layer_and_vector(tmp_path) -> None:
    import json

    from click.testing import CliRunner

    from convexdual.cli import main

    r = solve(load_config("configs/three_layer/gaussian_n5.yaml"))
    np.savez(tmp_path / "opt.npz", W=r.network.W, v=r.network.v, a=r.network.a)
    np.savez(tmp_path / "off.npz", W=r.network.W, v=0.9 * r.network.v, a=r.network.a)
    run = CliRunner().invoke
    for name, verdict in (("opt", "global_optimum"), ("off", "not_global")):
        res = run(main, ["certify", "--config", "configs/three_layer/gaussian_n5.yaml", "--weights",
                         str(tmp_path / f"{name}.npz"), "--json"])
        assert res.exit_code == 0, res.output
        assert json.loads(res.output)["classification"] == verdict
    res = run(main, ["certify", "--config", "configs/vector/hexagon_c2.yaml", "--weights", str(tmp_path / "opt.npz")])
    assert res.exit_code != 0 and "'W' must have 2 dimensions" in res.output
