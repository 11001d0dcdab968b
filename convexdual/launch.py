"""Running a sweep's points through Hydra's launcher plugins.

The sweep is planned and its manifest (``sweep.json``) written first; then a Hydra multirun of the
small job app in ``convexdual/hydra_conf/job.yaml`` runs one job per pending point
(``point=3,7,...``). Each job calls the point runner the sweep hands to :func:`launch` (it
re-creates its point from the manifest, solves it and writes ``points/<hash>.json`` atomically);
this module knows nothing of sweeps, so the imports run one way: sweep -> launch. The launcher is
a Hydra config group:

- ``basic``: Hydra's basic launcher, jobs in this process one after another (the default);
- ``joblib``: hydra-joblib-launcher, local parallel processes (``-j`` sets ``n_jobs``);
- ``slurm``: hydra-submitit-launcher (``submitit_slurm``), one SLURM job array.

Presets live in ``configs/hydra/launcher/`` (``inprocess.yaml``, ``parallel.yaml``, ``cluster.yaml``;
shipped inside the package); any preset key can be overridden on the command line
(``partition=cpu timeout_min=30``). The status of a point is only ever read from its file: a job
that died, timed out or was preempted leaves none and shows as missing, whatever the scheduler says.
"""

from __future__ import annotations

import _thread
import functools
import hashlib
import importlib.util
import logging
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
LAUNCHERS = {"basic": "inprocess", "joblib": "parallel", "slurm": "cluster"}  # name -> preset
PLUGINS = {"joblib": "hydra-joblib-launcher", "slurm": "hydra-submitit-launcher"}
EXTRAS = {"joblib": "parallel", "slurm": "slurm"}

LAUNCHER_KEYS = {
    "basic": set(),
    "joblib": {"n_jobs", "backend", "prefer", "require", "verbose", "timeout", "pre_dispatch", "batch_size",
               "temp_folder", "max_nbytes", "mmap_mode"},
    "slurm": {"partition", "timeout_min", "cpus_per_task", "mem_gb", "array_parallelism", "gpus_per_node",
              "tasks_per_node", "nodes", "qos", "account", "comment", "constraint", "exclude", "gres",
              "mem_per_cpu", "max_num_timeout", "setup", "additional_parameters", "submitit_folder", "name",
              "signal_delay_s"},
}


# The names a ``hydra/launcher=NAME`` override may give: ours, our presets' and Hydra's plugins'.
LAUNCHER_ALIASES = {"basic": "basic", "inprocess": "basic", "joblib": "joblib", "parallel": "joblib",
                    "slurm": "slurm", "cluster": "slurm", "submitit_slurm": "slurm"}


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
    module = {"joblib": "hydra_plugins.hydra_joblib_launcher", "slurm": "hydra_plugins.hydra_submitit_launcher"}
    if launcher in module:
        if importlib.util.find_spec(module[launcher]) is None:
            raise ConfigError(f"launcher {launcher!r} needs {PLUGINS[launcher]}: "
                              f"pip install 'convexdual[{EXTRAS[launcher]}]'")


def _submission_error(text: str) -> str:
    """sbatch's reason from its error lines ("Batch job submission failed: ..." when present)."""
    lines = [line.removeprefix("sbatch: error:").strip() for line in text.splitlines() if line.strip()]
    return next((line for line in lines if line.startswith("Batch job submission failed")), lines[0])


def launch(run_dir: Path, indices: Sequence[int], launcher: str, launcher_overrides: Sequence[str],
           configs_dir: Path | None, sweep_id: str | None = None, *, runner: PointRunner) -> None:
    """Run the points ``indices`` of the sweep in ``run_dir`` as a Hydra multirun with ``launcher``:
    each job calls ``runner(run_dir, index, sweep_id)``, which checks that the manifest still has
    identity ``sweep_id``. ``runner`` must be a module-level function (jobs may be pickled to other
    processes or machines)."""
    # Hydra's launcher machinery is imported on first use, like its override parser in sweep.
    from hydra._internal.hydra import Hydra
    from hydra._internal.utils import create_config_search_path
    from hydra.core.global_hydra import GlobalHydra

    check_plugin(launcher)
    if not indices:
        return
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
    job_name = array_name(run_dir)
    if launcher == "slurm":
        overrides.append(f"hydra.launcher.name={job_name}")
    watchdog = _QueueWatchdog(job_name) if launcher == "slurm" else None
    GlobalHydra.instance().clear()
    quiet = logging.getLogger("hydra.core.utils")  # it logs a failing job's overrides before re-raising
    level = quiet.level
    quiet.setLevel(logging.CRITICAL)
    try:
        hydra = Hydra.create_main_hydra2(task_name="convexdual", config_search_path=create_config_search_path(
            str(JOB_CONF_DIR)))
        if watchdog:
            watchdog.start()
        hydra.multirun(config_name="job", task_function=functools.partial(run_job, runner=runner),
                       overrides=overrides)
    except KeyboardInterrupt:
        if watchdog:
            watchdog.stop.set()  # (no second interrupt from it now)
        if watchdog and watchdog.fired:
            log.warning("the SLURM queue has no job of this sweep left but submitit is still waiting: jobs were "
                        "cancelled or lost; their points are missing")
            return
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
            return
        raise ConfigError(f"launcher {launcher!r} failed: {first}") from None
    finally:
        quiet.setLevel(level)
        if watchdog:
            watchdog.stop.set()
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


def array_name(run_dir: Path) -> str:
    """The SLURM job name of a run folder's array (``squeue -n`` / ``scancel --name`` find it by it)."""
    return "convexdual-" + hashlib.sha256(str(run_dir.resolve()).encode()).hexdigest()[:8]


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
                    self.fired = True
                    _thread.interrupt_main()
                    # An interrupt that lands while the waiting code swallows it is lost: repeat
                    # it, well apart, until the launcher has taken one (it sets ``stop``).
                    if self.stop.wait(REPEAT_INTERRUPT_S):
                        return
            else:
                empty_since = None


def run_job(cfg: Any, runner: PointRunner) -> str:
    """Hydra task: run point ``cfg.point`` of the sweep in ``cfg.run_dir`` with ``runner``; returns its status."""
    return runner(Path(cfg.run_dir), int(cfg.point), cfg.get("sweep_id"))
