"""Run folders: where `sweep`, `train`, `bench` and `figures` keep what they compute.

A run folder belongs to one run. Its ``run.json`` records the kind of run (sweep, train, bench,
figures) and its identity (for a sweep: the config file, the axes and the plain overrides; for a
training run: the config hash with the training settings); a run of another identity into the same
folder is refused with the reason. While a process works in a folder it holds an exclusive lock on
``.lock`` (released by the operating system when the process ends, however it ends); a second
process is refused with :class:`~convexdual.errors.BusyError`.

Every record (one JSON file per computed point) carries the hash of the config it was computed for
and ``content_sha256``, the sha256 of its own canonical JSON without that key. A record is checked
whenever it is read; one that fails (edited, truncated, foreign, of an older layout) is moved to
``rejected/`` (never deleted), is recomputed, and the user is told once per folder. The digest
detects corruption and careless edits; it is not a signature (whoever recomputes it can forge a
record, though a sweep point must still hash to its own name and pass the type checks).

Layout shared by every kind::

    run.json       {"kind", "identity", "identity_sha256", "created", "convexdual"}
    .lock          the folder's lock (holds the holder's pid, host and start time)
    .records.lock  held for a moment around each check-and-write of a record (main process and jobs)
    rejected/      records that failed their check, with the reason in <name>.reason.txt

and what each kind keeps in it, written with this module's helpers: one record per computed point
under ``points/`` (:func:`record_path`, :func:`write_record`, resumed with
:meth:`RunFolder.read_records`), the run's summary JSON (:func:`write_json`) and its table
(:func:`write_table`), each replaced atomically.
"""

from __future__ import annotations

import csv
import errno
import fcntl
import hashlib
import io
import json
import logging
import os
import re
import shutil
import signal
import socket
import stat
import sys
import threading
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence

from tqdm import tqdm

from . import __version__
from .errors import BusyError, ConfigError, Interrupted, Terminated
from .results import atomic_write_text, dumps, jsonable

log = logging.getLogger("convexdual")

RUN_FILE = "run.json"
LOCK_FILE = ".lock"
RECORDS_LOCK = ".records.lock"
REJECTED = "rejected"
DIGEST_KEY = "content_sha256"
MAX_RECORD_BYTES = 256 * 2**20  # a record larger than this is not read (it is not one we wrote)

# What an earlier layout (before run.json) left in a folder of each kind: such a folder is adopted
# when it holds one of its own kind's markers and none of another kind's.
LEGACY_MARKERS = {"sweep": {"sweep.json"}, "train": {"train.json", "weights"}, "bench": {"bench.json"}}
FIGURE_SUFFIXES = (".png", ".pdf", ".svg", ".txt", ".json")


def earlier_layout(kind: str, names: list[str]) -> bool:
    """Whether files ``names`` are what an earlier convexdual left in a run folder of ``kind``."""
    if kind == "figures":
        return all(name == "runs" or name.endswith(FIGURE_SUFFIXES) for name in names)
    others = set().union(*(m for k, m in LEGACY_MARKERS.items() if k != kind))
    return bool(LEGACY_MARKERS.get(kind, set()) & set(names)) and not others & set(names)

Check = Callable[[dict[str, Any]], "str | None"]  # a record -> the reason it is not valid, or None


def now() -> str:
    """The current time, ISO 8601 UTC to the second."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


# ----------------------------------------------------------------------------- names and folders

_UNSAFE = re.compile(r"[^A-Za-z0-9._+-]")


def safe_name(text: str, fallback: str = "run") -> str:
    """``text`` as one path component: characters outside ``A-Za-z0-9._+-`` become ``_``, leading
    dots and dashes are dropped, at most 100 characters; ``fallback`` when nothing is left."""
    name = _UNSAFE.sub("_", str(text)).lstrip(".-")[:100]
    return name or fallback


def writable_folder(path: Path, keep: bool = True) -> Path:
    """Create ``path`` (and its parents) and check that files can be created in it, before any
    computation starts; ConfigError with one line naming the folder otherwise. With ``keep``
    false the folders created for the check are removed again (a later write creates them)."""
    path = Path(path)
    created = [p for p in (path, *path.parents) if not p.exists()]
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / f".probe-{uuid.uuid4().hex[:8]}"
        probe.touch(exist_ok=False)
        probe.unlink()
    except FileExistsError:
        raise ConfigError(f"cannot use {path} as an output folder: a file of that name exists") from None
    except NotADirectoryError:
        raise ConfigError(f"cannot use {path} as an output folder: part of the path is a file") from None
    except OSError as exc:
        raise ConfigError(f"cannot write to {path}: {exc.strerror or exc}") from None
    if not keep:
        for folder in created:  # deepest first; one that another process filled meanwhile stays
            try:
                folder.rmdir()
            except OSError:
                break
    return path


def writable_file(path: Path) -> Path:
    """Check, before computing, that ``path`` can be written later: its folder is writable and it
    does not exist (results are never overwritten)."""
    path = Path(path)
    if path.is_dir():
        raise ConfigError(f"{path} is a folder; give a file name")
    if path.exists():
        raise ConfigError(f"{path} exists; refusing to overwrite it (choose another name)")
    writable_folder(path.parent, keep=False)
    return path


# ----------------------------------------------------------------------------- record digests


def canonical(record: dict[str, Any]) -> str:
    """The canonical JSON of a record without its digest: sorted keys, no whitespace, ASCII."""
    body = {k: v for k, v in record.items() if k != DIGEST_KEY}
    return json.dumps(jsonable(body), sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)


def digest(record: dict[str, Any]) -> str:
    """sha256 of :func:`canonical` (hex)."""
    return hashlib.sha256(canonical(record).encode()).hexdigest()


def sealed(record: dict[str, Any]) -> dict[str, Any]:
    """The record as stored: JSON-native, with ``content_sha256`` last."""
    body = jsonable({k: v for k, v in record.items() if k != DIGEST_KEY})
    return {**body, DIGEST_KEY: digest(body)}


def file_sha256(path: Path) -> str:
    """sha256 (hex) of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def load_json(path: Path) -> tuple[dict[str, Any] | None, str | None]:
    """(object, None) for a readable JSON object file of sane size; (None, reason) otherwise;
    (None, None) when the file does not exist."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return None, None
    except OSError as exc:
        return None, f"cannot read it ({exc.strerror})"
    if not path.is_file():
        return None, "not a regular file"
    if size > MAX_RECORD_BYTES:
        return None, f"{size} bytes, more than any record convexdual writes"
    try:
        obj = json.loads(path.read_bytes().decode("utf-8"), parse_constant=_no_constant)
    except FileNotFoundError:
        return None, None
    except (OSError, ValueError, RecursionError) as exc:
        return None, f"not valid JSON ({type(exc).__name__})"
    if not isinstance(obj, dict):
        return None, f"not a JSON object (a {type(obj).__name__})"
    return obj, None


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def check_record(record: dict[str, Any], check: Check | None) -> str | None:
    """Why ``record`` is not valid (digest first, then ``check``), or None."""
    stored = record.get(DIGEST_KEY)
    if not isinstance(stored, str):
        return f"no {DIGEST_KEY} (written by an earlier version, or edited)"
    try:
        actual = digest(record)
    except (TypeError, ValueError):
        return "content cannot be hashed"
    if actual != stored:
        return "content does not match its content_sha256 (edited or corrupt)"
    return check(record) if check is not None else None


# ----------------------------------------------------------------------------- the run folder

SUBFOLDERS = ("points", "weights", REJECTED, "hydra")  # written by runs; never followed through a link


def open_lock(path: Path) -> int:
    """A file descriptor of the lock file ``path``, created if needed; a symbolic link or anything
    but a regular file is refused (the lock's text must never land in another file)."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
    except OSError as exc:
        why = "it is a symbolic link" if exc.errno == errno.ELOOP else exc.strerror
        raise ConfigError(f"cannot use {path} as a lock: {why}") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise ConfigError(f"cannot use {path} as a lock: not a regular file")
    return fd



@dataclass
class RunFolder:
    """An open run folder: its lock is held until :meth:`close` (or the end of a ``with`` block)."""

    path: Path
    kind: str
    identity: dict[str, Any]
    rejected: list[tuple[str, str]] = field(default_factory=list)  # (record, reason) moved this session
    _lock_fd: int | None = None
    _told: int = 0
    _new: bool = False  # run.json was written by this process

    # -- opening -------------------------------------------------------------------------------

    @classmethod
    def open(cls, path: Path, kind: str, identity: dict[str, Any], *, fresh: bool = False,
             hint: str = "choose another --out", legacy: Callable[[Path], str | None] | None = None) -> "RunFolder":
        """Open (creating it) the run folder ``path`` for a run of ``kind`` and ``identity``.

        Refused with one line when the folder cannot be written, is locked by another process,
        holds a run of another kind or identity, holds files that are not a run's, or (``fresh``)
        is not empty. A folder of the earlier layout (no ``run.json``) is adopted unless
        ``legacy(path)`` names a conflict (e.g. its manifest is another sweep's)."""
        path = writable_folder(Path(path))
        folder = cls(path, kind, jsonable(identity))
        folder._lock()
        try:
            folder._claim(fresh, hint, legacy)
        except BaseException:
            folder.close()
            raise
        return folder

    def _lock(self) -> None:
        unsafe = [name for name in (LOCK_FILE, RUN_FILE, *SUBFOLDERS) if (self.path / name).is_symlink()]
        if unsafe:
            raise ConfigError(f"{self.path / unsafe[0]} is a symbolic link; a run folder's files must be its own")
        fd = open_lock(self.path / LOCK_FILE)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            holder = os.pread(fd, 200, 0).decode("utf-8", "replace").strip() or "unknown process"
            os.close(fd)
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise BusyError(f"{self.path} is in use by another convexdual process ({holder}); wait for it to "
                                "finish or choose another --out") from None
            raise ConfigError(f"cannot lock {self.path / LOCK_FILE}: {exc.strerror}") from None
        text = f"pid {os.getpid()} on {socket.gethostname()} since {now()}\n".encode()
        os.pwrite(fd, text, 0)
        os.ftruncate(fd, len(text))
        self._lock_fd = fd

    def _claim(self, fresh: bool, hint: str, legacy: Callable[[Path], str | None] | None) -> None:
        run_file = self.path / RUN_FILE
        mine = {"kind": self.kind, "identity": self.identity, "identity_sha256": identity_hash(self.identity)}
        old, why = load_json(run_file)
        if old is None and why is not None:
            raise ConfigError(f"{run_file} is unreadable ({why}); {hint}")
        if old is not None:
            if (old.get("kind") != self.kind or old.get("identity_sha256") != mine["identity_sha256"]
                    or old.get("identity") != self.identity):
                raise ConfigError(f"{self.path} holds another run ({describe(old)}); {hint}")
            if fresh:
                raise ConfigError(f"{self.path} already holds this run's results; {hint}")
            return
        others = sorted(p.name for p in self.path.iterdir()
                        if p.name not in (LOCK_FILE, RECORDS_LOCK) and not p.name.startswith(".probe-"))
        if others and (fresh or not earlier_layout(self.kind, others)):
            raise ConfigError(f"{self.path} is not empty and is not a {self.kind} run folder (it holds "
                              f"{', '.join(others[:3])}{', ...' if len(others) > 3 else ''}); {hint}")
        conflict = legacy(self.path) if others and legacy is not None else None
        if conflict:
            raise ConfigError(f"{self.path} holds another run ({conflict}); {hint}")
        atomic_write_text(run_file, dumps({**mine, "created": now(), "convexdual": __version__}) + "\n")
        self._new = True

    def close(self, failed: bool = False) -> None:
        """Release the lock. After a failure, a folder this process claimed that holds no record
        (only its run.json, locks, manifest, table and launcher logs) is removed: no empty run is
        left behind."""
        if failed and self._new and not self._has_records():
            shutil.rmtree(self.path, ignore_errors=True)
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def _has_records(self) -> bool:
        """Whether the folder holds anything computed: a record, or a file beyond the bookkeeping."""
        bookkeeping = {RUN_FILE, LOCK_FILE, RECORDS_LOCK, "sweep.json", "submissions.json", "table.csv", "hydra",
                       *SUBFOLDERS}
        if any(p.name not in bookkeeping for p in self.path.iterdir()):
            return True
        return any(p.is_file() for sub in ("points", "weights", REJECTED) for p in (self.path / sub).glob("*"))

    def __enter__(self) -> "RunFolder":
        return self

    def __exit__(self, kind: Any, *exc: Any) -> None:
        self.close(failed=kind is not None)

    # -- records -------------------------------------------------------------------------------

    def write_record(self, relpath: str, record: dict[str, Any], check: Check | None = None) -> dict[str, Any]:
        """Seal and write a record atomically (see :func:`write_record`)."""
        return write_record(self.path, relpath, record, check, folder=self)

    def read_record(self, relpath: str, check: Check | None = None) -> dict[str, Any] | None:
        """The record at ``relpath`` if it passes its checks; a failing one is moved to
        ``rejected/`` (and counted for :meth:`tell`); None when missing or rejected."""
        return read_record(self.path, relpath, check, folder=self)

    def read_records(self, records: Iterable[tuple[str, Check | None]]) -> dict[str, dict[str, Any]]:
        """Resume: read and check every ``(relpath, check)``; those that fail are moved to
        ``rejected/`` and the user is told once. Returns the valid records by relpath."""
        found = {}
        for relpath, check in records:
            record = self.read_record(relpath, check)
            if record is not None:
                found[relpath] = record
        self.tell()
        return found

    def tell(self) -> None:
        """Warn once about the records rejected since the last call."""
        new = self.rejected[self._told:]
        self._told = len(self.rejected)
        if new:
            name, reason = new[0]
            more = f" (and {len(new) - 1} more)" if len(new) > 1 else ""
            log.warning("warning: %d record(s) in %s failed their check and were moved to %s/ to be recomputed; "
                        "first: %s: %s%s", len(new), self.path, REJECTED, name, reason, more)


@contextmanager
def records_locked(run_dir: Path) -> Iterator[None]:
    """Hold the folder's record lock (``.records.lock``, blocking) for a short check-and-write or
    check-and-move, so that the main process and a launcher's jobs never act on a record the
    other has just replaced."""
    fd = open_lock(Path(run_dir) / RECORDS_LOCK)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def write_record(run_dir: Path, relpath: str, record: dict[str, Any], check: Check | None = None, *,
                 folder: RunFolder | None = None) -> dict[str, Any]:
    """Seal ``record`` and write it atomically; returns what is on disk afterwards. A valid record
    with status ok already there is never replaced (it is returned instead); an invalid one is
    first moved to ``rejected/``; a record that fails ``check`` itself is not written (ConfigError).
    The check and the write happen under the folder's record lock."""
    body = sealed(record)
    why = check_record(body, check)
    if why is not None:
        raise ConfigError(f"{Path(run_dir) / relpath}: refusing to write a record that fails its own check ({why})")
    with records_locked(run_dir):
        existing = _read_locked(Path(run_dir), relpath, check, folder)
        if existing is not None and existing.get("status") == "ok":
            return existing
        atomic_write_text(Path(run_dir) / relpath, dumps(body) + "\n", overwrite=True)
    return body


def read_record(run_dir: Path, relpath: str, check: Check | None = None, *,
                folder: RunFolder | None = None) -> dict[str, Any] | None:
    """Read and check one record; a failing one is moved to ``rejected/`` (and counted by
    ``folder``, when given, for its warning). None when missing or rejected."""
    record, why = verify(run_dir, relpath, check)
    if why is None:
        return record
    with records_locked(run_dir):  # check again: it may have been replaced by a valid one meanwhile
        return _read_locked(Path(run_dir), relpath, check, folder)


def _read_locked(run_dir: Path, relpath: str, check: Check | None, folder: RunFolder | None) -> dict[str, Any] | None:
    """:func:`read_record` for a caller that holds the record lock."""
    record, why = verify(run_dir, relpath, check)
    if why is not None:
        reject(run_dir, relpath, why)
        if folder is not None:
            folder.rejected.append((relpath, why))
    return record


def verify(run_dir: Path, relpath: str, check: Check | None = None) -> tuple[dict[str, Any] | None, str | None]:
    """(record, None) for a valid record; (None, reason) for an invalid one; (None, None) when
    missing. Read-only: nothing is moved."""
    obj, why = load_json(Path(run_dir) / relpath)
    if obj is None:
        return None, why
    why = check_record(obj, check)
    return (obj, None) if why is None else (None, why)


def reject(run_dir: Path, relpath: str, reason: str) -> Path | None:
    """Move a record (and nothing else) to ``rejected/`` under a fresh name, with the reason beside it."""
    src = run_dir / relpath
    dest_dir = run_dir / REJECTED
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S")
    dest = dest_dir / f"{relpath.replace('/', '__')}.{stamp}-{uuid.uuid4().hex[:6]}"
    try:
        dest_dir.mkdir(exist_ok=True)
        os.replace(src, dest)
    except FileNotFoundError:  # another job moved it first
        return None
    atomic_write_text(dest.with_name(dest.name + ".reason.txt"), reason + "\n")
    return dest


# ----------------------------------------------------------------------------- what a run keeps

POINTS = "points"


def record_path(key: str) -> str:
    """The record of point ``key``, relative to its run folder: ``points/<key>.json``."""
    return f"{POINTS}/{key}.json"


def write_json(path: Path, obj: Any) -> Path:
    """A run's summary JSON (``sweep.json``, ``train.json``, ``bench.json``), replaced atomically."""
    return atomic_write_text(path, dumps(obj) + "\n", overwrite=True)


def table_text(columns: Sequence[str], rows: Iterable[dict[str, Any]], *, lineterminator: str = "\r\n",
               cell: Callable[[Any], Any] | None = None) -> str:
    """A CSV table with a header of ``columns`` and one line per row (keys not in ``columns`` are
    left out, missing ones are empty); ``cell`` converts each value when given."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(columns), extrasaction="ignore", lineterminator=lineterminator)
    writer.writeheader()
    for row in rows:
        writer.writerow({c: cell(row.get(c)) for c in columns} if cell is not None else row)
    return buf.getvalue()


def write_table(path: Path, columns: Sequence[str], rows: Iterable[dict[str, Any]], *,
                lineterminator: str = "\r\n", cell: Callable[[Any], Any] | None = None) -> Path:
    """A run's ``table.csv`` (see :func:`table_text`), rebuilt from all its rows and replaced atomically."""
    return atomic_write_text(path, table_text(columns, rows, lineterminator=lineterminator, cell=cell),
                             overwrite=True)


def legacy_manifest(name: str, conflict: Callable[[dict[str, Any]], str | None]) -> Callable[[Path], str | None]:
    """The ``legacy`` check of :meth:`RunFolder.open` for a folder of the earlier layout: the
    conflict ``conflict`` finds in its summary JSON ``name`` (none when there is no such file)."""
    def check(run_dir: Path) -> str | None:
        old = load_json(Path(run_dir) / name)[0]
        return conflict(old) if old is not None else None
    return check


# ----------------------------------------------------------------------------- identities


def identity_hash(identity: dict[str, Any]) -> str:
    """sha256 (hex) of an identity's canonical JSON."""
    text = json.dumps(jsonable(identity), sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def describe(run: dict[str, Any]) -> str:
    """A short account of a ``run.json``: kind, identity and creation time."""
    ident = run.get("identity")
    if not isinstance(ident, dict):
        ident = {}
    parts = [f"{k} {json.dumps(v)[:80]}" for k, v in ident.items()]
    return f"{run.get('kind', '?')} run: {'; '.join(parts) or 'no identity'}; created {run.get('created', '?')}"


def read_run(run_dir: Path) -> dict[str, Any] | None:
    """The folder's ``run.json``, or None."""
    return load_json(Path(run_dir) / RUN_FILE)[0]


def types_ok(record: dict[str, Any], spec: dict[str, tuple[type, ...]]) -> str | None:
    """Why ``record`` does not have ``spec``'s keys with values of the given types (bool is not a
    number), or None."""
    for key, types in spec.items():
        if key not in record:
            return f"no '{key}'"
        value = record[key]
        if isinstance(value, bool) and bool not in types:
            return f"'{key}' has type bool"
        if not isinstance(value, types):
            return f"'{key}' has type {type(value).__name__}"
    return None


def first_reason(reasons: Iterable[str | None]) -> str | None:
    """The first non-None reason."""
    return next((r for r in reasons if r is not None), None)


# ----------------------------------------------------------------------------- long runs


@contextmanager
def stoppable(detail: Callable[[], str]) -> Iterator[None]:
    """Inside the block SIGTERM is raised like Ctrl-C; either ends the block with
    :class:`~convexdual.errors.Interrupted` whose message is ``interrupted: <detail()>`` (or
    ``terminated: ...``), so the command line prints one line and exits 130 or 143."""
    main = threading.current_thread() is threading.main_thread()

    def handler(signum: int, frame: Any) -> None:
        raise Terminated()

    previous = signal.signal(signal.SIGTERM, handler) if main else None
    try:
        yield
    except KeyboardInterrupt as exc:
        terminated = isinstance(exc, Terminated)
        raise Interrupted(f"{'terminated' if terminated else 'interrupted'}: {detail()}", terminated) from None
    finally:
        if main:
            signal.signal(signal.SIGTERM, previous if previous is not None else signal.SIG_DFL)


def progress_bar(total: int, initial: int, desc: str, enabled: bool, unit: str = "pt") -> Any:
    """A tqdm bar on stderr (disabled: a no-op bar)."""
    return tqdm(total=total, initial=initial, desc=desc, unit=unit, file=sys.stderr, disable=not enabled,
                dynamic_ncols=True)
