"""The same sweep through every launcher (Hydra basic, joblib, submitit SLURM, Ray) gives the same table.

The SLURM tests need a running SLURM (`.ci/run` starts a single-node cluster with
scripts/slurm-start.sh); without one they are skipped with the reason. The Ray tests need
hydra-ray-launcher (`pip install -e '.[ray]'`); they start a local Ray of their own.
"""

from __future__ import annotations

import importlib
import json
import os
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from convexdual.errors import ConfigError
from convexdual.launch import split_launcher_overrides
from convexdual.sweep import run_sweep, sweep_status

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "configs" / "staircase.yaml"
TWELVE = ["data.seed=range(0,4)"]  # 3 betas x 4 seeds


def table(run_dir: Path) -> pd.DataFrame:
    """The table without its timing column (the only one allowed to differ between launchers)."""
    return pd.read_csv(run_dir / "table.csv").drop(columns=["time_s"])


@pytest.fixture(scope="module")
def baseline(tmp_path_factory) -> Path:
    run = tmp_path_factory.mktemp("basic") / "run"
    summary = run_sweep(CONFIG, TWELVE, run, progress=False)
    assert (summary.total, summary.done, summary.failed) == (12, 12, 0)
    return run


# The partition the SLURM tests submit to: $CONVEXDUAL_SLURM_PARTITION, else none named (the
# cluster's default partition, as the shipped preset does).
PARTITION = os.environ.get("CONVEXDUAL_SLURM_PARTITION", "")
PARTITION_OVERRIDE = [f"partition={PARTITION}"] if PARTITION else []


def slurm_ready() -> str | None:
    """None when the partition the tests use has a usable node, else the reason to skip."""
    if shutil.which("sbatch") is None or shutil.which("sinfo") is None:
        return "SLURM is not installed here (run scripts/slurm-start.sh as root)"
    p = subprocess.run(["sinfo", "-h", *(["-p", PARTITION] if PARTITION else []), "-o", "%P %T"], capture_output=True,
                       text=True)
    rows = [line.split() for line in p.stdout.splitlines() if len(line.split()) == 2]
    usable = [state for name, state in rows if (name.rstrip("*") == PARTITION if PARTITION else name.endswith("*"))
              and state in ("idle", "mixed", "allocated")]
    if p.returncode != 0 or not usable:
        where = f"partition {PARTITION}" if PARTITION else "the default partition"
        return f"no usable SLURM node in {where}: {(p.stderr or p.stdout).strip()[:200]}"
    return None


def test_launcher_settings_are_split_from_config_overrides():
    mine, rest = split_launcher_overrides("slurm", ["partition=cpu", "timeout_min=30", "beta=0.1",
                                                    "hydra.launcher.mem_gb=4"])
    assert mine == ["hydra.launcher.partition=cpu", "hydra.launcher.timeout_min=30", "hydra.launcher.mem_gb=4"]
    assert rest == ["beta=0.1"]


def test_unknown_launcher_and_misplaced_jobs_are_clear_errors(tmp_path):
    with pytest.raises(ConfigError, match="-j/--jobs goes with --launcher joblib"):
        run_sweep(CONFIG, TWELVE, tmp_path / "x", progress=False, jobs=2)
    with pytest.raises(ConfigError, match="--detach goes with --launcher slurm"):
        run_sweep(CONFIG, TWELVE, tmp_path / "x", progress=False, launcher="joblib", detach=True)
    assert not (tmp_path / "x").exists()


def test_repeated_sacct_warnings_are_shown_once():
    """submitit warns at every poll while sacct fails; the sweep lets the first warning through."""
    import logging

    from convexdual.launch import _OnceFilter

    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logger = logging.getLogger("submitit.test-once")
    logger.setLevel(logging.WARNING)  # (a Hydra run earlier in the process may have raised the root level)
    logger.addHandler(handler)
    logger.addFilter(_OnceFilter("Bypassing sacct error"))
    for call in range(1, 5):
        logger.warning("Call #%d - Bypassing sacct error Command 'sacct' returned 1, status may be inaccurate.", call)
    logger.warning("another warning")
    assert [r.getMessage()[:8] for r in records] == ["Call #1 ", "another "]


@pytest.mark.slow
def test_joblib_gives_the_same_table(baseline, tmp_path):
    summary = run_sweep(CONFIG, TWELVE, tmp_path / "run", progress=False, launcher="joblib", jobs=2)
    assert (summary.done, summary.failed) == (12, 0)
    pd.testing.assert_frame_equal(table(baseline), table(tmp_path / "run"))


@pytest.mark.slow
def test_resubmission_runs_only_what_is_missing(baseline, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(baseline, run)
    files = sorted((run / "points").glob("*.json"))
    for f in files[:2]:
        f.unlink()  # as if two jobs had died without writing
    st = sweep_status(run)
    assert (st["done"], st["pending"], st["failed"]) == (10, 2, 0)
    summary = run_sweep(CONFIG, TWELVE, run, progress=False)
    assert (summary.ran, summary.skipped, summary.done) == (2, 10, 12)
    pd.testing.assert_frame_equal(table(baseline), table(run))


@pytest.mark.slow
def test_slurm_job_array_gives_the_same_table(baseline, tmp_path):
    reason = slurm_ready()
    if reason:
        pytest.skip(reason)
    run = tmp_path / "run"
    p = subprocess.run([sys.executable, "-m", "convexdual.cli", "sweep", "--config", str(CONFIG), "--out", str(run),
                        *TWELVE, "--launcher", "slurm", *PARTITION_OVERRIDE, "timeout_min=10", "--no-progress"],
                       capture_output=True, text=True, timeout=900, cwd=ROOT)
    assert p.returncode == 0, p.stderr[-2000:]
    assert sweep_status(run)["done"] == 12
    pd.testing.assert_frame_equal(table(baseline), table(run))
    assert list((run / "hydra").glob(".submitit/*")), "no submitit job folder: was it really SLURM?"


def start_slow_array(run: Path) -> tuple[list[str], subprocess.Popen]:
    """Submit the twelve points as a SLURM array one task at a time; return (command, submitter) once
    the first point file is on disk (or after 300 s)."""
    cmd = [sys.executable, "-m", "convexdual.cli", "sweep", "--config", str(CONFIG), "--out", str(run), *TWELVE,
           "--launcher", "slurm", *PARTITION_OVERRIDE, "array_parallelism=1", "--no-progress"]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 300
    while time.time() < deadline and not list((run / "points").glob("*.json")):
        time.sleep(0.5)
    return cmd, proc


@pytest.mark.slow
def test_slurm_cancelled_jobs_show_as_missing_and_are_resubmitted(baseline, tmp_path):
    reason = slurm_ready()
    if reason:
        pytest.skip(reason)
    run = tmp_path / "run"
    cmd, proc = start_slow_array(run)
    subprocess.run(["scancel", "--user", "root"], check=False)  # the scheduler kills the rest
    out, err = proc.communicate(timeout=600)
    st = sweep_status(run)
    assert proc.returncode == 1, err[-2000:]
    assert st["done"] >= 1 and st["pending"] >= 1 and st["done"] + st["pending"] + st["failed"] == 12
    again = subprocess.run(cmd[:-1] + ["array_parallelism=4", "--no-progress"], cwd=ROOT, capture_output=True,
                           text=True, timeout=900)
    assert again.returncode == 0, again.stderr[-2000:]
    assert f"({st['done']} already on disk)" in again.stdout
    pd.testing.assert_frame_equal(table(baseline), table(run))


@pytest.mark.slow
def test_slurm_submission_refused_is_one_error(tmp_path):
    """A partition the cluster does not have: sbatch refuses the array; the sweep says so once (exit 2)
    and claims no job died."""
    reason = slurm_ready()
    if reason:
        pytest.skip(reason)
    p = subprocess.run([sys.executable, "-m", "convexdual.cli", "sweep", "--config", str(CONFIG), "--out",
                        str(tmp_path / "run"), *TWELVE, "--launcher", "slurm", "partition=no_such_partition",
                        "--no-progress"], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert p.returncode == 2, p.stderr[-2000:]
    ours = [line for line in p.stderr.splitlines() if not line.startswith("sbatch:")]
    assert ours == ["error: launcher 'slurm': SLURM refused the job array, nothing was submitted (Batch job "
                    "submission failed: Invalid partition name specified)"], p.stderr[-2000:]


def test_hydra_launcher_override_picks_the_launcher():
    from convexdual.launch import pick_launcher

    assert pick_launcher("basic", ["hydra/launcher=submitit_slurm", "beta=1"]) == ("slurm", ["beta=1"])
    assert pick_launcher("basic", ["hydra/launcher=joblib"]) == ("joblib", [])
    assert pick_launcher("slurm", ["hydra/launcher=cluster", "partition=x"]) == ("slurm", ["partition=x"])
    assert pick_launcher("joblib", ["beta=1"]) == ("joblib", ["beta=1"])
    with pytest.raises(ConfigError, match="two launchers given: joblib and slurm"):
        pick_launcher("joblib", ["hydra/launcher=submitit_slurm"])
    assert pick_launcher("basic", ["hydra/launcher=ray", "ray.remote.num_cpus=1"]) == ("ray", ["ray.remote.num_cpus=1"])
    assert pick_launcher("ray", ["hydra/launcher=distributed"]) == ("ray", [])
    with pytest.raises(ConfigError, match="hydra/launcher=dask: unknown launcher"):
        pick_launcher("basic", ["hydra/launcher=dask"])


@pytest.mark.slow
def test_multirun_flag_and_hydra_launcher_override_on_the_command_line(baseline, tmp_path):
    """`convexdual sweep -m ... hydra/launcher=joblib` runs the joblib launcher: the same table."""
    run = tmp_path / "run"
    p = subprocess.run([sys.executable, "-m", "convexdual.cli", "sweep", "-m", "--config", str(CONFIG), "--out",
                        str(run), *TWELVE, "hydra/launcher=joblib", "n_jobs=2", "--no-progress"],
                       capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert p.returncode == 0, p.stderr[-2000:]
    assert json.loads((run / "sweep.json").read_text())["launcher"] == {"name": "joblib",
                                                                       "settings": ["hydra.launcher.n_jobs=2"]}
    pd.testing.assert_frame_equal(table(baseline), table(run))


@pytest.mark.slow
def test_sigterm_to_the_submitter_cancels_its_array(tmp_path):
    """SIGTERM while a job array runs: the submitter cancels the array (scancel), exits 143 with a
    resume line, and the queue holds no job of the sweep afterwards."""
    import signal

    from convexdual.launch import array_name

    reason = slurm_ready()
    if reason:
        pytest.skip(reason)
    run = tmp_path / "run"
    name = array_name(run, 1)  # the folder's first submission
    _, proc = start_slow_array(run)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 143, err[-2000:]
    assert f"cancelled the SLURM job array {name}" in err and "resume with:" in err, err[-2000:]
    for _ in range(30):
        queued = subprocess.run(["squeue", "-h", "-n", name, "-o", "%i"], capture_output=True, text=True).stdout
        if not queued.strip():
            break
        time.sleep(1)
    assert not queued.strip(), f"jobs of the sweep still queued: {queued}"
    assert 1 <= sweep_status(run)["done"] < 12


def status_json(run: Path) -> tuple[int, dict]:
    """`convexdual status RUN --json`: (exit code, the JSON)."""
    p = subprocess.run([sys.executable, "-m", "convexdual.cli", "status", str(run), "--json"], capture_output=True,
                       text=True, timeout=120, cwd=ROOT)
    assert p.returncode in (0, 1), p.stderr[-2000:]
    return p.returncode, json.loads(p.stdout)


def submissions(run: Path) -> list[dict]:
    return json.loads((run / "submissions.json").read_text())["arrays"]


def detached_sweep(run: Path, parallelism: int) -> list[str]:
    """The command that submits the twelve points as a detached SLURM array."""
    return [sys.executable, "-m", "convexdual.cli", "sweep", "--config", str(CONFIG), "--out", str(run), *TWELVE,
            "--launcher", "slurm", *PARTITION_OVERRIDE, f"array_parallelism={parallelism}", "--no-progress",
            "--detach"]


@pytest.mark.slow
def test_detached_sweep_followed_to_the_end(baseline, tmp_path):
    """The whole SLURM story from the command line: `sweep --detach` returns with the array's id;
    `status` shows points queued, running, then done; a task cancelled while queued (the injected
    failure) is re-sent by a resume submitted while the first array still runs, and only it (no
    duplicates); at the end the table equals the in-process run's."""
    reason = slurm_ready()
    if reason:
        pytest.skip(reason)
    run = tmp_path / "run"
    sweep = detached_sweep(run, 1)
    first = subprocess.run(sweep, capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert first.returncode == 0, first.stderr[-2000:]
    [array] = submissions(run)
    assert array["job_id"] and len(array["files"]) == 12 and array["detached"]
    assert first.stdout.startswith(f"{run}: submitted SLURM job array {array['job_id']} (12 points)")
    assert first.stdout.rstrip().endswith(f"follow with: convexdual status {run}")
    code, st = status_json(run)  # at once: nothing can be done yet but task 0
    assert code == 0 and st["queued"] >= 10 and st["lost"] == 0, st

    victim = array["files"][11]  # the last task: still queued behind array_parallelism=1
    subprocess.run(["scancel", f"{array['job_id']}_11"], check=True)
    resume = subprocess.run(sweep, capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert resume.returncode == 0, resume.stderr[-2000:]
    second = submissions(run)[1]
    assert second["files"] == [victim], "the resume must send only the point whose task is gone"
    assert "still queued or running in an earlier SLURM array" in resume.stderr

    seen: set[str] = set()
    deadline = time.time() + 600
    while time.time() < deadline:
        code, st = status_json(run)
        seen |= {k for k in ("queued", "running") if st[k]}
        if st["done"] == 12:
            break
        time.sleep(0.5)
    assert (code, st["done"], st["pending"], st["failed"]) == (0, 12, 0, 0), st
    assert seen == {"queued", "running"}, seen
    pd.testing.assert_frame_equal(table(baseline), table(run))


@pytest.mark.slow
def test_lost_task_gives_status_exit_1_and_the_resume_sends_only_it(baseline, tmp_path):
    """A task cancelled before it ran leaves no file: status says lost (exit 1) and names its task;
    the resume it prints submits that point alone."""
    reason = slurm_ready()
    if reason:
        pytest.skip(reason)
    run = tmp_path / "run"
    sweep = detached_sweep(run, 2)
    assert subprocess.run(sweep, capture_output=True, text=True, timeout=300, cwd=ROOT).returncode == 0
    [array] = submissions(run)
    subprocess.run(["scancel", f"{array['job_id']}_11"], check=True)
    deadline = time.time() + 600
    while time.time() < deadline:
        code, st = status_json(run)
        if st["queued"] + st["running"] == 0:
            break
        time.sleep(1)
    assert (code, st["done"], st["lost"]) == (1, 11, 1), st
    [lost] = st["lost_points"]
    assert (lost["file"], lost["task"], lost["slurm_job"]) == (array["files"][11], 11, f"{array['job_id']}_11")
    text = subprocess.run([sys.executable, "-m", "convexdual.cli", "status", str(run)], capture_output=True,
                          text=True, timeout=120, cwd=ROOT)
    assert text.returncode == 1 and "1 lost" in text.stdout and f"job {array['job_id']}_11" in text.stdout
    cmd = [sys.executable, "-m", "convexdual.cli", *shlex.split(st["resume"])[1:], "--no-progress"]
    again = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert again.returncode == 0, again.stderr[-2000:]
    assert submissions(run)[1]["files"] == [array["files"][11]]
    assert status_json(run)[1]["done"] == 12
    pd.testing.assert_frame_equal(table(baseline), table(run))


@pytest.mark.slow
def test_joblib_workers_stop_when_the_sweep_is_killed(tmp_path):
    """SIGKILL of a `--launcher joblib` sweep (it cannot stop its workers itself): every worker ends
    within seconds, and no point file appears after that."""
    import signal

    run = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-m", "convexdual.cli", "sweep", "--config", str(CONFIG), "--out",
                             str(run), "data.seed=range(0,20)", "--launcher", "joblib", "-j", "2", "--no-progress"],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while time.time() < deadline and not list((run / "points").glob("*.json")):
        time.sleep(0.2)
    children = subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True, text=True).stdout.split()
    assert children, "no worker processes found"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    deadline = time.time() + 20
    while time.time() < deadline and any(Path(f"/proc/{pid}").exists() for pid in children):
        time.sleep(0.2)
    alive = [pid for pid in children if Path(f"/proc/{pid}").exists()]
    assert not alive, f"workers still running after their sweep was killed: {alive}"
    files = len(list((run / "points").glob("*.json")))
    time.sleep(3)
    assert len(list((run / "points").glob("*.json"))) == files < 60


def ray_missing() -> str | None:
    """None when hydra-ray-launcher and ray import, else the reason to skip."""
    for module in ("hydra_plugins.hydra_ray_launcher", "ray"):
        try:
            importlib.import_module(module)
        except Exception as exc:  # (ImportError, or a ray that fails on import)
            return f"{module} is not importable ({type(exc).__name__}: {exc}): pip install -e '.[ray]'"
    return None


def test_ray_settings_are_split_from_config_overrides():
    mine, rest = split_launcher_overrides("ray", ["ray.init.address=auto", "ray.remote.num_cpus=2", "beta=0.1",
                                                  "+hydra.launcher.ray.init.log_to_driver=false"])
    assert mine == ["hydra.launcher.ray.init.address=auto", "hydra.launcher.ray.remote.num_cpus=2",
                    "+hydra.launcher.ray.init.log_to_driver=false"]
    assert rest == ["beta=0.1"]


def descendants(pid: int) -> set[int]:
    """The processes below ``pid`` (read from /proc)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def alive(pid: int) -> bool:
    """Whether process ``pid`` still runs (a zombie, ended but not yet reaped, does not)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.slow
def test_ray_gives_the_same_table(baseline, tmp_path):
    """`--launcher ray` (a local Ray of its own, stopped after the sweep): the same table, one Hydra job
    folder per point."""
    reason = ray_missing()
    if reason:
        pytest.skip(reason)
    run = tmp_path / "run"
    p = subprocess.run([sys.executable, "-m", "convexdual.cli", "sweep", "--config", str(CONFIG), "--out", str(run),
                        *TWELVE, "--launcher", "ray", "--no-progress"], capture_output=True, text=True, timeout=600,
                       cwd=ROOT)
    assert p.returncode == 0, p.stderr[-2000:]
    assert sweep_status(run)["done"] == 12
    pd.testing.assert_frame_equal(table(baseline), table(run))
    assert all((run / "hydra" / str(i) / ".hydra" / "config.yaml").is_file() for i in range(12))
    assert "SweepRayLauncher" in (run / "hydra" / "0" / ".hydra" / "hydra.yaml").read_text(), "not run by Ray?"


@pytest.mark.slow
def test_sigterm_to_a_ray_sweep_stops_its_ray(tmp_path):
    """SIGTERM while Ray runs the points: the sweep says where it stands and exits 143 (ray.init's own
    handler would exit 15 without a word), and the Ray it started is gone."""
    import signal

    reason = ray_missing()
    if reason:
        pytest.skip(reason)
    run = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-m", "convexdual.cli", "sweep", "--config", str(CONFIG), "--out",
                             str(run), "--launcher", "ray", "--no-progress"], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None and not list((run / "points").glob("*.json")):
        time.sleep(0.2)
    ray_processes = descendants(proc.pid)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 143, err[-2000:]
    assert "terminated:" in err and "resume with:" in err, err[-2000:]
    assert ray_processes, "no Ray process under the sweep: did it run on Ray?"
    for _ in range(30):
        left = {pid for pid in ray_processes if alive(pid)}
        if not left:
            break
        time.sleep(1)
    assert not left, f"Ray processes left: {sorted(left)}"
    assert 1 <= sweep_status(run)["done"] < 30
