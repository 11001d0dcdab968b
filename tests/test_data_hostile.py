"""Hostile data and weights files: every bad file is one line (ConfigError, or ResourceLimitError
when a claimed size is too large to read), never a traceback, a warning or a silently wrong answer."""

from __future__ import annotations

import io
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from convexdual.certify import certify, certify_parallel, certify_vector
from convexdual.config import CertifyTolerances, DataConfig, config_from_dict
from convexdual.data import load_data
from convexdual.errors import ConfigError, ResourceLimitError
from convexdual.network import Network
from convexdual.results import load_arrays, load_network

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = str(ROOT / "configs" / "example1.yaml")
VECTOR = str(ROOT / "configs" / "vector" / "hexagon_c2.yaml")
PARALLEL = str(ROOT / "configs" / "three_layer" / "gaussian_n5.yaml")

pytestmark = pytest.mark.filterwarnings("error")  # a leaked warning (ComplexWarning, overflow) fails the test


def data_cfg(outputs: int = 1, **data) -> DataConfig:
    """A DataConfig that went through the real config validation."""
    return config_from_dict({"data": data, "model": {"outputs": outputs}}).data


def file_cfg(path: Path, outputs: int = 1) -> DataConfig:
    return data_cfg(outputs, kind="file", path=str(path))


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "convexdual.cli", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=300)


def one_error_line(p: subprocess.CompletedProcess, code: int, *needles: str) -> str:
    """The exit code is ``code``; stderr is exactly one line 'error: ...' holding every needle."""
    lines = p.stderr.strip().splitlines()
    assert p.returncode == code, p.stderr
    assert len(lines) == 1 and lines[0].startswith("error:"), p.stderr
    assert "Traceback" not in p.stderr and p.stdout == ""
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def npy_bytes(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=False)
    return buf.getvalue()


def claimed_npy(shape: tuple[int, ...], payload: bytes, dtype: str = "<f8") -> bytes:
    """A version 1.0 .npy member whose header claims ``shape`` followed by ``payload``."""
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": dtype, "fortran_order": False, "shape": shape})
    return buf.getvalue() + payload


def write_zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


# ----------------------------------------------------------------------------- CSV data


def test_csv_first_row_with_a_missing_value_is_data_not_a_header(tmp_path):
    (tmp_path / "d.csv").write_text("1,,3\n4,5,6\n7,8,9\n1,2,3\n")
    with pytest.raises(ConfigError, match=r"d\.csv: line 1, column 2: missing value"):
        load_data(file_cfg(tmp_path / "d.csv"))


@pytest.mark.parametrize("text, where", [
    ("a,b,y\n1,2,3\n4,,6\n", "line 3, column 2: missing value"),
    ("1,2,3\n4,5,\n", "line 2, column 3: missing value"),
    ("x,y\n1,2\n1e400,3\n", "line 3, column 1: '1e400'"),
])
def test_csv_bad_field_names_line_and_column(tmp_path, text, where):
    (tmp_path / "d.csv").write_text(text)
    with pytest.raises(ConfigError, match=r"d\.csv") as info:
        load_data(file_cfg(tmp_path / "d.csv"))
    assert where in str(info.value) and "\n" not in str(info.value)


def test_csv_with_bom_crlf_and_a_numeric_header_name(tmp_path):
    """A header is a first row with a field that is neither empty nor a number, even when others are numbers;
    line numbers count every line (comments and the header included)."""
    path = tmp_path / "d.csv"
    path.write_bytes(b"\xef\xbb\xbfx,2020,target\r\n1,2,3\r\n4,5,6\r\n# note\r\n")
    ds = load_data(file_cfg(path))
    assert ds.feature_names == ["x", "2020"] and ds.y.tolist() == [3.0, 6.0]
    path.write_bytes(path.read_bytes() + b"7,8,\r\n")
    with pytest.raises(ConfigError, match=r"d\.csv: line 5, column 3: missing value"):
        load_data(file_cfg(path))


# ----------------------------------------------------------------------------- .npz data


def test_complex_data_are_refused(tmp_path):
    np.savez(tmp_path / "d.npz", X=np.ones((4, 2)) + 1j, y=np.ones(4))
    with pytest.raises(ConfigError, match=r"d\.npz: array 'X' is complex"):
        load_data(file_cfg(tmp_path / "d.npz"))


def test_npz_vector_targets_and_their_column_count(tmp_path):
    rng = np.random.default_rng(0)
    X, Y = rng.standard_normal(5), rng.standard_normal((5, 2))
    np.savez(tmp_path / "d.npz", X=X, y=Y, extra=np.ones(3))
    ds = load_data(file_cfg(tmp_path / "d.npz", outputs=2))
    np.testing.assert_array_equal(ds.X, X[:, None])
    np.testing.assert_array_equal(ds.Y, Y)
    with pytest.raises(ConfigError, match=r"d\.npz: y has 2 column\(s\) but model\.outputs is 1"):
        load_data(file_cfg(tmp_path / "d.npz"))


def test_npz_data_claiming_a_huge_shape_is_a_resource_limit(tmp_path):
    write_zip(tmp_path / "d.npz", {"X.npy": claimed_npy((10**12, 10**3), b"\0" * 64), "y.npy": npy_bytes(np.ones(3))})
    with pytest.raises(ResourceLimitError, match=r"d\.npz: array 'X'"):
        load_data(file_cfg(tmp_path / "d.npz"))


@pytest.mark.parametrize("stored", [2, 8])
def test_npz_data_whose_header_lies_about_its_size(tmp_path, stored):
    """The header claims 4 floats; the member stores 2 or 8."""
    payload = np.arange(stored, dtype="<f8").tobytes()
    write_zip(tmp_path / "d.npz", {"X.npy": claimed_npy((4, 1), payload), "y.npy": npy_bytes(np.ones(4))})
    with pytest.raises(ConfigError, match=r"d\.npz: array 'X' claims shape \(4, 1\)"):
        load_data(file_cfg(tmp_path / "d.npz"))


def test_a_data_file_changed_since_its_config_was_read_is_refused(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("1,2\n3,4\n5,7\n")
    cfg = file_cfg(path)  # its digest is that of the file as it was
    assert cfg.digest is not None
    path.write_text("1,2\n3,4\n5,8\n")
    with pytest.raises(ConfigError, match=r"data file .*d\.csv changed since its config was read; run again"):
        load_data(cfg)


# ----------------------------------------------------------------------------- weights files


def test_weights_of_an_unusable_dtype_are_one_line_and_bool_and_integers_load(tmp_path):
    bad = {
        "is complex": np.ones((3, 2)) + 1j,
        "holds strings": np.array([["a", "b"]] * 3),
        "is a structured (record) array": np.zeros((3, 2), dtype=[("p", "f8"), ("q", "f8")]),
        "holds dates or times": np.zeros((3, 2), dtype="datetime64[D]"),
    }
    for what, W in bad.items():
        np.savez(tmp_path / "w.npz", W=W, a=np.ones(3))
        with pytest.raises(ConfigError) as info:
            load_network(tmp_path / "w.npz", 2, False)
        assert f"array 'W' {what}" in str(info.value) and "w.npz" in str(info.value)
        (tmp_path / "w.npz").unlink()
    np.savez(tmp_path / "w.npz", W=np.ones((3, 2), dtype=np.int8), a=np.array([True, False, True]))
    W, a, _, _ = load_network(tmp_path / "w.npz", 2, False)
    assert W.dtype == np.float64 and a.tolist() == [1.0, 0.0, 1.0]


def _truncated(path: Path) -> None:
    np.savez(path, W=np.ones((3, 2)), a=np.ones(3))
    path.write_bytes(path.read_bytes()[:150])


def _bad_crc(path: Path) -> None:
    np.savez(path, W=np.ones((3, 2)), a=np.ones(3))
    raw = bytearray(path.read_bytes())
    at = raw.index(np.ones(6).tobytes())  # the stored (uncompressed) data of W
    raw[at + 3] ^= 0xFF
    path.write_bytes(bytes(raw))


def _not_npy(path: Path) -> None:
    write_zip(path, {"W.npy": b"this is not an array", "a.npy": npy_bytes(np.ones(3))})


def _text(path: Path) -> None:
    path.write_text("W,a\n1,2\n")


@pytest.mark.parametrize("make", [_truncated, _bad_crc, _not_npy, _text])
def test_unreadable_weights_files_are_one_line(tmp_path, make):
    make(tmp_path / "w.npz")
    with pytest.raises(ConfigError, match=r"w\.npz") as info:
        load_network(tmp_path / "w.npz", 2, False)
    assert "\n" not in str(info.value) and "pickle" not in str(info.value)


def test_weights_claiming_a_huge_shape_are_a_resource_limit(tmp_path):
    write_zip(tmp_path / "w.npz", {"W.npy": claimed_npy((10**12, 10**3), b"\0" * 64), "a.npy": npy_bytes(np.ones(3))})
    with pytest.raises(ResourceLimitError, match=r"w\.npz: array 'W'"):
        load_network(tmp_path / "w.npz", 2, False)


def test_weights_storing_more_than_their_header_claims_are_refused(tmp_path):
    write_zip(tmp_path / "w.npz", {"W.npy": claimed_npy((1, 2), np.ones(6).tobytes()), "a.npy": npy_bytes(np.ones(1))})
    with pytest.raises(ConfigError, match=r"w\.npz: array 'W' claims shape \(1, 2\)"):
        load_network(tmp_path / "w.npz", 2, False)


def test_a_weights_path_that_is_a_directory(tmp_path):
    (tmp_path / "w.npz").mkdir()
    with pytest.raises(ConfigError, match=r"w\.npz is a directory"):
        load_network(tmp_path / "w.npz", 2, False)


def test_width_zero_is_refused_when_loading_and_certifying(tmp_path):
    np.savez(tmp_path / "w.npz", W=np.zeros((0, 2)), a=np.zeros(0))
    with pytest.raises(ConfigError, match=r"w\.npz: the network has no neurons \(width 0\)"):
        load_network(tmp_path / "w.npz", 2, False)
    np.savez(tmp_path / "v.npz", W=np.zeros((0, 2)), a=np.zeros((0, 2)))
    with pytest.raises(ConfigError, match=r"v\.npz: .*no neurons \(width 0\)"):
        load_arrays(tmp_path / "v.npz", {"W": 2, "a": 2}, "layout")
    X, y, tol = np.eye(2), np.ones(2), CertifyTolerances()
    with pytest.raises(ConfigError, match=r"no neurons \(width 0\)"):
        certify(Network(W=np.zeros((0, 2)), a=np.zeros(0)), X, y, np.ones((2, 1)), beta=0.1, skip=False, p_star=0.19,
                solver="clarabel", tol=tol)
    with pytest.raises(ConfigError, match=r"no neurons \(width 0\)"):
        certify_vector(np.zeros((0, 2)), np.zeros((0, 2)), X, np.ones((2, 2)), beta=0.1, p_star=0.3, tol=tol)
    with pytest.raises(ConfigError, match=r"no neurons"):
        certify_parallel(np.zeros((2, 2, 0)), np.zeros((2, 0)), np.ones(2), X, y, beta=0.1, p_star=0.2,
                         directions=np.zeros((0, 2)), tol=tol)


def test_certify_refuses_weights_whose_objective_overflows():
    X, y, tol = np.eye(2), np.ones(2), CertifyTolerances()
    big = np.full((2, 2), 1e300)
    with pytest.raises(ConfigError, match="too large to evaluate the objective in float64"):
        certify(Network(W=big, a=np.full(2, 1e300)), X, y, np.ones((2, 1)), beta=0.1, skip=False, p_star=0.19,
                solver="clarabel", tol=tol)
    with pytest.raises(ConfigError, match="too large to evaluate the objective in float64"):
        certify_vector(big, big, X, np.ones((2, 2)), beta=0.1, p_star=0.3, tol=tol)
    with pytest.raises(ConfigError, match="too large to evaluate the objective in float64"):
        certify_parallel(np.full((2, 2, 3), 0.1), np.full((2, 3), 1e300), np.full(2, 1e300), X, y, beta=0.1,
                         p_star=0.2, directions=np.zeros((0, 2)), tol=tol)


# ----------------------------------------------------------------------------- the command line


@pytest.mark.parametrize("name, make, code, needles", [
    ("width0", lambda p: np.savez(p, W=np.zeros((0, 2)), a=np.zeros(0)), 2, ["no neurons (width 0)"]),
    ("huge", lambda p: np.savez(p, W=np.full((1, 2), 1e300), a=np.ones(1) * 1e300), 2, ["too large"]),
    ("complex", lambda p: np.savez(p, W=np.ones((1, 2)) + 1j, a=np.ones(1)), 2, ["array 'W' is complex"]),
    ("truncated", _truncated, 2, ["w_truncated.npz"]),
    ("claim", lambda p: write_zip(p, {"W.npy": claimed_npy((10**12, 10**3), b"\0" * 64),
                                      "a.npy": npy_bytes(np.ones(1))}), 5, ["array 'W'", "10**8"]),
])
@pytest.mark.slow
def test_certify_command_with_bad_weights(tmp_path, name, make, code, needles):
    make(tmp_path / f"w_{name}.npz")
    before = sorted(tmp_path.iterdir())
    one_error_line(cli("certify", "--config", EXAMPLE, "--weights", str(tmp_path / f"w_{name}.npz")), code, *needles)
    assert sorted(tmp_path.iterdir()) == before


@pytest.mark.slow
def test_certify_command_vector_and_parallel_width_zero(tmp_path):
    np.savez(tmp_path / "v.npz", W=np.zeros((0, 2)), a=np.zeros((0, 2)))
    one_error_line(cli("certify", "--config", VECTOR, "--weights", str(tmp_path / "v.npz")), 2, "no neurons")
    np.savez(tmp_path / "p.npz", W=np.zeros((0, 2, 3)), v=np.zeros((0, 3)), a=np.zeros(0))
    one_error_line(cli("certify", "--config", PARALLEL, "--weights", str(tmp_path / "p.npz")), 2, "no neurons")


@pytest.mark.slow
def test_path_command_with_a_width_zero_start(tmp_path):
    np.savez(tmp_path / "w.npz", W=np.zeros((0, 2)), a=np.zeros(0))
    out = tmp_path / "out"
    one_error_line(cli("path", "--config", EXAMPLE, "--from", str(tmp_path / "w.npz"), "--out", str(out)), 2,
                   "no neurons")
    assert not out.exists()


@pytest.mark.parametrize("name, make, code, needles", [
    ("d.csv", lambda p: p.write_text("1,,3\n4,5,6\n7,8,9\n"), 2, ["line 1, column 2: missing value"]),
    ("d.npz", lambda p: np.savez(p, X=np.ones((3, 2)) + 1j, y=np.ones(3)), 2, ["array 'X' is complex"]),
    ("d.npz", lambda p: write_zip(p, {"X.npy": claimed_npy((10**12, 10**3), b"\0" * 64),
                                      "y.npy": npy_bytes(np.ones(3))}), 5, ["array 'X'"]),
])
def test_solve_command_with_bad_data(tmp_path, name, make, code, needles):
    make(tmp_path / name)
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"beta: 0.1\ndata: {{kind: file, path: {tmp_path / name}}}\n")
    out = tmp_path / "r.json"
    one_error_line(cli("solve", "--config", str(cfg), "--out", str(out)), code, name, *needles)
    assert not out.exists()
