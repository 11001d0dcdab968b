"""Results as plain files: JSON conversion, atomic writes, provenance (versions, git revision)."""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import numpy as np


def jsonable(obj: Any) -> Any:
    """Convert numpy scalars/arrays and tuples to JSON-native types; non-finite floats to None."""
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return jsonable(obj.tolist())
    if isinstance(obj, (np.bool_, bool)):
        return bool(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, (np.floating, float)):
        value = float(obj)
        return value if np.isfinite(value) else None
    return obj


def dumps(obj: Any) -> str:
    return json.dumps(jsonable(obj), indent=2, sort_keys=False)


def atomic_write_text(path: str | Path, text: str, *, overwrite: bool = False) -> Path:
    """Write via a temporary file and rename, so readers never see a half-written file."""
    path = Path(path)
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} exists; refusing to overwrite it")
    with replacing(path, ".tmp") as tmp:
        with open(tmp, "x") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
    return path


@contextmanager
def replacing(path: Path, suffix: str) -> Iterator[Path]:
    """Yield a fresh temporary name beside ``path``; rename it onto ``path`` when the block ends,
    remove it if the block raises (Ctrl-C and SIGTERM included). The name is chosen before the
    file exists, so an interrupt at any point leaves no temporary file behind."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.{uuid.uuid4().hex[:8]}{suffix}"
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def versions() -> dict[str, str]:
    """Versions of the packages a result depends on."""
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for pkg in ("convexdual", "numpy", "scipy", "cvxpy", "clarabel", "scs", "mosek", "pycddlib-standalone"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            continue
    return out


def git_revision() -> str | None:
    """The git revision of the convexdual checkout, with '+dirty' when it has local changes."""
    here = Path(__file__).resolve().parent
    try:
        rev = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5)
        if rev.returncode != 0:
            return None
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=here,
                               capture_output=True, text=True, timeout=5)
        return rev.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return None


# ----------------------------------------------------------------------------- network weights

WEIGHTS_LAYOUT = ("W: (m, d) first-layer weights, acting on the inputs with the bias column appended (last "
                  "column = 1) when data.bias is true; a: (m,) output weights; z: (d,) skip-connection weights "
                  "(only with model.skip); config_hash: the 12-character hash of the config it belongs to")


VECTOR_LAYOUT = "W: (m, d) first-layer weights; a: (m, c) output weights; config_hash"
PARALLEL_LAYOUT = "W: (K, d, m1) first layers; v: (K, m1) second layers; a: (K,) output weights; config_hash"


def _read_npz(path: str | Path) -> dict[str, np.ndarray]:
    """Every array of an .npz file, or ConfigError (missing or unreadable file)."""
    from .errors import ConfigError

    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"weights file not found: {path}")
    try:
        with np.load(path, allow_pickle=False) as f:
            return {k: f[k] for k in f.files}
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: not a readable .npz file ({exc})") from None


def load_arrays(path: str | Path, ndims: dict[str, int], layout: str) -> tuple[dict[str, np.ndarray], str | None]:
    """Read named float arrays of given dimensions from an .npz (and its config_hash), or raise
    ConfigError with one line naming the problem."""
    from .errors import ConfigError

    arrays = _read_npz(path)
    out = {}
    for key, ndim in ndims.items():
        if key not in arrays:
            raise ConfigError(f"{path}: missing array '{key}' (layout: {layout})")
        arr = np.asarray(arrays[key], float)
        if arr.ndim != ndim:
            raise ConfigError(f"{path}: '{key}' must have {ndim} dimensions (layout: {layout}), got shape {arr.shape}")
        if not np.all(np.isfinite(arr)):
            raise ConfigError(f"{path}: {key} contains NaN or infinite values")
        out[key] = arr
    return out, (str(arrays["config_hash"]) if "config_hash" in arrays else None)


def save_network(path: str | Path, W: np.ndarray, a: np.ndarray, z: np.ndarray | None, config_hash: str,
                 **extra: Any) -> Path:
    """Write a network as .npz (layout: WEIGHTS_LAYOUT) atomically; never overwrites."""
    path = Path(path)
    if path.exists():
        raise FileExistsError(f"{path} exists; refusing to overwrite it")
    arrays: dict[str, Any] = {"W": np.asarray(W, float), "a": np.asarray(a, float), "config_hash": np.array(config_hash)}
    if z is not None:
        arrays["z"] = np.asarray(z, float)
    arrays.update({k: np.asarray(v) for k, v in extra.items()})
    with replacing(path, ".tmp.npz") as tmp:
        np.savez(tmp, **arrays)
    return path


def load_network(path: str | Path, d: int, skip: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, str | None]:
    """Read and check a network file: (W, a, z, config_hash). Raises ConfigError on a bad file."""
    from .errors import ConfigError

    arrays = _read_npz(path)
    for key in ("W", "a"):
        if key not in arrays:
            raise ConfigError(f"{path}: missing array '{key}' (layout: {WEIGHTS_LAYOUT})")
    W, a = np.asarray(arrays["W"], float), np.asarray(arrays["a"], float)
    if W.ndim != 2 or a.ndim != 1 or W.shape[0] != a.shape[0]:
        raise ConfigError(f"{path}: W must be (m, d) and a (m,), got {W.shape} and {a.shape}")
    if W.shape[1] != d:
        raise ConfigError(f"{path}: W has {W.shape[1]} input columns but the config's data have d = {d}"
                          " (bias column included)")
    z = np.asarray(arrays["z"], float) if "z" in arrays else None
    if skip and (z is None or z.shape != (d,)):
        raise ConfigError(f"{path}: the config has a skip connection; the file needs z of shape ({d},)")
    if not skip and z is not None and np.any(z != 0):
        raise ConfigError(f"{path}: the file has skip weights z but the config has no skip connection")
    for name, arr in (("W", W), ("a", a), ("z", z)):
        if arr is not None and not np.all(np.isfinite(arr)):
            raise ConfigError(f"{path}: {name} contains NaN or infinite values")
    h = str(arrays["config_hash"]) if "config_hash" in arrays else None
    return W, a, (z if skip else None), h
