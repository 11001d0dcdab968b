"""Step 2 of the pipeline: :class:`~convexdual.config.DataConfig` -> arrays.

Every function here is pure: it reads the config (and, for ``kind: file``, the file) and returns
a :class:`Dataset` or raises :class:`~convexdual.errors.ConfigError` with one line naming the
offending key or file. Nothing is printed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from .config import DataConfig
from .errors import ConfigError

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
    raw_path = _require(cfg.path, "path", cfg.kind)
    path = resolve_path(raw_path, base_dir)
    suffix = path.suffix.lower()
    if suffix == ".npz":
        X, y = _read_npz(path)
        names = _default_names(X.shape[1] if X.ndim == 2 else 0)
    else:
        X, y, names = _read_csv(path, cfg.y_column)
    label = f"data file {path}"
    desc = f"file {raw_path} n={X.shape[0]} d={X.shape[1] if X.ndim == 2 else 0}"
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
    """Find ``raw``: as given (relative to the current directory), then relative to ``base_dir``."""
    path = Path(raw).expanduser()
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".npz"):
        raise ConfigError(f"data.path {str(raw)!r}: unsupported file type {suffix or '(none)'!r}; use .csv or .npz")
    tried = [path]
    if path.is_file():
        return path
    if base_dir is not None and not path.is_absolute():
        alt = Path(base_dir) / path
        tried.append(alt)
        if alt.is_file():
            return alt
    raise ConfigError(f"data.path: file not found: {' or '.join(str(p) for p in tried)}")


def _read_npz(path: Path) -> tuple[np.ndarray, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as archive:
            missing = [k for k in ("X", "y") if k not in archive.files]
            if missing:
                raise ConfigError(
                    f"data file {path}: missing array {' and '.join(map(repr, missing))} "
                    f"(found: {', '.join(archive.files) or 'none'})"
                )
            X, y = archive["X"], archive["y"]
    except ConfigError:
        raise
    except Exception as exc:  # corrupt archive, pickled objects, not a zip file, ...
        raise ConfigError(f"data file {path}: cannot read npz: {str(exc).splitlines()[0] if str(exc) else exc}") from None
    for key, arr in (("X", X), ("y", y)):
        if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_):
            raise ConfigError(f"data file {path}: array '{key}' is not numeric (dtype {arr.dtype})")
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if X.ndim == 1:
        X = X.reshape(-1, 1)
    if X.ndim != 2:
        raise ConfigError(f"data file {path}: array 'X' must be 2-D, got shape {X.shape}")
    if y.ndim == 2 and 1 in y.shape:
        y = y.reshape(-1)
    if y.ndim != 1:
        raise ConfigError(f"data file {path}: array 'y' must be 1-D, got shape {y.shape}")
    return X, y


def _read_csv(path: Path, y_column: int) -> tuple[np.ndarray, np.ndarray, list[str]]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"data file {path}: cannot read: {exc}") from None
    lines = [(i + 1, line.strip()) for i, line in enumerate(text.splitlines())]
    lines = [(no, line) for no, line in lines if line and not line.startswith("#")]
    if not lines:
        raise ConfigError(f"data file {path}: no data")

    header: list[str] | None = None
    first_no, first = lines[0]
    if _parse_row(first) is None:
        header = [c.strip().strip('"').strip("'") for c in first.split(",")]
        lines = lines[1:]
    if not lines:
        raise ConfigError(f"data file {path}: no data rows (only a header)")

    rows: list[list[float]] = []
    width = len(header) if header is not None else None
    for no, line in lines:
        row = _parse_row(line)
        if row is None:
            raise ConfigError(f"data file {path}: line {no} is not a comma-separated list of numbers")
        if width is None:
            width = len(row)
        if len(row) != width:
            what = "the header has" if header is not None and not rows else "earlier rows have"
            raise ConfigError(f"data file {path}: line {no} has {len(row)} columns but {what} {width} (ragged)")
        rows.append(row)

    ncols = width or 0
    if ncols < 2:
        raise ConfigError(f"data file {path}: need at least 2 columns (features and target), got {ncols}")
    idx = y_column + ncols if y_column < 0 else y_column
    if not 0 <= idx < ncols:
        raise ConfigError(f"data.y_column={y_column} is out of range for data file {path} with {ncols} columns")
    data = np.array(rows, dtype=np.float64)
    keep = [j for j in range(ncols) if j != idx]
    names = [header[j] for j in keep] if header is not None else _default_names(len(keep))
    return data[:, keep], data[:, idx], names


def _parse_row(line: str) -> list[float] | None:
    """The numbers of a comma-separated line, or None if some field is not a number."""
    try:
        return [float(field) for field in line.split(",")]
    except ValueError:
        return None


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
    if X.shape[0] == 0 or y.size == 0:
        raise ConfigError(f"{x_label} is empty: no samples")
    if X.shape[1] == 0:
        raise ConfigError(f"{x_label} is empty: no feature columns")
    if X.shape[0] != y.shape[0]:
        raise ConfigError(f"{x_label} has {X.shape[0]} rows but {y_label} has {y.shape[0]} entries")
    if not np.all(np.isfinite(X)):
        raise ConfigError(f"{x_label} contains NaN or inf")
    if not np.all(np.isfinite(y)):
        raise ConfigError(f"{y_label} contains NaN or inf")
    return X, y


__all__ = ["Dataset", "load_data", "standardize", "add_bias", "resolve_path"]
