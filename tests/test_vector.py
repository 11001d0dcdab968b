"""Vector-valued outputs (convexdual.vector), with real solves.

Tolerances: p* agrees with the scalar pipeline to 1e-9 relative (both solve to tol.solver = 1e-10
and polish); the exact oracle is compared with dense sampling of the sphere, which can only find
smaller values (a sampled direction is one of the points the oracle maximizes over), so the
sampled maximum must not exceed the oracle's by more than round-off (1e-12 relative) and must come
within the sampling resolution of it.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from convexdual.cli import main
from convexdual.config import config_from_dict, load_config
from convexdual.data import load_data
from convexdual.errors import ConfigError
from convexdual.patterns import cell_facets, enumerate_patterns
from convexdual.pipeline import solve, solve_vector
from convexdual.oracle import vector_cells_above
from convexdual.vector import candidate_directions, edge_directions, oracle

SCALAR_CONFIGS = ["configs/example1.yaml", "configs/circle3.yaml", "configs/line5_bias.yaml",
                  "configs/staircase.yaml", "configs/gaussian_n24_d3.yaml"]


@pytest.mark.slow
@pytest.mark.parametrize("path", SCALAR_CONFIGS)
def test_one_output_gives_the_scalar_results(path: str) -> None:
    """c = 1 through the vector code (group lasso over a grown dictionary, exact oracle, face
    refinement) reproduces the scalar pipeline: p*, m*, M*, vertex count, active directions."""
    cfg = load_config(path)
    scalar = solve(cfg)
    data = load_data(cfg.data)
    vec = solve_vector(cfg, data, {}, time.perf_counter())
    assert vec.p_star == pytest.approx(scalar.p_star, rel=1e-9)
    assert (vec.widths.m_star, vec.widths.M_star, vec.widths.n_vertices) == (
        scalar.widths.m_star, scalar.widths.M_star, scalar.widths.n_vertices)
    assert len(vec.optimum.directions) == len(scalar.features.signs)
    # the same features: (X u)_+ times the output sign
    H_vec = np.maximum(data.X @ vec.optimum.directions.T, 0) * vec.optimum.output_directions[:, 0]
    for h in scalar.features.H.T:
        assert np.abs(H_vec - h[:, None]).max(axis=0).min() < 1e-6
    if scalar.staircase is not None:
        rows = {r["m"]: r["connected"] for r in scalar.staircase}
        assert all(rows[r["m"]] == r["connected"] for r in vec.staircase if r["m"] in rows)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_oracle_is_the_maximum_over_the_sphere(seed: int) -> None:
    """||nu^T (X u)_+|| over 400,000 random unit u (d = 3, c = 2, a random nu) never beats the oracle,
    and comes within 1e-3 relative of it (the sampling resolution)."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((9, 3))
    nu = rng.standard_normal((9, 2))
    D = enumerate_patterns(X).D
    orc = oracle(X, D, cell_facets(X, D), nu, edge_directions(X))
    U = rng.standard_normal((400_000, 3))
    U /= np.linalg.norm(U, axis=1, keepdims=True)
    sampled = np.linalg.norm(np.maximum(U @ X.T, 0) @ nu, axis=1).max()
    assert sampled <= orc.max_value * (1 + 1e-12)
    assert sampled >= orc.max_value * (1 - 1e-3)


def test_vector_instance_certified_with_a_segment_of_optima() -> None:
    """The hexagon instance (configs/vector/hexagon_c2.yaml): certified (gap, dual feasibility),
    P* a segment with two 3-neuron vertices, disconnected at m = 3, 4, 5 and connected from 6 on,
    in particular for every m >= nc + 1 = 13."""
    r = solve(load_config("configs/vector/hexagon_c2.yaml"))
    d = r.to_dict()
    assert d["output_dim"] == 2 and d["polytope_ambient_dim"] == 12
    assert d["certificates"]["duality_gap"] <= 1e-9
    assert d["certificates"]["dual_violation"] <= 1e-7 * 0.1
    assert (d["m_star"], d["M_star"], d["n_vertices"], d["polytope_dim"]) == (3, 3, 2, 1)
    phases = {row["m"]: row for row in d["staircase"]}
    assert [phases[m]["connected"] for m in range(3, 7)] == [False, False, False, True]
    assert all(phases[m]["connected"] for m in range(13, 14))
    # the network at m* reproduces p*, and its outputs really are vectors (both columns used)
    W, A = d["network"]["W"], d["network"]["a"]
    assert A.shape == (3, 2) and np.abs(A).min(axis=0).max() > 0


def test_generic_vector_data_unique_and_real_dataset_runs() -> None:
    """Gaussian targets in R^2 and scikit-learn's Linnerud (n = 20, d = 3, c = 3): certified."""
    for path in ("configs/vector/gaussian_c2.yaml", "configs/vector/linnerud.yaml"):
        d = solve(load_config(path)).to_dict()
        assert d["certificates"]["relative_duality_gap"] <= 1e-9
        assert d["certificates"]["reconstruction_gap"] <= 1e-9 * max(1.0, d["p_star"])
        assert d["M_star"] <= d["n"] * d["output_dim"]


def test_vector_config_errors() -> None:
    with pytest.raises(ConfigError, match="outputs"):
        load_data(config_from_dict({"model": {"outputs": 3}, "data": {"kind": "points", "X": [[1], [2]],
                                                                      "Y": [[1, 2], [3, 4]]}}).data)
    with pytest.raises(ConfigError, match="exactly one of data.y"):
        config_from_dict({"data": {"kind": "points", "X": [[1]], "y": [1], "Y": [[1]]}})
    with pytest.raises(ConfigError, match="regression"):
        config_from_dict({"problem": "interpolation", "model": {"outputs": 2},
                          "data": {"kind": "gaussian", "n": 4, "d": 2}})
    with pytest.raises(ConfigError, match="patterns exact or oracle"):
        config_from_dict({"model": {"outputs": 2}, "patterns": {"mode": "sampled"},
                          "data": {"kind": "gaussian", "n": 4, "d": 2}})


def test_solve_json_has_output_dim(tmp_path) -> None:
    from click.testing import CliRunner
    import json

    res = CliRunner().invoke(main, ["solve", "--config", "configs/vector/gaussian_c2.yaml", "--json"])
    assert res.exit_code == 0, res.output
    d = json.loads(res.output)
    assert d["output_dim"] == 2 and len(d["y_hat"]) == 6 and len(d["y_hat"][0]) == 2


@pytest.mark.slow
def test_trained_vector_networks_at_global_optima_are_certified() -> None:
    """Hexagon instance, width 6 (> m* = 3), 4 seeds of Adam + gradient descent (training.train with
    (m, c) output weights): every run ends within certify.gap = 1e-6 of p* and is classified
    global; a network scaled off the optimum is not."""
    from convexdual.certify import certify_vector
    from convexdual.config import TrainSettings
    from convexdual.network import Network
    from convexdual.training import train

    cfg = load_config("configs/vector/hexagon_c2.yaml")
    r = solve(cfg)
    X, Y = r.data.X, r.data.targets
    for seed in range(4):
        rng = np.random.default_rng(seed)
        net = Network(W=rng.normal(0, 0.7, (6, 2)), a=rng.normal(0, 0.4, (6, 2)))
        tr = train(X, Y, cfg.beta, net, TrainSettings())
        c = certify_vector(tr.network.W, tr.network.a, X, Y, beta=cfg.beta, p_star=r.p_star, tol=cfg.certify)
        assert c["classification"] == "global_optimum" and c["gap"] >= -1e-9
    bad = certify_vector(1.1 * r.network.W, r.network.A, X, Y, beta=cfg.beta, p_star=r.p_star, tol=cfg.certify)
    assert bad["classification"] == "not_global"


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_connected_from_nc_plus_one_on_random_instances(seed: int) -> None:
    """Known (the paper): Theta*_m is connected for every m >= nc + 1. Checked from the
    vertices of P* at m = nc + 1 .. nc + 3 on random instances (n = 4, d = 2, c = 2, beta 0.05)."""
    n, c = 4, 2
    widths = [n * c + 1, n * c + 2, n * c + 3]
    r = solve(config_from_dict({"beta": 0.05, "model": {"outputs": c}, "widths": widths,
                                "data": {"kind": "gaussian", "n": n, "d": 2, "seed": seed}}))
    d = r.to_dict()
    assert d["staircase"] is not None and [row["m"] for row in d["staircase"]] == widths
    assert all(row["connected"] for row in d["staircase"])


def test_flat_dual_constraint_is_refused() -> None:
    """Residual rows (0.089, -0.045) and (0.045, 0.089) on the cell between x = (1, 0) and (0, 1):
    nu^T D X is a scaled rotation, so every direction of that cell attains beta (a continuum of
    optimal neurons, no finite polytope). Refused with exit 4, naming the flat face and p*."""
    from convexdual.errors import CertificateError

    with pytest.raises(CertificateError, match=r"flat around the optimal direction .* 1\.000000000 and "
                                               r"1\.000000000 x beta\^2.*p\* = "):
        solve(config_from_dict({"beta": 0.1, "model": {"outputs": 2},
                                "data": {"kind": "points", "X": [[1, 0], [0, 0], [0, 1], [-1, -1]],
                                         "Y": [[1, 0], [0, 1], [1, 1], [0, 0]]}}))


@pytest.mark.parametrize("seed, n", [(20, 8), (10, 10)])
def test_polish_drops_atoms_below_beta(seed: int, n: int) -> None:
    """Generic instances (configs/vector/gaussian_c2.yaml) whose dictionary solution keeps a small
    leftover weight on an atom with dual value 1e-4 below beta; refined with it, nu moved by ~1e-7
    and the run was refused. Now certified: duality gap <= 1e-9 relative (solver tolerance 1e-10,
    then the polish), and 200,000 sampled unit directions stay below beta (1 + 1e-12) (round-off)."""
    r = solve(load_config("configs/vector/gaussian_c2.yaml", [f"data.seed={seed}", f"data.n={n}"]))
    d = r.to_dict()
    assert d["certificates"]["relative_duality_gap"] <= 1e-9
    X, Y = r.data.X, r.data.targets
    nu = Y - np.asarray(d["y_hat"])
    U = np.random.default_rng(0).standard_normal((200_000, X.shape[1]))
    U /= np.linalg.norm(U, axis=1, keepdims=True)
    assert np.linalg.norm(np.maximum(U @ X.T, 0) @ nu, axis=1).max() <= 0.1 * (1 + 1e-12)


def test_flat_cells_of_generic_data_are_real(monkeypatch) -> None:
    """Generic data (configs/vector/gaussian_c2.yaml, seed 7): refused as flat. Checked independently:
    with the refusal switched off, the optimum's nu gives every direction of a 0.6 rad arc around the
    named optimal direction (inside its cell) the value beta to 1e-12 relative (round-off), so the
    optimal neurons really are a continuum; the certified instance (seed 0) has no flat cell."""
    import convexdual.vector as vector
    from convexdual.errors import CertificateError

    cfg = load_config("configs/vector/gaussian_c2.yaml", ["data.seed=7"])
    with pytest.raises(CertificateError, match="flat around the optimal direction"):
        solve(cfg)
    data = load_data(cfg.data)
    args = dict(beta=cfg.beta, solver="clarabel", tol=1e-10, active_tol=1e-7, margin_tol=1e-6, margin_ratio=1e3)
    monkeypatch.setattr(vector, "_refuse_flat_cells", lambda *a: None)
    opt = vector.certified_vector_optimum(data.X, data.targets, **args)
    flat = [u for u in opt.directions if vector.flat_cells(data.X, opt.solution.nu, u, cfg.beta, 1e-6)]
    assert flat
    theta = np.arctan2(flat[0][1], flat[0][0]) + np.linspace(-0.3, 0.3, 61)
    arc = np.column_stack([np.cos(theta), np.sin(theta)])
    values = np.linalg.norm(np.maximum(arc @ data.X.T, 0) @ opt.solution.nu, axis=1)
    arc_in_cell = np.all((arc @ data.X.T > 0) == (flat[0] @ data.X.T > 0), axis=1)
    assert arc_in_cell.sum() >= 30 and np.abs(values[arc_in_cell] / cfg.beta - 1).max() <= 1e-12
    cfg0 = load_config("configs/vector/gaussian_c2.yaml")
    data0 = load_data(cfg0.data)
    opt0 = vector.certified_vector_optimum(data0.X, data0.targets, **args)
    assert not any(vector.flat_cells(data0.X, opt0.solution.nu, u, cfg0.beta, 1e-6) for u in opt0.directions)


def _cell_maxima(X: np.ndarray, nu: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every cell's vector maximum from the enumerating oracle's candidates (d <= 3): the largest
    value among the critical directions lying in the closed cell."""
    D = enumerate_patterns(X).D
    U = candidate_directions(X, D, cell_facets(X, D), nu, edge_directions(X))
    values = np.linalg.norm(np.maximum(U @ X.T, 0) @ nu, axis=1)
    S = U @ X.T
    tol = 1e-9 * np.linalg.norm(X, axis=1)
    fits = ~(((S > tol)[:, :, None] & ~D[None]) | ((S < -tol)[:, :, None] & D[None])).any(axis=1)  # (N, cells)
    return D, np.where(fits, values[:, None], 0.0).max(axis=0)


@pytest.mark.slow
@pytest.mark.parametrize("seed, c", [(0, 2), (1, 3)])
def test_search_oracle_agrees_with_enumeration(seed: int, c: int) -> None:
    """The vector oracle without enumeration (output-sphere branch and bound over the scalar oracle)
    on random d = 3 data: its proven bound is the enumerated maximum to 1e-9 relative (cell maxima
    are accurate to 1e-10, the settled simplices to 1e-13); with cells it lists exactly the cells whose
    maximum reaches 0.8 x the maximum, each value to 1e-9; just above the maximum it finds nothing
    and proves it, just below it finds a direction."""
    rng = np.random.default_rng(seed)
    X, nu = rng.standard_normal((9, 3)), rng.standard_normal((9, c))
    D, cell_max = _cell_maxima(X, nu)
    top = cell_max.max()
    assert oracle(X, D, cell_facets(X, D), nu, edge_directions(X)).max_value == pytest.approx(top, rel=1e-12)
    res = vector_cells_above(X, nu, 0.8 * top, cells=True)
    assert res.complete and top <= res.upper <= top * (1 + 1e-9)
    listed = {col.tobytes(): v for col, v in zip(res.patterns.T, res.values) if v >= 0.8 * top}
    truth = {D[:, k].tobytes(): cell_max[k] for k in np.flatnonzero(cell_max >= 0.8 * top)}
    assert listed.keys() == truth.keys()
    assert all(abs(listed[k] - truth[k]) <= 1e-9 * top for k in truth)
    none = vector_cells_above(X, nu, top * (1 + 1e-9))
    assert none.complete and len(none.above) == 0 and none.upper < top * (1 + 1e-9)
    some = vector_cells_above(X, nu, top * (1 - 1e-6), stop_after=1)
    assert len(some.above) >= 1 and some.values[some.above[0]] >= top * (1 - 1e-6)


@pytest.mark.slow
def test_vector_oracle_mode_reproduces_the_enumerated_result() -> None:
    """configs/vector/gaussian_c2.yaml (d = 2 + bias) with patterns: oracle: the same p* (1e-9
    relative), m* and M* as with enumeration."""
    exact = solve(load_config("configs/vector/gaussian_c2.yaml")).to_dict()
    found = solve(load_config("configs/vector/gaussian_c2.yaml", ["patterns.mode=oracle"])).to_dict()
    assert found["patterns"]["mode"] == "oracle" and exact["patterns"]["mode"] == "exact"
    assert found["p_star"] == pytest.approx(exact["p_star"], rel=1e-9)
    assert (found["m_star_bounds"], found["M_star_bounds"]) == (exact["m_star_bounds"], exact["M_star_bounds"])


@pytest.mark.slow
def test_vector_outputs_beyond_three_dimensions_are_certified() -> None:
    """n = 10 Gaussian points in d = 5 (+ bias), c = 2: solved through the search oracle (chosen
    automatically), duality gap <= 1e-9 relative and dual violation <= tol.active; independently,
    no one of 200,000 random unit directions exceeds beta (1 + 1e-7) at the reported nu."""
    cfg = load_config("configs/vector/gaussian_c2.yaml", ["data.n=10", "data.d=5", "polytope.milp_time_limit_s=5"])
    d = solve(cfg).to_dict()
    assert d["patterns"]["mode"] == "oracle" and d["patterns"]["oracle"]["cells_listed"] >= 1
    assert d["certificates"]["relative_duality_gap"] <= 1e-9
    assert d["certificates"]["dual_violation"] <= cfg.tol.active
    X = load_data(cfg.data).X
    U = np.random.default_rng(0).standard_normal((200_000, X.shape[1]))
    U /= np.linalg.norm(U, axis=1, keepdims=True)
    sampled = np.linalg.norm(np.maximum(U @ X.T, 0) @ np.asarray(d["nu"]), axis=1).max()
    assert sampled <= cfg.beta * (1 + 1e-7)
    # certify: the network at m* is a global optimum; with its output weights halved it is not, and
    # the search oracle names a direction violating the dual constraint at its residual
    from convexdual.certify import certify_vector

    Y = load_data(cfg.data).targets
    W, A = np.asarray(d["network"]["W"]), np.asarray(d["network"]["a"])
    good = certify_vector(W, A, X, Y, beta=cfg.beta, p_star=d["p_star"], tol=cfg.certify)
    assert good["classification"] == "global_optimum" and good["dual_violation"] <= cfg.tol.active
    bad = certify_vector(W, A / 2, X, Y, beta=cfg.beta, p_star=d["p_star"], tol=cfg.certify)
    assert bad["classification"] == "not_global" and bad["violating_direction"] is not None
    u = bad["violating_direction"]["w"]
    assert np.linalg.norm(np.maximum(X @ u, 0) @ (Y - np.maximum(X @ W.T, 0) @ (A / 2))) > cfg.beta
