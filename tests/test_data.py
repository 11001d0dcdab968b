"""Tests for convexdual.data: every data kind, standardization, bias and validation errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from convexdual.config import DataConfig, config_from_dict
from convexdual.data import Dataset, load_data
from convexdual.errors import ConfigError


def data_cfg(**data) -> DataConfig:
    """A DataConfig that went through the real config validation."""
    return config_from_dict({"data": data}).data


# ----------------------------------------------------------------------------- points


def test_points_arrays():
    ds = load_data(data_cfg(kind="points", X=[[1, 2], [3, 4], [5, 6]], y=[1, 0, -1]))
    assert isinstance(ds, Dataset)
    assert ds.X.dtype == np.float64 and ds.y.dtype == np.float64
    np.testing.assert_array_equal(ds.X, [[1, 2], [3, 4], [5, 6]])
    np.testing.assert_array_equal(ds.y, [1, 0, -1])
    assert (ds.n, ds.d) == (3, 2)
    assert ds.bias is False
    assert len(ds.feature_names) == 2
    assert "\n" not in ds.description


def test_points_length_mismatch():
    with pytest.raises(ConfigError, match=r"data\.X has 3 rows but data\.y has 2 entries"):
        load_data(data_cfg(kind="points", X=[[1], [2], [3]], y=[1, 2]))


def test_points_ragged_unvalidated():
    with pytest.raises(ConfigError, match=r"data\.X.*ragged"):
        load_data(DataConfig(kind="points", X=[[1.0, 2.0], [3.0]], y=[1.0, 2.0]))


def test_points_nan_unvalidated():
    with pytest.raises(ConfigError, match=r"data\.X contains NaN or inf"):
        load_data(DataConfig(kind="points", X=[[1.0, float("nan")]], y=[1.0]))
    with pytest.raises(ConfigError, match=r"data\.y contains NaN or inf"):
        load_data(DataConfig(kind="points", X=[[1.0, 2.0]], y=[float("inf")]))


def test_points_empty_unvalidated():
    with pytest.raises(ConfigError, match=r"data\.X"):
        load_data(DataConfig(kind="points", X=[], y=[]))


# ----------------------------------------------------------------------------- gaussian


def test_gaussian_reproducible_by_seed():
    a = load_data(data_cfg(kind="gaussian", n=10, d=3, seed=4))
    b = load_data(data_cfg(kind="gaussian", n=10, d=3, seed=4))
    c = load_data(data_cfg(kind="gaussian", n=10, d=3, seed=5))
    np.testing.assert_array_equal(a.X, b.X)
    np.testing.assert_array_equal(a.y, b.y)
    assert not np.array_equal(a.X, c.X)
    assert a.X.shape == (10, 3) and a.y.shape == (10,)


def test_gaussian_draw_order():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((6, 2))
    y = rng.standard_normal(6)
    ds = load_data(data_cfg(kind="gaussian", n=6, d=2, seed=0))
    np.testing.assert_array_equal(ds.X, X)
    np.testing.assert_array_equal(ds.y, y)


def test_gaussian_description_with_bias():
    ds = load_data(data_cfg(kind="gaussian", n=10, d=3, seed=0, bias=True))
    assert ds.description == "gaussian n=10 d=3 seed=0 (+bias)"


# ----------------------------------------------------------------------------- circle


def test_circle_unit_rows():
    ds = load_data(data_cfg(kind="circle", angles_deg=[0, 90, 180, 45, 300], y=[1, 2, 3, 4, 5]))
    assert ds.X.shape == (5, 2)
    np.testing.assert_allclose(np.linalg.norm(ds.X, axis=1), 1.0)
    np.testing.assert_allclose(ds.X[0], [1, 0], atol=1e-15)
    np.testing.assert_allclose(ds.X[1], [0, 1], atol=1e-15)
    np.testing.assert_allclose(ds.X[2], [-1, 0], atol=1e-15)
    np.testing.assert_array_equal(ds.y, [1, 2, 3, 4, 5])


def test_circle_length_mismatch():
    with pytest.raises(ConfigError, match=r"data\.angles_deg.*data\.y"):
        load_data(data_cfg(kind="circle", angles_deg=[0, 90, 180], y=[1, 2]))


# ----------------------------------------------------------------------------- bias / standardize


def test_bias_appends_ones():
    plain = load_data(data_cfg(kind="gaussian", n=7, d=2, seed=1))
    ds = load_data(data_cfg(kind="gaussian", n=7, d=2, seed=1, bias=True))
    assert ds.X.shape == (7, 3) and ds.d == 3
    np.testing.assert_array_equal(ds.X[:, -1], np.ones(7))
    np.testing.assert_array_equal(ds.X[:, :-1], plain.X)
    assert ds.bias is True
    assert ds.feature_names[-1] == "bias" and len(ds.feature_names) == 3


def test_standardize_before_bias_and_constant_column():
    X = [[1, 5, 2], [2, 5, 4], [3, 5, 9]]
    ds = load_data(data_cfg(kind="points", X=X, y=[1, 2, 6], standardize=True, bias=True))
    np.testing.assert_allclose(ds.X[:, [0, 2]].mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(ds.X[:, [0, 2]].std(axis=0), 1)
    np.testing.assert_array_equal(ds.X[:, 1], 0)  # constant column: centered only
    np.testing.assert_array_equal(ds.X[:, -1], 1)  # bias column untouched
    assert abs(ds.y.mean()) < 1e-12 and ds.y.std() == pytest.approx(1)


# ----------------------------------------------------------------------------- files


def test_csv_with_header(tmp_path):
    (tmp_path / "d.csv").write_text("a,b,target\n1,2,3\n4,5,6\n7,8,9\n")
    ds = load_data(data_cfg(kind="file", path=str(tmp_path / "d.csv")))
    np.testing.assert_array_equal(ds.X, [[1, 2], [4, 5], [7, 8]])
    np.testing.assert_array_equal(ds.y, [3, 6, 9])
    assert ds.feature_names == ["a", "b"]


def test_csv_without_header_and_y_column(tmp_path):
    (tmp_path / "d.csv").write_text("1,2,3\n4,5,6\n")
    ds = load_data(data_cfg(kind="file", path=str(tmp_path / "d.csv"), y_column=0))
    np.testing.assert_array_equal(ds.X, [[2, 3], [5, 6]])
    np.testing.assert_array_equal(ds.y, [1, 4])


def test_csv_relative_to_base_dir(tmp_path, monkeypatch):
    sub = tmp_path / "configs"
    sub.mkdir()
    (sub / "d.csv").write_text("1,2\n3,4\n")
    monkeypatch.chdir(tmp_path)
    cfg = DataConfig(kind="file", path="d.csv")  # (a config built from a dict finds no file here)
    with pytest.raises(ConfigError, match="d.csv"):
        load_data(cfg)
    ds = load_data(cfg, base_dir=sub)
    np.testing.assert_array_equal(ds.y, [2, 4])


def test_csv_ragged(tmp_path):
    (tmp_path / "d.csv").write_text("1,2,3\n4,5\n")
    with pytest.raises(ConfigError, match="d.csv.*ragged"):
        load_data(data_cfg(kind="file", path=str(tmp_path / "d.csv")))


def test_csv_nan(tmp_path):
    (tmp_path / "d.csv").write_text("1,nan,3\n4,5,6\n")
    with pytest.raises(ConfigError, match="d.csv.*NaN"):
        load_data(data_cfg(kind="file", path=str(tmp_path / "d.csv")))


def test_npz_round_trip(tmp_path):
    rng = np.random.default_rng(3)
    X, y = rng.standard_normal((5, 4)), rng.standard_normal(5)
    np.savez(tmp_path / "d.npz", X=X, y=y)
    ds = load_data(data_cfg(kind="file", path=str(tmp_path / "d.npz")))
    np.testing.assert_array_equal(ds.X, X)
    np.testing.assert_array_equal(ds.y, y)


def test_npz_missing_array(tmp_path):
    np.savez(tmp_path / "d.npz", X=np.ones((3, 2)), target=np.ones(3))
    with pytest.raises(ConfigError, match="'y'"):
        load_data(data_cfg(kind="file", path=str(tmp_path / "d.npz")))


def test_file_missing(tmp_path):
    with pytest.raises(ConfigError, match="nothere.npz"):
        load_data(data_cfg(kind="file", path=str(tmp_path / "nothere.npz")))


def test_file_bad_extension(tmp_path):
    (tmp_path / "d.txt").write_text("1,2\n")
    with pytest.raises(ConfigError, match="d.txt"):
        load_data(data_cfg(kind="file", path=str(tmp_path / "d.txt")))


# ----------------------------------------------------------------------------- sklearn


def test_sklearn_diabetes_subsample_standardized():
    ds = load_data(data_cfg(kind="sklearn", name="diabetes", n=20, features=2, standardize=True, seed=0))
    assert ds.X.shape == (20, 2) and ds.y.shape == (20,)
    np.testing.assert_allclose(ds.X.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(ds.X.std(axis=0), 1)
    assert abs(ds.y.mean()) < 1e-12 and ds.y.std() == pytest.approx(1)
    assert ds.feature_names == ["age", "sex"]


def test_sklearn_subsample_keeps_order_and_seed():
    from sklearn.datasets import load_diabetes

    full = load_diabetes()
    ds = load_data(data_cfg(kind="sklearn", name="diabetes", n=20, features=[2, 0], seed=1))
    idx = np.sort(np.random.default_rng(1).choice(full.data.shape[0], size=20, replace=False))
    np.testing.assert_array_equal(ds.X, full.data[idx][:, [2, 0]])
    np.testing.assert_array_equal(ds.y, full.target[idx])


def test_sklearn_breast_cancer_labels():
    ds = load_data(data_cfg(kind="sklearn", name="breast_cancer"))
    assert set(np.unique(ds.y)) == {-1.0, 1.0}
    assert ds.X.shape == (569, 30)


def test_sklearn_errors():
    with pytest.raises(ConfigError, match=r"data\.n"):
        load_data(data_cfg(kind="sklearn", name="iris", n=1000))
    with pytest.raises(ConfigError, match=r"data\.features"):
        load_data(data_cfg(kind="sklearn", name="iris", features=[0, 4]))
