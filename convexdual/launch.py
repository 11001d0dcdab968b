"""Running a sweep's points through Hydra's launcher plugins.

The sweep is planned and its manifest (``sweep.json``) written first; then a Hydra multirun of the
small job app in ``convexdual/hydra_conf/job.yaml`` runs one job per pending point
(``point=3,7,...``). Each job calls the point runner the sweep hands to :func:`launch` (it
re-creates its point from the manifest, solves it and writes ``points/<hash>.json`` atomically);
this module knows nothing of sweeps, so the imports run one way: sweep -> launch. The launcher is
a Hydra config group:

- ``basic``: Hydra's basic launcher, jobs in this process one after another (the default);
- ``joblib``: hydra-joblib-launcher, local parallel processes (``-j`` sets ``n_jobs``);
- ``slurm``: hydra-submitit-launcher (``submitit_slurm``), one SLURM job array; detached
  (:func:`launch` with ``detach``), convexdual's own subclass of it
  (``hydra_plugins.convexdual_launcher``) returns once ``sbatch`` has accepted the array;
- ``ray``: hydra-ray-launcher (``ray``), one Ray task per point, on a Ray of its own on this machine
  (stopped after the sweep) or, with ``ray.init.address=auto``, on a running Ray cluster.

Presets live in ``configs/hydra/launcher/`` (``inprocess.yaml``, ``parallel.yaml``, ``cluster.yaml``,
``distributed.yaml``; shipped inside the package); any preset key can be overridden on the command
line (``partition=cpu timeout_min=30``, ``ray.remote.num_cpus=2``). Whether a point is done or failed
is only ever read from its file (SLURM reports some failed jobs as completed); the scheduler
(:func:`queued_tasks`, :func:`ended_tasks`) only tells a point without a file that is still queued or
running from one whose job ended without writing it.
"""

from __future__ import annotations

import _thread
import functools
import hashlib
import importlib
import importlib.util
import logging
import os
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any, Callable, Sequence

from . import shipped_configs
from .errors import ConfigError, ConvexdualError, first_line

log = logging.getLogger("convexdual")

PointRunner = Callable[[Path, int, "str | None"], str]  # (run folder, point index, sweep id) -> status

JOB_CONF_DIR = Path(__file__).resolve().parent / "hydra_conf"
LAUNCHERS = {"basic": "inprocess", "joblib": "parallel", "slurm": "cluster", "ray": "distributed"}  # name -> preset
PLUGINS = {"joblib": "hydra-joblib-launcher", "slurm": "hydra-submitit-launcher", "ray": "hydra-ray-launcher"}
EXTRAS = {"joblib": "parallel", "slurm": "slurm", "ray": "ray"}
# The modules a launcher's plugin needs (the ray plugin's package imports without ray).
PLUGIN_MODULES = {"joblib": ("hydra_plugins.hydra_joblib_launcher",),
                  "slurm": ("hydra_plugins.hydra_submitit_launcher",),
                  "ray": ("hydra_plugins.hydra_ray_launcher", "ray")}

LAUNCHER_KEYS = {
    "basic": set(),
    "joblib": {"n_jobs", "backend", "prefer", "require", "verbose", "timeout", "pre_dispatch", "batch_size",
               "temp_folder", "max_nbytes", "mmap_mode"},
    "slurm": {"partition", "timeout_min", "cpus_per_task", "mem_gb", "array_parallelism", "gpus_per_node",
              "tasks_per_node", "nodes", "qos", "account", "comment", "constraint", "exclude", "gres",
              "mem_per_cpu", "max_num_timeout", "setup", "additional_parameters", "submitit_folder", "name",
              "signal_delay_s"},
    # ray.init(**init) and ray.remote(**remote) arguments the preset names (others: +hydra.launcher.ray.init.KEY=...)
    "ray": {"ray.init.address", "ray.init.num_cpus", "ray.init.num_gpus", "ray.init.object_store_memory",
            "ray.init.include_dashboard", "ray.init.namespace", "ray.init.runtime_env", "ray.remote.num_cpus",
            "ray.remote.num_gpus", "ray.remote.memory", "ray.remote.max_retries"},
}


# The names a ``hydra/launcher=NAME`` override may give: ours, our presets' and Hydra's plugins'.
LAUNCHER_ALIASES = {"basic": "basic", "inprocess": "basic", "joblib": "joblib", "parallel": "joblib",
                    "slurm": "slurm", "cluster": "slurm", "submitit_slurm": "slurm", "ray": "ray",
                    "distributed": "ray"}


def pick_launcher(launcher: str, overrides: Sequence[str]) -> tuple[str, list[str]]:
    """The launcher of a sweep: ``--launcher``, or a Hydra-style ``hydra/launcher=NAME`` override
    (``NAME`` one of :data:`LAUNCHER_ALIASES`), which is then taken out of the overrides. Both, naming
    different launchers, is an error; ``basic`` (the default) gives way to the override."""
    rest, named = [], []
    for text in overrides:
        key, _, value = text.lstrip("+").partition("=")
        if key == "hydra/launcher":
            if value not in LAUNCHER_ALIASES:
                raise ConfigError(f"hydra/launcher={value}: unknown launcher; choose one of "
                                  f"{', '.join(LAUNCHER_ALIASES)}")
            named.append(LAUNCHER_ALIASES[value])
        else:
            rest.append(text)
    chosen = set(named) | ({launcher} if launcher != "basic" else set())
    if len(chosen) > 1:
        raise ConfigError(f"two launchers given: {' and '.join(sorted(chosen))} (--launcher and hydra/launcher=)")
    return (chosen.pop() if chosen else launcher), rest


def split_launcher_overrides(launcher: str, overrides: Sequence[str]) -> tuple[list[str], list[str]]:
    """Separate launcher settings (``partition=cpu``, ``hydra.launcher.x=...``) from config overrides."""
    keys = LAUNCHER_KEYS[launcher]
    mine, rest = [], []
    for text in overrides:
        key = text.split("=", 1)[0].lstrip("+")
        if key.startswith("hydra.launcher."):
            mine.append(text)
        elif key in keys:
            mine.append(f"hydra.launcher.{text}")
        else:
            rest.append(text)
    return mine, rest


def check_plugin(launcher: str) -> None:
    """A clear error when the launcher's plugin is not installed."""
    if launcher not in LAUNCHERS:
        raise ConfigError(f"unknown launcher {launcher!r}; choose one of {', '.join(LAUNCHERS)}")
    if any(importlib.util.find_spec(name) is None for name in PLUGIN_MODULES.get(launcher, ())):
        raise ConfigError(f"launcher {launcher!r} needs {PLUGINS[launcher]}: "
                          f"pip install 'convexdual[{EXTRAS[launcher]}]'")


def _submission_error(text: str) -> str:
    """sbatch's reason from its error lines ("Batch job submission failed: ..." when present)."""
    lines = [line.removeprefix("sbatch: error:").strip() for line in text.splitlines() if line.strip()]
    return next((line for line in lines if line.startswith("Batch job submission failed")), lines[0])


DETACHED_TARGET = "hydra_plugins.convexdual_launcher.detached_slurm.DetachedSlurmLauncher"
RAY_TARGET = "hydra_plugins.convexdual_launcher.sweep_ray.SweepRayLauncher"  # keeps the SIGTERM handler


def launch(run_dir: Path, indices: Sequence[int], launcher: str, launcher_overrides: Sequence[str],
           configs_dir: Path | None, sweep_id: str | None = None, *, runner: PointRunner,
           job_name: str | None = None, detach: bool = False) -> str | None:
    """Run the points ``indices`` of the sweep in ``run_dir`` as a Hydra multirun with ``launcher``:
    each job calls ``runner(run_dir, index, sweep_id)``, which checks that the manifest still has
    identity ``sweep_id``. ``runner`` must be a module-level function (jobs may be pickled to other
    processes or machines). A SLURM array is named ``job_name`` (default :func:`array_name` of the
    run folder); with ``detach`` it is submitted and its SLURM id returned without waiting for it."""
    # Hydra's launcher machinery is imported on first use, like its override parser in sweep.
    from hydra._internal.hydra import Hydra
    from hydra._internal.utils import create_config_search_path
    from hydra.core.global_hydra import GlobalHydra

    check_plugin(launcher)
    if detach and launcher != "slurm":
        raise ConfigError("--detach goes with --launcher slurm")
    if not indices:
        return None
    overrides = [
        f"run_dir={quoted(str(run_dir.resolve()))}",
        "point=" + ",".join(str(i) for i in indices),
        f"hydra/launcher={LAUNCHERS[launcher]}",
        *([f"sweep_id={sweep_id}"] if sweep_id else []),
        *launcher_overrides,
    ]
    configs_dir = configs_dir or shipped_configs()
    if not (configs_dir / "hydra" / "launcher").is_dir():
        raise ConfigError(f"launcher presets not found in {configs_dir}/hydra/launcher")
    overrides.append(f"hydra.searchpath=[{quoted('file://' + str(configs_dir.resolve()))}]")
    job_name = job_name or array_name(run_dir)
    if launcher == "slurm":
        overrides.append(f"hydra.launcher.name={job_name}")
    if detach:
        overrides.append(_use_own_launcher(DETACHED_TARGET, launcher))
    if launcher == "ray":
        overrides.append(_use_own_launcher(RAY_TARGET, launcher))
    if launcher == "joblib":  # a worker stops when this process is gone (see run_job)
        overrides.append(f"parent_pid={os.getpid()}")
    watchdog = _QueueWatchdog(job_name) if launcher == "slurm" and not detach else None
    ray_was_up = launcher == "ray" and _ray_is_up()
    GlobalHydra.instance().clear()
    quiet = logging.getLogger("hydra.core.utils")  # it logs a failing job's overrides before re-raising
    level = quiet.level
    quiet.setLevel(logging.CRITICAL)
    sacct_once = _OnceFilter("Bypassing sacct error")
    logging.getLogger("submitit").addFilter(sacct_once)
    try:
        hydra = Hydra.create_main_hydra2(task_name="convexdual", config_search_path=create_config_search_path(
            str(JOB_CONF_DIR)))
        if watchdog:
            watchdog.start()
        returns = hydra.multirun(config_name="job", task_function=functools.partial(run_job, runner=runner),
                                 overrides=overrides)
        if detach:  # the tasks' ids, "<array id>_<task>"
            return str(returns[0][0].return_value).split("_")[0]
        return None
    except KeyboardInterrupt:
        if watchdog:
            watchdog.stop.set()  # (no second interrupt from it now)
        if watchdog and watchdog.fired:
            log.warning("the SLURM queue has no job of this sweep left but submitit is still waiting: jobs were "
                        "cancelled or lost; their points are missing")
            return None
        if launcher == "slurm":  # Ctrl-C or SIGTERM to the submitter: its job array goes too
            _cancel_array(job_name)
        raise
    except (ConvexdualError, OSError, MemoryError):  # from a job: as they are (the error table has them)
        raise
    except Exception as exc:  # a launcher that cannot start (bad preset, sbatch refused, ...)
        first = (first_line(exc) or type(exc).__name__)
        if str(exc).startswith("sbatch: error"):  # submitit's FailedJobError: nothing was submitted
            raise ConfigError(f"launcher {launcher!r}: SLURM refused the job array, nothing was submitted "
                              f"({_submission_error(str(exc))})") from None
        if type(exc).__name__ in ("UncompletedJobError", "FailedJobError"):
            log.warning("some jobs did not finish (%s); their points are missing", first)
            return None
        raise ConfigError(f"launcher {launcher!r} failed: {first}") from None
    finally:
        quiet.setLevel(level)
        logging.getLogger("submitit").removeFilter(sacct_once)
        if watchdog:
            watchdog.stop.set()
        if launcher == "ray" and not ray_was_up:
            _stop_ray()
        GlobalHydra.instance().clear()


def quoted(text: str) -> str:
    """A single-quoted Hydra string: quotes escaped, backslashes doubled only before a quote."""
    out, run = [], 0
    for ch in text:
        if ch == "\\":
            run += 1
            continue
        if ch == "'":
            out.append("\\" * (2 * run) + "\\'")
        else:
            out.append("\\" * run + ch)
        run = 0
    out.append("\\" * (2 * run))  # backslashes before the closing quote
    return "'" + "".join(out) + "'"


def array_name(run_dir: Path, submission: int | None = None) -> str:
    """The SLURM job name of a run folder's arrays (``squeue -n`` / ``scancel --name`` find them by
    it): ``convexdual-<hash of the folder>``, and ``-<submission>`` for its n-th submission (1, 2, ...)."""
    name = "convexdual-" + hashlib.sha256(str(run_dir.resolve()).encode()).hexdigest()[:8]
    return name if submission is None else f"{name}-{submission}"


def _use_own_launcher(target: str, launcher: str) -> str:
    """Make one of convexdual's launcher classes (``target``, in ``hydra_plugins.convexdual_launcher``)
    known to Hydra, whose plugin scan does not see it in an editable install; the override that picks it."""
    from hydra.core.plugins import Plugins

    module, _, name = target.rpartition(".")
    cls = getattr(importlib.import_module(module), name, None)
    if cls is None:  # its base class's plugin is not installed
        raise ConfigError(f"launcher {launcher!r} needs {PLUGINS[launcher]}: "
                          f"pip install 'convexdual[{EXTRAS[launcher]}]'")
    Plugins.instance().register(cls)
    return f"hydra.launcher._target_={target}"


def _ray_is_up() -> bool:
    """Whether this process is already connected to Ray (then the sweep uses it and leaves it up)."""
    import ray

    return bool(ray.is_initialized())


def _stop_ray() -> None:
    """Disconnect from Ray after a sweep: the Ray this process started stops with its workers (a cluster
    joined with ``ray.init.address`` stays up; the sweep's tasks still running on it are cancelled)."""
    import ray

    if ray.is_initialized():
        ray.shutdown()


class _OnceFilter(logging.Filter):
    """Let the first log record containing ``text`` through, drop the repeats (submitit warns at
    every poll while ``sacct`` fails; the point files, not sacct, say what is done)."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text, self.seen = text, False

    def filter(self, record: logging.LogRecord) -> bool:
        if self.text not in record.getMessage():
            return True
        first, self.seen = not self.seen, True
        return first


# SLURM states of a job that has not ended (squeue's long names).
LIVE_STATES = {"PENDING": "queued", "REQUEUED": "queued", "REQUEUE_HOLD": "queued", "REQUEUE_FED": "queued",
               "SUSPENDED": "queued", "RESV_DEL_HOLD": "queued", "CONFIGURING": "running", "RUNNING": "running",
               "COMPLETING": "running", "STAGE_OUT": "running", "SIGNALING": "running", "RESIZING": "running"}


def _slurm_rows(command: list[str]) -> list[list[str]] | str:
    """The ``|``-separated rows a SLURM command prints, or why it could not be run."""
    try:
        out = subprocess.run(command, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError) as exc:
        return f"{command[0]}: {exc}"
    if out.returncode != 0:
        return f"{command[0]}: {(out.stderr or out.stdout).strip()[:200] or f'exit code {out.returncode}'}"
    return [line.split("|") for line in out.stdout.splitlines() if line.strip()]


def queued_tasks(names: Sequence[str]) -> dict[tuple[str, int], str] | str:
    """The array tasks of the jobs named ``names`` that SLURM still lists, ``(name, task) -> "queued" |
    "running"`` (``squeue -r``: pending ranges expanded), or why ``squeue`` could not tell."""
    if not names:
        return {}
    rows = _slurm_rows(["squeue", "-h", "-r", "-n", ",".join(names), "-o", "%j|%K|%T"])
    if isinstance(rows, str):
        return rows
    return {(name, int(task)): LIVE_STATES.get(state, "running") for name, task, state in rows if task.isdigit()}


def ended_tasks(names: Sequence[str]) -> dict[tuple[str, int], str]:
    """How the array tasks of the jobs named ``names`` ended, ``(name, task) -> SLURM state``
    (``sacct``, e.g. CANCELLED, TIMEOUT, OUT_OF_MEMORY, COMPLETED); empty when sacct cannot tell."""
    if not names:
        return {}
    rows = _slurm_rows(["sacct", "-n", "-X", "-P", "--name", ",".join(names), "-o", "JobName,JobID,State"])
    if isinstance(rows, str):
        return {}
    ended = {}
    for name, job_id, state in (r for r in rows if len(r) == 3):
        _, _, task = job_id.partition("_")
        if task.isdigit():
            ended[(name, int(task))] = state.split()[0]  # "CANCELLED by 0" -> CANCELLED
    return ended


def _cancel_array(name: str) -> None:
    """``scancel`` every job named ``name`` (the sweep's array), saying so on stderr."""
    try:
        done = subprocess.run(["scancel", "--name", name], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError) as exc:
        log.warning("warning: could not cancel the SLURM job array %s (%s); it may keep running", name, exc)
        return
    if done.returncode == 0:
        log.warning("cancelled the SLURM job array %s: points it had not written are pending", name)
    else:
        log.warning("warning: scancel --name %s failed (%s); the array may keep running", name,
                    (done.stderr or done.stdout).strip()[:200])


REPEAT_INTERRUPT_S = 30.0  # between two interrupts of a submitter still waiting on an empty queue


class _QueueWatchdog(threading.Thread):
    """Stops submitit's wait when SLURM no longer lists any job of the sweep.

    submitit reads job states from ``sacct``; array tasks cancelled while pending may never be
    reported there, and it would wait forever. When ``squeue`` shows no job named ``name`` for
    ``grace_s`` seconds, the main thread is interrupted; the points without a result file are then
    reported as missing.
    """

    def __init__(self, name: str, poll_s: float = 5.0, grace_s: float = 20.0) -> None:
        super().__init__(daemon=True)
        self.name, self.poll_s, self.grace_s = name, poll_s, grace_s
        self.stop = threading.Event()
        self.fired = False

    def _queued(self) -> bool | None:
        try:
            out = subprocess.run(["squeue", "-h", "-n", self.name, "-o", "%i"], capture_output=True, text=True,
                                 timeout=30)
        except (OSError, subprocess.SubprocessError):
            return None
        return bool(out.stdout.strip()) if out.returncode == 0 else None

    def run(self) -> None:
        empty_since = None
        while not self.stop.wait(self.poll_s):
            queued = self._queued()
            if queued is False:
                # sbatch runs within a second or two of the start, so an empty queue for grace_s
                # (counted from the start at the earliest) means no job of this sweep is left.
                empty_since = empty_since or time.monotonic()
                if time.monotonic() - empty_since >= self.grace_s and not self.stop.is_set():
                    # An interrupt that lands while the waiting code swallows it is lost: repeat
                    # it, well apart, until the launcher has taken one (it sets ``stop``); from
                    # the second on as a real SIGINT to the main thread, which also ends a
                    # blocking system call there (a simulated one waits for the call to return).
                    if self.fired:
                        signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGINT)
                    else:
                        _thread.interrupt_main()
                    self.fired = True
                    if self.stop.wait(REPEAT_INTERRUPT_S):
                        return
            else:
                empty_since = None


def run_job(cfg: Any, runner: PointRunner) -> str:
    """Hydra task: run point ``cfg.point`` of the sweep in ``cfg.run_dir`` with ``runner``; returns its
    status. A job given ``parent_pid`` (a local worker) ends itself when that process is gone."""
    if cfg.get("parent_pid") and int(cfg.parent_pid) != os.getpid():
        _end_with_parent(int(cfg.parent_pid))
    return runner(Path(cfg.run_dir), int(cfg.point), cfg.get("sweep_id"))


@functools.cache
def _end_with_parent(parent: int, poll_s: float = 1.0) -> None:
    """Watch (in a daemon thread, once per worker) for the sweep's process ``parent`` to go; then
    end this worker with SIGTERM, leaving no half-done point (every write is atomic). A killed
    sweep (SIGKILL) has no chance to stop its workers itself."""
    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(poll_s)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, daemon=True).start()
