"""Results as plain files: JSON conversion, atomic writes, provenance (versions, git revision)."""

from __future__ import annotations

import io
import json
import math
import os
import subprocess
import uuid
import zipfile
import zlib
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterable, Iterator

import numpy as np

from .errors import ConfigError, ResourceLimitError, first_line


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
    """Write via a temporary file and rename, so readers never see a half-written file. Without
    ``overwrite`` an existing file is never replaced, even one created meanwhile by another process."""
    path = Path(path)
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} exists; refusing to overwrite it")
    with replacing(path, ".tmp", exclusive=not overwrite) as tmp:
        with open(tmp, "x") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
    return path


@contextmanager
def replacing(path: Path, suffix: str, exclusive: bool = False) -> Iterator[Path]:
    """Yield a fresh temporary name beside ``path``; rename it onto ``path`` when the block ends,
    remove it if the block raises (Ctrl-C and SIGTERM included). The name is chosen before the
    file exists, so an interrupt at any point leaves no temporary file behind. ``exclusive``: the
    file is linked into place, which fails (FileExistsError) when ``path`` exists by then."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.{uuid.uuid4().hex[:8]}{suffix}"
    try:
        yield tmp
        if exclusive:
            try:
                os.link(tmp, path)
            except FileExistsError:
                raise FileExistsError(f"{path} exists; refusing to overwrite it") from None
            except OSError:  # a file system without hard links: check, then rename
                if path.exists():
                    raise FileExistsError(f"{path} exists; refusing to overwrite it") from None
                os.replace(tmp, path)
            tmp.unlink(missing_ok=True)
        else:
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


_MAX_WEIGHT_ELEMENTS = 10**8  # a weights file claiming more elements (all arrays read) is refused

_DTYPE_PROBLEMS = {"c": "is complex", "U": "holds strings", "S": "holds bytes",
                   "O": "holds Python objects (pickled data are never loaded)",
                   "V": "is a structured (record) array", "M": "holds dates or times", "m": "holds dates or times"}


MAX_NPZ_MEMBERS = 1000  # an .npz of convexdual holds a handful of arrays


def _zip_member_count(source: str | Path | bytes) -> int | None:
    """The number of members a zip archive's end record announces, read from its last bytes
    (before the central directory is parsed); None when there is no end record. Zip64 archives
    (65,535 members or more) count as 65,535."""
    if isinstance(source, bytes):
        tail = source[-(2**16 + 22):]
    else:
        with open(source, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            fh.seek(max(0, fh.tell() - (2**16 + 22)))
            tail = fh.read()
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or at + 12 > len(tail):
        return None
    return int.from_bytes(tail[at + 10:at + 12], "little")


def npz_arrays(source: str | Path | bytes, label: str, keys: Iterable[str],
               max_elements: int) -> tuple[dict[str, np.ndarray], list[str]]:
    """The arrays ``keys`` that an .npz (a path or its bytes) holds, and the names of all its members.

    Each member's .npy header is read before its data: more than ``max_elements`` elements (over
    the arrays read) raise ResourceLimitError; a member that is not a valid .npy, holds pickled
    objects or stores another number of bytes than its header claims raises ConfigError. Members
    not in ``keys`` are not read. ``label`` starts every message (e.g. "data file d.npz").
    """

    try:
        count = _zip_member_count(source)
    except OSError as exc:
        raise ConfigError(f"{label}: cannot read: {exc.strerror or exc}") from None
    if count is not None and count > MAX_NPZ_MEMBERS:
        raise ResourceLimitError(f"{label}: the archive announces {count} members; an .npz may hold at most "
                                 f"{MAX_NPZ_MEMBERS}")
    try:
        archive = zipfile.ZipFile(io.BytesIO(source) if isinstance(source, bytes) else source)
    except (zipfile.BadZipFile, EOFError, ValueError):
        raise ConfigError(f"{label}: not an .npz file (not a readable zip archive)") from None
    except OSError as exc:
        raise ConfigError(f"{label}: cannot read: {exc.strerror or exc}") from None
    with archive:
        members = {(info.filename[:-4] if info.filename.endswith(".npy") else info.filename): info
                   for info in archive.infolist()}
        arrays: dict[str, np.ndarray] = {}
        for key in keys:
            if key in members:
                used = sum(arr.size for arr in arrays.values())
                arrays[key] = _npy_member(archive, members[key], f"{label}: array '{key}'", used, max_elements)
    return arrays, list(members)


def _npy_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, where: str, used: int,
                max_elements: int) -> np.ndarray:
    """One .npy member of an .npz, its header checked before its data are read (see npz_arrays);
    ``used`` elements of the limit are taken by the arrays read before it."""

    fmt = np.lib.format
    try:
        with archive.open(info) as fh:
            version = fmt.read_magic(fh)
            if version == (1, 0):
                shape, fortran, dtype = fmt.read_array_header_1_0(fh)
            elif version == (2, 0):
                shape, fortran, dtype = fmt.read_array_header_2_0(fh)
            else:
                raise ConfigError(f"{where}: unsupported .npy format version {version[0]}.{version[1]}")
            if dtype.hasobject:
                raise ConfigError(f"{where} {_DTYPE_PROBLEMS['O']}")
            if any(n < 0 for n in shape):
                raise ConfigError(f"{where}: not a valid .npy member (shape {shape})")
            count = math.prod(shape)
            nbytes = count * dtype.itemsize
            stored = info.file_size - fh.tell()
            if used + count > max_elements or nbytes > 8 * max_elements:
                raise ResourceLimitError(f"{where} claims shape {shape} ({count} elements of {dtype}, {nbytes} bytes; "
                                         f"the member stores {stored} bytes), above the limit of "
                                         f"{_power_of_ten(max_elements)} elements ({8 * max_elements / 2**30:.3g} "
                                         "GiB as float64) for the arrays read")
            if stored != nbytes:
                raise ConfigError(f"{where} claims shape {shape} of {dtype} ({nbytes} bytes) but the member stores "
                                  f"{stored} bytes")
            data = fh.read(nbytes)
            if len(data) != nbytes or fh.read(1):
                raise ConfigError(f"{where}: corrupt member (stored size differs from the zip directory's)")
    except ConfigError:
        raise
    except (ValueError, TypeError, SyntaxError, EOFError, OSError, RuntimeError, NotImplementedError,
            zipfile.BadZipFile, zlib.error) as exc:
        reason = (first_line(exc) or type(exc).__name__)
        raise ConfigError(f"{where}: not a valid .npy member ({reason[:200]})") from None
    if nbytes == 0:
        return np.zeros(shape, dtype=dtype)
    return np.frombuffer(data, dtype=dtype).reshape(shape, order="F" if fortran else "C").copy()


def _power_of_ten(n: int) -> str:
    """``n`` as 10**k when it is a power of ten, else as digits."""
    k = len(str(n)) - 1
    return f"10**{k}" if n == 10**k else str(n)


def real_array(arr: np.ndarray, where: str) -> np.ndarray:
    """A bool, integer or real array as float64 (values beyond float64 become inf), or ConfigError
    naming its dtype (``where`` names the file and the array)."""

    if arr.dtype.kind not in "biuf":
        problem = _DTYPE_PROBLEMS.get(arr.dtype.kind, "is not numeric")
        raise ConfigError(f"{where} {problem} (dtype {arr.dtype}); only real numbers are accepted")
    with np.errstate(over="ignore", invalid="ignore"):
        return arr.astype(np.float64)


def _read_npz(path: str | Path, keys: Iterable[str]) -> dict[str, np.ndarray]:
    """The arrays ``keys`` that a weights .npz holds, or ConfigError (missing, unreadable or corrupt
    file) or ResourceLimitError (claimed size above the limit)."""

    path = Path(path)
    if path.is_dir():
        raise ConfigError(f"weights file {path} is a directory")
    if path.exists() and not path.is_file():
        raise ConfigError(f"weights file {path} is not a regular file")
    if not path.is_file():
        raise ConfigError(f"weights file not found: {path}")
    return npz_arrays(path, f"weights file {path}", keys, _MAX_WEIGHT_ELEMENTS)[0]


def _config_hash(arrays: dict[str, np.ndarray], path: str | Path) -> str | None:
    """The config_hash string stored with the weights, if any."""

    if "config_hash" not in arrays:
        return None
    arr = arrays["config_hash"]
    if arr.dtype.kind not in "US" or arr.size != 1:
        raise ConfigError(f"{path}: config_hash must be one string, got dtype {arr.dtype} and shape {arr.shape}")
    value = arr.reshape(-1)[0].item()
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def load_arrays(path: str | Path, ndims: dict[str, int], layout: str) -> tuple[dict[str, np.ndarray], str | None]:
    """Read named float arrays of given dimensions from an .npz (and its config_hash), or raise
    ConfigError with one line naming the problem. An empty array is refused (a first axis of
    length 0 is a network without neurons)."""

    arrays = _read_npz(path, [*ndims, "config_hash"])
    out = {}
    for key, ndim in ndims.items():
        if key not in arrays:
            raise ConfigError(f"{path}: missing array '{key}' (layout: {layout})")
        arr = real_array(arrays[key], f"weights file {path}: array '{key}'")
        if arr.ndim != ndim:
            raise ConfigError(f"{path}: '{key}' must have {ndim} dimensions (layout: {layout}), got shape {arr.shape}")
        if arr.size == 0:
            none = "; the network has no neurons (width 0)" if arr.shape[0] == 0 else ""
            raise ConfigError(f"{path}: array '{key}' is empty (shape {arr.shape}){none}")
        if not np.all(np.isfinite(arr)):
            raise ConfigError(f"{path}: {key} contains NaN or infinite values")
        out[key] = arr
    return out, _config_hash(arrays, path)


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
    with replacing(path, ".tmp.npz", exclusive=True) as tmp:
        np.savez(tmp, **arrays)
    return path


def load_network(path: str | Path, d: int, skip: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, str | None]:
    """Read and check a network file: (W, a, z, config_hash). Raises ConfigError on a bad file."""

    arrays = _read_npz(path, ("W", "a", "z", "config_hash"))
    for key in ("W", "a"):
        if key not in arrays:
            raise ConfigError(f"{path}: missing array '{key}' (layout: {WEIGHTS_LAYOUT})")
    W, a = (real_array(arrays[k], f"weights file {path}: array '{k}'") for k in ("W", "a"))
    if W.ndim != 2 or a.ndim != 1 or W.shape[0] != a.shape[0]:
        raise ConfigError(f"{path}: W must be (m, d) and a (m,), got {W.shape} and {a.shape}")
    if W.shape[0] == 0:
        raise ConfigError(f"{path}: the network has no neurons (width 0)")
    if W.shape[1] != d:
        raise ConfigError(f"{path}: W has {W.shape[1]} input columns but the config's data have d = {d}"
                          " (bias column included)")
    z = real_array(arrays["z"], f"weights file {path}: array 'z'") if "z" in arrays else None
    if skip and (z is None or z.shape != (d,)):
        raise ConfigError(f"{path}: the config has a skip connection; the file needs z of shape ({d},)")
    if not skip and z is not None and np.any(z != 0):
        raise ConfigError(f"{path}: the file has skip weights z but the config has no skip connection")
    for name, arr in (("W", W), ("a", a), ("z", z)):
        if arr is not None and not np.all(np.isfinite(arr)):
            raise ConfigError(f"{path}: {name} contains NaN or infinite values")
    return W, a, (z if skip else None), _config_hash(arrays, path)
