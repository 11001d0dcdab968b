"""Step 2 of the pipeline: :class:`~convexdual.config.DataConfig` -> arrays.

Every function here is pure: it reads the config (and, for ``kind: file``, the file) and returns
a :class:`Dataset` or raises :class:`~convexdual.errors.ConfigError` with one line naming the
offending key or file. Nothing is printed.
"""

from __future__ import annotations

import hashlib
import math
from array import array
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np

from .config import MAX_DATA_BYTES, DataConfig, find_data_file
from .errors import ConfigError, ResourceLimitError

SKLEARN_LOADERS = {
    "diabetes": "load_diabetes",
    "iris": "load_iris",
    "wine": "load_wine",
    "breast_cancer": "load_breast_cancer",
    "linnerud": "load_linnerud",  # 20 athletes: 3 exercise inputs, 3 physiological outputs
}


@dataclass(frozen=True)
class Dataset:
    """Design matrix and targets.

    ``X`` is (n, d) float64; when ``bias`` is true its LAST column is all ones (that column is a
    weight like any other and is penalized). ``y`` is (n,) float64. With vector targets
    (``model.outputs`` = c > 1) ``Y`` is (n, c) and ``y`` is its first column.
    """

    X: np.ndarray
    y: np.ndarray
    bias: bool
    feature_names: list[str]
    description: str
    Y: np.ndarray | None = None

    @property
    def targets(self) -> np.ndarray:
        """(n, c) targets: Y, or y as one column."""
        return self.Y if self.Y is not None else self.y[:, None]

    @property
    def n(self) -> int:
        """Number of samples."""
        return int(self.X.shape[0])

    @property
    def d(self) -> int:
        """Number of columns of ``X`` (including the bias column, if any)."""
        return int(self.X.shape[1])


# ----------------------------------------------------------------------------- entry point


def load_data(cfg: DataConfig, base_dir: str | Path | None = None) -> Dataset:
    """Build the :class:`Dataset` described by ``cfg``.

    ``base_dir`` (the config file's directory) is a fallback for relative ``data.path``.
    """
    if cfg.kind == "points":
        X, y, names, desc, x_label, y_label = _points(cfg)
    elif cfg.kind == "gaussian":
        X, y, names, desc, x_label, y_label = _gaussian(cfg)
    elif cfg.kind == "circle":
        X, y, names, desc, x_label, y_label = _circle(cfg)
    elif cfg.kind == "file":
        X, y, names, desc, x_label, y_label = _file(cfg, base_dir)
    elif cfg.kind == "sklearn":
        X, y, names, desc, x_label, y_label = _sklearn(cfg)
    else:
        raise ConfigError(f"config key 'data.kind' has unknown value {cfg.kind!r}")

    X, y = _check_arrays(X, y, x_label, y_label)
    Y = y if y.ndim == 2 else None
    if (Y.shape[1] if Y is not None else 1) != cfg.outputs:
        raise ConfigError(f"{y_label} has {Y.shape[1] if Y is not None else 1} column(s) but model.outputs is "
                          f"{cfg.outputs}")
    if cfg.standardize:
        if Y is not None:
            X, _ = standardize(X, Y[:, 0])
            Y = np.column_stack([standardize(X, col)[1] for col in Y.T])
        else:
            X, y = standardize(X, y)
        desc += " (standardized)"
    if Y is not None:
        y = Y[:, 0]
    if cfg.bias:
        X = add_bias(X)
        names = [*names, "bias"]
        desc += " (+bias)"
    return Dataset(
        X=np.ascontiguousarray(X, dtype=np.float64),
        y=np.ascontiguousarray(y, dtype=np.float64),
        bias=bool(cfg.bias),
        feature_names=list(names),
        description=desc,
        Y=np.ascontiguousarray(Y, dtype=np.float64) if Y is not None else None,
    )


# ----------------------------------------------------------------------------- transforms


def standardize(X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Center every column of ``X`` and ``y`` and scale to unit std (constant ones: center only)."""
    X = np.array(X, dtype=np.float64)
    y = np.array(y, dtype=np.float64)
    X = X - X.mean(axis=0)
    for j in range(X.shape[1]):
        std = X[:, j].std()
        if std > 0 and not np.all(X[:, j] == X[0, j]):
            X[:, j] /= std
    y = y - y.mean()
    std_y = y.std()
    if std_y > 0 and not np.all(y == y[0]):
        y = y / std_y
    return X, y


def add_bias(X: np.ndarray) -> np.ndarray:
    """Append a column of ones."""
    return np.hstack([X, np.ones((X.shape[0], 1))])


# ----------------------------------------------------------------------------- kinds

_Raw = tuple[np.ndarray, np.ndarray, list[str], str, str, str]


def _points(cfg: DataConfig) -> _Raw:
    rows = _require(cfg.X, "X", cfg.kind)
    X = _rows_to_matrix(rows, "data.X")
    d = X.shape[1]
    if cfg.Y is not None:
        return X, _rows_to_matrix(cfg.Y, "data.Y"), _default_names(d), f"points n={X.shape[0]} d={d}", "data.X", "data.Y"
    y = _require(cfg.y, "y", cfg.kind)
    return X, _to_vector(y, "data.y"), _default_names(d), f"points n={X.shape[0]} d={d}", "data.X", "data.y"


def _gaussian(cfg: DataConfig) -> _Raw:
    n = _require(cfg.n, "n", cfg.kind)
    d = _require(cfg.d, "d", cfg.kind)
    if n <= 0 or d <= 0:
        raise ConfigError(f"data.n and data.d must be positive, got n={n} d={d}")
    rng = np.random.default_rng(cfg.seed)
    X = rng.standard_normal((n, d))
    y = rng.standard_normal(n) if cfg.outputs == 1 else rng.standard_normal((n, cfg.outputs))
    return X, y, _default_names(d), f"gaussian n={n} d={d} seed={cfg.seed}", "data.X", "data.y"


def _circle(cfg: DataConfig) -> _Raw:
    angles = _to_vector(_require(cfg.angles_deg, "angles_deg", cfg.kind), "data.angles_deg")
    y = _to_vector(_require(cfg.y, "y", cfg.kind), "data.y")
    if len(angles) != len(y):
        raise ConfigError(f"data.angles_deg has {len(angles)} entries but data.y has {len(y)} entries")
    if not np.all(np.isfinite(angles)):
        raise ConfigError("data.angles_deg contains NaN or inf")
    rad = np.deg2rad(angles)
    X = np.column_stack([np.cos(rad), np.sin(rad)])
    return X, y, ["cos", "sin"], f"circle n={len(angles)}", "data.angles_deg", "data.y"


def _file(cfg: DataConfig, base_dir: str | Path | None) -> _Raw:
    """A .csv or .npz file, parsed from the bytes whose sha256 is checked against ``cfg.digest``."""
    raw_path = _require(cfg.path, "path", cfg.kind)
    path = resolve_path(raw_path, base_dir)
    raw = _read_bytes(path)
    if cfg.digest is not None and hashlib.sha256(raw).hexdigest() != cfg.digest:
        raise ConfigError(f"data file {path} changed since its config was read; run again")
    if path.suffix.lower() == ".npz":
        X, y = _read_npz(raw, path)
        names = _default_names(X.shape[1])
    else:
        X, y, names = _read_csv(raw, path, cfg.y_column)
    label = f"data file {path}"
    desc = f"file {raw_path} n={X.shape[0]} d={X.shape[1]}"
    return X, y, names, desc, f"{label}: X", f"{label}: y"


def _sklearn(cfg: DataConfig) -> _Raw:
    name = _require(cfg.name, "name", cfg.kind)
    if name not in SKLEARN_LOADERS:
        raise ConfigError(f"config key 'data.name' must be one of {', '.join(SKLEARN_LOADERS)}; got {name!r}")
    import sklearn.datasets

    bunch = getattr(sklearn.datasets, SKLEARN_LOADERS[name])()
    X = np.asarray(bunch.data, dtype=np.float64)
    y = np.asarray(bunch.target, dtype=np.float64)
    if name == "breast_cancer":
        y = np.where(y > 0, 1.0, -1.0)
    names = [str(f) for f in getattr(bunch, "feature_names", _default_names(X.shape[1]))]

    cols = _select_features(cfg.features, X.shape[1], name)
    X = X[:, cols]
    names = [names[j] for j in cols]

    rows = X.shape[0]
    if cfg.n is not None:
        if cfg.n <= 0:
            raise ConfigError(f"config key 'data.n' must be a positive integer, got {cfg.n}")
        if cfg.n > rows:
            raise ConfigError(f"data.n={cfg.n} but sklearn dataset '{name}' has only {rows} rows")
        if cfg.n < rows:
            idx = np.sort(np.random.default_rng(cfg.seed).choice(rows, size=cfg.n, replace=False))
            X, y = X[idx], y[idx]
    desc = f"sklearn {name} n={X.shape[0]} d={X.shape[1]}"
    if cfg.n is not None and cfg.n < rows:
        desc += f" seed={cfg.seed}"
    return X, y, names, desc, f"sklearn dataset '{name}': X", f"sklearn dataset '{name}': y"


def _select_features(features: int | list[int] | None, total: int, name: str) -> list[int]:
    """Column indices picked by ``data.features``."""
    if features is None:
        return list(range(total))
    if isinstance(features, bool):
        raise ConfigError(f"config key 'data.features' must be an integer or a list, got {features!r}")
    if isinstance(features, int):
        if features <= 0 or features > total:
            raise ConfigError(f"data.features={features} is out of range: '{name}' has {total} features")
        return list(range(features))
    cols = list(features)
    if not cols:
        raise ConfigError("data.features is an empty list; select at least one column")
    for i, j in enumerate(cols):
        if isinstance(j, bool) or not isinstance(j, (int, np.integer)) or not 0 <= j < total:
            raise ConfigError(
                f"data.features[{i}]={j!r} is out of range: '{name}' has {total} features (0..{total - 1})"
            )
    return [int(j) for j in cols]


# ----------------------------------------------------------------------------- files


def resolve_path(raw: str | Path, base_dir: str | Path | None = None) -> Path:
    """Find a data file: as given (relative to the current directory), then relative to ``base_dir``
    (the rules of :func:`convexdual.config.find_data_file`)."""
    return find_data_file(str(raw), Path(base_dir) if base_dir is not None else None)


def _read_bytes(path: Path) -> bytes:
    """The bytes of a data file of at most MAX_DATA_BYTES bytes."""
    limit = f"the limit is {MAX_DATA_BYTES // 2**30} GiB"
    try:
        size = path.stat().st_size
        if size > MAX_DATA_BYTES:
            raise ResourceLimitError(f"data file {path} is {size} bytes; {limit}")
        with open(path, "rb") as fh:
            raw = fh.read(MAX_DATA_BYTES + 1)
    except OSError as exc:
        raise ConfigError(f"data file {path}: cannot read: {exc.strerror or exc}") from None
    if len(raw) > MAX_DATA_BYTES:
        raise ResourceLimitError(f"data file {path} is larger than {MAX_DATA_BYTES} bytes; {limit}")
    return raw


def _read_npz(raw: bytes, path: Path) -> tuple[np.ndarray, np.ndarray]:
    """X (n, d) and y, (n,) or (n, c), from the bytes of an .npz; other arrays are ignored."""
    from .results import real_array, npz_arrays

    where = f"data file {path}"
    arrays, found = npz_arrays(raw, where, ("X", "y"), MAX_DATA_BYTES // 8)
    missing = [k for k in ("X", "y") if k not in arrays]
    if missing:
        raise ConfigError(f"{where}: missing array {' and '.join(map(repr, missing))} "
                          f"(found: {', '.join(map(repr, found[:5])) or 'none'}{', ...' if len(found) > 5 else ''})")
    X = real_array(arrays["X"], f"{where}: array 'X'")
    y = real_array(arrays["y"], f"{where}: array 'y'")
    if X.ndim == 1:
        X = X.reshape(-1, 1)
    if X.ndim != 2:
        raise ConfigError(f"{where}: array 'X' must be 2-D (n, d) or 1-D (n,), got shape {X.shape}")
    if y.ndim == 2 and (y.shape[1] == 1 or (y.shape[0] == 1 and X.shape[0] != 1)):
        y = y.reshape(-1)  # a column (n, 1) or a row (1, n)
    if y.ndim not in (1, 2):
        raise ConfigError(f"{where}: array 'y' must be 1-D (n,) or 2-D (n, c), got shape {y.shape}")
    return X, y


def _read_csv(raw: bytes, path: Path, y_column: int) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Columns of numbers from the bytes of a UTF-8 CSV file; the first row is a header when some
    field of it is neither empty nor a number. '#' lines and blank lines are skipped."""
    where = f"data file {path}"
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{where}: not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start}); "
                          "save it as UTF-8") from None
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")

    header: list[str] | None = None
    width: int | None = None
    values = array("d")
    rows = 0
    for no, line in enumerate(_lines(text), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        fields = [field.strip() for field in line.split(",")]
        if width is None and header is None and any(f and _number(f) is None for f in fields):
            header = [f.strip('"').strip("'") for f in fields]
            width = len(header)
            continue
        if width is None:
            width = len(fields)
        if len(fields) != width:
            what = "the header has" if header is not None and not rows else "earlier rows have"
            raise ConfigError(f"{where}: line {no} has {len(fields)} columns but {what} {width} (ragged)")
        for j, field in enumerate(fields):
            values.append(_field(field, where, no, j))
        rows += 1
    if not rows:
        raise ConfigError(f"{where}: no data rows (only a header)" if header is not None else f"{where}: no data")

    ncols = width or 0
    if ncols < 2:
        raise ConfigError(f"{where}: need at least 2 columns (features and target), got {ncols}")
    idx = y_column + ncols if y_column < 0 else y_column
    if not 0 <= idx < ncols:
        raise ConfigError(f"data.y_column={y_column} is out of range for {where} with {ncols} columns")
    data = np.frombuffer(values, dtype=np.float64).reshape(rows, ncols)
    keep = [j for j in range(ncols) if j != idx]
    names = [header[j] for j in keep] if header is not None else _default_names(len(keep))
    return data[:, keep], data[:, idx].copy(), names


def _lines(text: str) -> Iterator[str]:
    """The lines of ``text`` one at a time (no list of every line is built)."""
    start = 0
    while (end := text.find("\n", start)) >= 0:
        yield text[start:end]
        start = end + 1
    yield text[start:]


def _number(field: str) -> float | None:
    """The value of a numeric field, or None."""
    try:
        return float(field)
    except ValueError:
        return None


def _field(field: str, where: str, line: int, col: int) -> float:
    """Field ``col`` (from 0) of a data line as a finite float, or ConfigError naming line and column."""
    value = _number(field) if field else None
    if value is not None and math.isfinite(value):
        return value
    at = f"{where}: line {line}, column {col + 1}"
    shown = repr(field if len(field) <= 40 else field[:40] + "...")
    if not field:
        raise ConfigError(f"{at}: missing value")
    if value is None:
        raise ConfigError(f"{at}: {shown} is not a number")
    raise ConfigError(f"{at}: {shown} is NaN, infinite or beyond the float64 range")


# ----------------------------------------------------------------------------- helpers


def _require(value: Any, key: str, kind: str) -> Any:
    if value is None:
        raise ConfigError(f"data.{key} is required when data.kind is '{kind}'")
    return value


def _default_names(d: int) -> list[str]:
    return [f"x{j}" for j in range(d)]


def _rows_to_matrix(rows: Sequence[Any], label: str) -> np.ndarray:
    """A list of rows -> 2-D float array, rejecting ragged and non-numeric rows."""
    if isinstance(rows, np.ndarray):
        arr = np.asarray(rows, dtype=np.float64)
        return arr.reshape(-1, 1) if arr.ndim == 1 else arr
    if not isinstance(rows, (list, tuple)):
        raise ConfigError(f"{label} must be a list of rows, got {type(rows).__name__}")
    fixed = [list(r) if isinstance(r, (list, tuple, np.ndarray)) else [r] for r in rows]
    widths = sorted({len(r) for r in fixed})
    if len(widths) > 1:
        raise ConfigError(f"{label} is ragged: rows have lengths {widths}")
    try:
        return np.array(fixed, dtype=np.float64).reshape(len(fixed), widths[0] if widths else 0)
    except (TypeError, ValueError):
        raise ConfigError(f"{label} must contain only numbers") from None


def _to_vector(values: Any, label: str) -> np.ndarray:
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise ConfigError(f"{label} must be a list of numbers") from None
    if arr.ndim != 1:
        raise ConfigError(f"{label} must be a flat list of numbers, got shape {arr.shape}")
    return arr


def _check_arrays(X: np.ndarray, y: np.ndarray, x_label: str, y_label: str) -> tuple[np.ndarray, np.ndarray]:
    """Shape, emptiness and finiteness checks common to every kind."""
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if X.ndim != 2:
        raise ConfigError(f"{x_label} must be 2-D, got shape {X.shape}")
    if X.shape[0] == 0:
        raise ConfigError(f"{x_label} is empty: no samples")
    if X.shape[1] == 0:
        raise ConfigError(f"{x_label} is empty: no feature columns")
    if y.size == 0:
        raise ConfigError(f"{y_label} is empty (shape {y.shape})")
    if X.shape[0] != y.shape[0]:
        raise ConfigError(f"{x_label} has {X.shape[0]} rows but {y_label} has {y.shape[0]} "
                          f"{'rows' if y.ndim == 2 else 'entries'}")
    if not np.all(np.isfinite(X)):
        raise ConfigError(f"{x_label} contains NaN or inf")
    if not np.all(np.isfinite(y)):
        raise ConfigError(f"{y_label} contains NaN or inf")
    return X, y


__all__ = ["Dataset", "load_data", "standardize", "add_bias", "resolve_path"]
