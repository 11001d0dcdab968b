"""Hostile input at the command line: every case ends with its documented exit code and one line,
writes nothing outside its run folder, stays under 1 GB and 30 s, and nothing corrupt, foreign or
stale on disk is ever published.

Each case runs the real command in a subprocess (``python -m convexdual.cli``) from a scratch
working directory; its peak memory is the child's ``ru_maxrss`` from ``os.wait4``. Config and data
hostility is covered in test_config_hostile.py and test_data_hostile.py; this file covers run
folders, resources, paths, the error table and packaging.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from convexdual.errors import EXIT_CODES
from convexdual.runs import RunFolder, digest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "configs" / "example1.yaml"
LIMIT_S = 30.0  # a hostile case that runs longer than this counts as a hang
LIMIT_MB = 1024.0
CIRCLE = ("beta: 0.1\ndata: {kind: circle, angles_deg: [0, 120, 240], y: [1, 1, 1]}\nwidths: [1, 2, 3, 4]\n"
          "sweep: {beta: [0.1, 0.2, 0.3]}\n")


@dataclass
class Run:
    code: int
    out: str
    err: str
    peak_mb: float
    seconds: float

    @property
    def lines(self) -> list[str]:
        return [line for line in self.err.splitlines() if line.strip()]

    def one_error(self, code: int, *needles: str) -> str:
        """Exit ``code``, exactly one stderr line, starting with ``error:`` and holding ``needles``."""
        assert self.code == code, (self.code, self.err)
        assert len(self.lines) == 1 and self.lines[0].startswith("error:"), self.err
        assert "Traceback" not in self.err
        for needle in needles:
            assert needle in self.lines[0], self.lines[0]
        return self.lines[0]


def cli(*args: str, cwd: Path, env: dict[str, str] | None = None) -> Run:
    """Run convexdual (a setup step or a case whose memory is not in question); fail past the limit."""
    t0 = time.perf_counter()
    try:
        p = subprocess.run([sys.executable, "-m", "convexdual.cli", *args], cwd=cwd, capture_output=True, text=True,
                           env=env, timeout=LIMIT_S + 60)
    except subprocess.TimeoutExpired:
        pytest.fail(f"convexdual {' '.join(args)} ran past {LIMIT_S + 60} s (a hang)")
    return Run(p.returncode, p.stdout, p.stderr, 0.0, time.perf_counter() - t0)


# The child writes its own peak resident memory (VmHWM of its address space, which starts fresh at
# exec) when it exits. The rusage of os.wait4 is only a fallback: Linux carries the parent's
# high-water mark across fork and exec into the child's ru_maxrss, so a large pytest process
# (compiled kernels, earlier in-process solves) would be charged to every child.
PEAK_REPORTER = """
import atexit, os, runpy, sys
def report():
    with open("/proc/self/status") as fh:
        kb = next(int(line.split()[1]) for line in fh if line.startswith("VmHWM:"))
    with open(os.environ["CONVEXDUAL_TEST_PEAK"], "w") as fh:
        fh.write(str(kb))
atexit.register(report)
sys.argv[0] = "convexdual"
runpy.run_module("convexdual.cli", run_name="__main__", alter_sys=True)
"""


def measured(*args: str, cwd: Path) -> Run:
    """Like :func:`cli`, with the child's own peak memory (see PEAK_REPORTER) and a hard kill at the limit."""
    t0 = time.perf_counter()
    peak_file = cwd / ".peak"
    peak_file.unlink(missing_ok=True)
    env = {**os.environ, "CONVEXDUAL_TEST_PEAK": str(peak_file)}
    with open(cwd / ".out", "w+") as out, open(cwd / ".err", "w+") as err:
        proc = subprocess.Popen([sys.executable, "-c", PEAK_REPORTER, *args], cwd=cwd, stdout=out, stderr=err,
                                env=env)
        deadline = t0 + LIMIT_S + 30
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                proc.kill()
                os.wait4(proc.pid, 0)
                pytest.fail(f"convexdual {' '.join(args)} ran past {LIMIT_S + 30} s (a hang)")
            time.sleep(0.05)
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0), err.seek(0)
        peak_kb = int(peak_file.read_text()) if peak_file.exists() else usage.ru_maxrss
        run = Run(proc.returncode, out.read(), err.read(), peak_kb / 1024, time.perf_counter() - t0)
    (cwd / ".out").unlink()
    (cwd / ".err").unlink()
    peak_file.unlink(missing_ok=True)
    assert run.peak_mb < LIMIT_MB, f"peak memory {run.peak_mb:.0f} MB"
    assert run.seconds < LIMIT_S, f"{run.seconds:.1f} s"
    return run


def contents(path: Path) -> dict[Path, bytes]:
    """The bytes of every file under ``path`` but the lock (whose text names its last holder)."""
    return {p: p.read_bytes() for p in path.rglob("*") if p.is_file() and p.name != ".lock"}


def results(table: Path) -> list[dict[str, str]]:
    """The rows of a sweep table without the time columns (a recomputation takes other times)."""
    import csv

    with open(table) as fh:
        return [{k: v for k, v in row.items() if k != "time_s"} for row in csv.DictReader(fh)]


def tree(path: Path) -> set[str]:
    """Every file and folder under ``path`` (relative names)."""
    return {str(p.relative_to(path)) for p in path.rglob("*")}


@pytest.fixture
def work(tmp_path: Path) -> Path:
    """A scratch working directory inside a fence: nothing may appear outside it."""
    w = tmp_path / "a" / "b" / "work"
    w.mkdir(parents=True)
    shutil.copy(EXAMPLE, w / "example1.yaml")
    (w / "s.yaml").write_text(CIRCLE)
    return w


def only_inside(tmp_path: Path, allowed: Path, before: set[str]) -> None:
    """No new path under ``tmp_path`` except under ``allowed``."""
    new = {p for p in tree(tmp_path) - before if not (tmp_path / p).is_relative_to(allowed)}
    assert not new, sorted(new)


@pytest.fixture
def readonly(tmp_path: Path):
    """A folder this process cannot write to, even as root (chattr +i); skipped where impossible."""
    ro = tmp_path / "ro"
    ro.mkdir()
    if os.geteuid() != 0:
        ro.chmod(0o555)
    elif shutil.which("chattr") is None or subprocess.run(["chattr", "+i", str(ro)]).returncode != 0:
        pytest.skip("no way to make a read-only folder here (root without chattr +i)")
    yield ro
    if os.geteuid() == 0:
        subprocess.run(["chattr", "-i", str(ro)])
    ro.chmod(0o755)


# ----------------------------------------------------------------------------- the error table


def test_the_error_table_is_what_the_readme_documents():
    """The README's exit-code table lists exactly the codes of errors.EXIT_CODES."""
    readme = (ROOT / "README.md").read_text()
    table = readme.split("### Exit codes", 1)[1].split("\n\n", 2)[2].split("\n\n", 1)[0]
    documented = set()
    for row in table.splitlines()[2:]:
        documented |= {int(c) for c in row.split("|")[1].split(",")}
    assert documented == {code for code, _ in EXIT_CODES}


def test_usage_errors_are_one_line(work):
    cli("solve", cwd=work).one_error(2, "--config")
    cli("no-such-command", cwd=work).one_error(2, "no-such-command")
    cli("search", "--n", "30", "--d", "1", cwd=work).one_error(2, "--n")
    cli("bench", "--beta", "nan", cwd=work).one_error(2, "--beta")


def test_an_internal_error_names_its_log(work):
    """A bug (here an exception raised inside a command) is exit 70, one line, traceback in a log."""
    script = ("import sys\nfrom convexdual.cli import main\n"
              "@main.command()\ndef boom():\n    {}['missing key']\n"
              "main(['boom'])\n")
    p = subprocess.run([sys.executable, "-c", script], cwd=work, capture_output=True, text=True, timeout=60)
    run = Run(p.returncode, p.stdout, p.stderr, 0.0, 0.0)
    line = run.one_error(70, "internal error", "KeyError")
    log = Path(line.rsplit("the traceback is in ", 1)[1])
    assert "Traceback" in log.read_text() and "missing key" in log.read_text()
    log.unlink()


@pytest.mark.slow
def test_sigterm_is_one_line_and_143(work):
    (work / "g.yaml").write_text("data: {kind: gaussian, n: 8, d: 2}\n")
    proc = subprocess.Popen([sys.executable, "-m", "convexdual.cli", "sweep", "--config", "g.yaml", "--out", "R",
                             "--no-progress", "data.seed=range(0,40)", "beta=0.1,0.2"], cwd=work,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.time() + 60
    while not list((work / "R" / "points").glob("*.json")) and time.time() < deadline:
        time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    run = Run(proc.returncode, out, err, 0.0, 0.0)
    run.one_error(143, "terminated:", "resume with")
    assert not list(work.rglob("*.tmp"))


# ----------------------------------------------------------------------------- run folders


@pytest.mark.slow
def test_train_into_another_configs_folder_is_refused(work):
    """A second config's training run into the first one's folder is refused; nothing there changes."""
    (work / "b.yaml").write_text(EXAMPLE.read_text().replace("beta: 0.1", "beta: 0.3"))
    first = cli("train", "--config", "example1.yaml", "--width", "1-2", "--seeds", "0", "--out", "D", "--no-progress",
                cwd=work)
    assert first.code == 0, first.err
    before = contents(work / "D")
    second = measured("train", "--config", "b.yaml", "--width", "1-2", "--seeds", "0", "--out", "D", "--no-progress",
                      cwd=work)
    second.one_error(2, "holds another run", "choose another --out")
    assert contents(work / "D") == before


@pytest.mark.slow
def test_a_sweep_with_other_axes_into_the_same_folder_is_refused(work):
    assert cli("sweep", "--config", "s.yaml", "--out", "R", "--no-progress", cwd=work).code == 0
    manifest = (work / "R" / "sweep.json").read_text()
    points = sorted(p.name for p in (work / "R" / "points").iterdir())
    run = measured("sweep", "--config", "s.yaml", "--out", "R", "--no-progress", "beta=0.5,0.6", cwd=work)
    run.one_error(2, "holds another run")
    assert (work / "R" / "sweep.json").read_text() == manifest
    assert sorted(p.name for p in (work / "R" / "points").iterdir()) == points


def test_a_second_process_on_a_busy_folder_is_refused(work):
    with RunFolder.open(work / "R", "sweep", {"held": "by this test"}):
        run = measured("sweep", "--config", "s.yaml", "--out", "R", "--no-progress", cwd=work)
    run.one_error(6, "in use by another convexdual process", f"pid {os.getpid()}")


@pytest.mark.slow
def test_tampered_point_files_are_recomputed_not_published(work):
    """A bare {"status":"ok"}, a string staircase and an edited p* are each moved aside and recomputed."""
    assert cli("sweep", "--config", "s.yaml", "--out", "R", "--no-progress", cwd=work).code == 0
    results_before = results(work / "R" / "table.csv")
    files = sorted((work / "R" / "points").glob("*.json"))
    assert len(files) == 3
    files[0].write_text('{"status": "ok"}')
    rec = json.loads(files[1].read_text())
    rec["result"]["staircase"] = "garbage"
    rec["content_sha256"] = digest(rec)  # even with a matching digest, the schema check rejects it
    files[1].write_text(json.dumps(rec))
    rec = json.loads(files[2].read_text())
    rec["result"]["p_star"] = 123.0
    files[2].write_text(json.dumps(rec))
    status = cli("status", "R", "--json", cwd=work)
    assert status.code == 0 and json.loads(status.out)["invalid"] == 3
    assert len(list((work / "R" / "points").glob("*.json"))) == 3  # status only reads
    again = measured("sweep", "--config", "s.yaml", "--out", "R", "--no-progress", cwd=work)
    assert again.code == 0, again.err
    warnings = [line for line in again.lines if line.startswith("warning:")]
    assert len(warnings) == 1 and "3 record(s)" in warnings[0] and "rejected/" in warnings[0]
    assert results(work / "R" / "table.csv") == results_before  # recomputed: the same results as before
    assert len(list((work / "R" / "rejected").glob("*.reason.txt"))) == 3
    assert "123.0" not in (work / "R" / "table.csv").read_text()


@pytest.mark.slow
def test_a_foreign_point_file_is_not_published(work):
    """The result of another config, copied under this point's name, fails the config-hash check."""
    assert cli("sweep", "--config", "s.yaml", "--out", "R", "--no-progress", cwd=work).code == 0
    files = sorted((work / "R" / "points").glob("*.json"))
    shutil.copy(files[0], files[1])  # a valid, sealed record, but of another point
    run = cli("status", "R", "--json", cwd=work)
    st = json.loads(run.out)
    assert st["invalid"] == 1 and "config_hash" in st["invalid_files"][0]["reason"]


@pytest.mark.slow
def test_an_edited_data_file_makes_the_sweep_recompute(work):
    """The config hash covers the data file's contents: an edited file gives new points and a new p*."""
    for suffix in ("csv", "npz"):
        X = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0]])
        write = {"csv": lambda y: (work / "d.csv").write_text(
                     "".join(f"{a},{b},{c}\n" for (a, b), c in zip(X, y))),
                 "npz": lambda y: np.savez(work / "d.npz", X=X, y=y)}[suffix]
        (work / f"f{suffix}.yaml").write_text(f"data: {{kind: file, path: d.{suffix}}}\nsweep: {{beta: [0.1]}}\n")
        p_stars = []
        for y in ([1.0, 2.0, 1.0], [1.0, 5.0, 1.0]):
            write(np.array(y))
            run = cli("sweep", "--config", f"f{suffix}.yaml", "--out", f"F{suffix}", "--no-progress", cwd=work)
            assert run.code == 0, run.err
            rows = (work / f"F{suffix}" / "table.csv").read_text().splitlines()
            header = rows[0].split(",")
            p_stars.append(float(rows[1].split(",")[header.index("p_star")]))
        assert p_stars[1] > p_stars[0] + 0.1, (suffix, p_stars)  # a larger target: a larger optimum


@pytest.mark.slow
def test_a_corrupt_training_record_is_retrained(work):
    args = ("train", "--config", "example1.yaml", "--width", "1-2", "--seeds", "0-1", "--out", "T", "--no-progress")
    assert cli(*args, cwd=work).code == 0
    (work / "T" / "points" / "m1_seed0.json").write_text("{not json")
    (work / "T" / "weights" / "m2_seed1.npz").write_bytes(b"garbage")
    run = measured(*args, cwd=work)
    assert run.code == 0, run.err
    assert "2 already on disk" in run.out and "2/2 global" in run.out
    moved = sorted(p.name.split(".")[0] for p in (work / "T" / "rejected").glob("*.reason.txt"))
    # both records, and both weights files (one orphaned by its record, one garbage) are kept aside
    assert moved == ["points__m1_seed0", "points__m2_seed1", "weights__m1_seed0", "weights__m2_seed1"]


@pytest.mark.slow
def test_an_earlier_sweep_folder_is_adopted_and_its_records_recomputed(work):
    """A folder written before run.json existed: same sweep -> adopted; its unsealed records rerun."""
    assert cli("sweep", "--config", "s.yaml", "--out", "R", "--no-progress", cwd=work).code == 0
    (work / "R" / "run.json").unlink()
    for f in (work / "R" / "points").glob("*.json"):
        rec = json.loads(f.read_text())
        del rec["content_sha256"]
        f.write_text(json.dumps(rec))
    run = cli("sweep", "--config", "s.yaml", "--out", "R", "--no-progress", cwd=work)
    assert run.code == 0 and "3 record(s)" in run.err and (work / "R" / "run.json").exists()
    (work / "R" / "run.json").unlink()
    cli("sweep", "--config", "s.yaml", "--out", "R", "--no-progress", "beta=0.7", cwd=work).one_error(
        2, "holds another run")


@pytest.mark.slow
def test_a_job_of_another_sweep_refuses_to_run(work):
    from convexdual.errors import ConfigError
    from convexdual.sweep import run_planned_point

    assert cli("sweep", "--config", "s.yaml", "--out", "R", "--no-progress", cwd=work).code == 0
    with pytest.raises(ConfigError, match="another sweep"):
        run_planned_point(work / "R", 0, "0" * 64)


# ----------------------------------------------------------------------------- paths


@pytest.mark.parametrize("args", [
    ("solve", "--config", "example1.yaml", "name=../../x", "--out", "r.json"),
    ("solve", "--config", "example1.yaml", "name=/tmp/x"),
    ("train", "--config", "example1.yaml", "--width", "1", "--seeds", "0", "name=../../../x"),
    ("sweep", "--config", "s.yaml", "name=../../x"),
])
def test_names_cannot_leave_outputs(tmp_path, work, args):
    before = tree(tmp_path)
    measured(*args, cwd=work).one_error(2, "name")
    assert tree(tmp_path) == before


def test_a_name_in_the_file_cannot_leave_outputs(tmp_path, work):
    (work / "n.yaml").write_text(CIRCLE + "name: ../../escape\n")
    before = tree(tmp_path)
    measured("sweep", "--config", "n.yaml", cwd=work).one_error(2, "name")
    assert tree(tmp_path) == before


@pytest.mark.slow
def test_default_folders_stay_under_outputs(tmp_path, work):
    before = tree(tmp_path)
    assert cli("sweep", "--config", "s.yaml", "--no-progress", cwd=work).code == 0
    train = cli("train", "--config", "example1.yaml", "--width", "1", "--seeds", "0", "--no-progress", cwd=work)
    assert train.code == 0
    only_inside(tmp_path, work / "outputs", before)


@pytest.mark.parametrize("args", [
    ("sweep", "--config", "s.yaml", "--no-progress", "--out", "{ro}/R"),
    ("train", "--config", "example1.yaml", "--width", "1", "--seeds", "0", "--out", "{ro}/T"),
    ("solve", "--config", "example1.yaml", "--out", "{ro}/r.json"),
    ("figures", "--only", "example1", "--out", "{ro}"),
    ("bench", "--n", "10", "--d", "2", "--out", "{ro}/b"),
    ("search", "--n", "3", "--d", "1", "--trials", "2", "--save", "{ro}/s"),
])
def test_an_unwritable_output_folder_is_refused_before_any_computation(work, readonly, args):
    run = measured(*(a.format(ro=readonly) for a in args), cwd=work)
    run.one_error(2, "cannot write to")
    assert run.seconds < 10  # refused before solving (a solve of these takes longer than the start-up)
    assert not any(readonly.iterdir())


@pytest.mark.parametrize("args", [
    ("sweep", "--config", "s.yaml", "--no-progress", "--out", "s.yaml/R"),
    ("solve", "--config", "example1.yaml", "--out", "s.yaml/r.json"),
    ("train", "--config", "example1.yaml", "--width", "1", "--seeds", "0", "--out", "s.yaml"),
])
def test_a_file_where_a_folder_is_expected(work, args):
    measured(*args, cwd=work).one_error(2, "s.yaml")


def test_an_empty_run_folder_is_not_left_behind_after_a_failure(work):
    """train creates its run folder, then the solve fails (a solver that is not licensed here)."""
    run = cli("train", "--config", "example1.yaml", "--width", "1", "--seeds", "0", "--out", "T", "solver=mosek",
              cwd=work)
    if run.code == 0:
        pytest.skip("MOSEK is licensed here")
    run.one_error(3, "MOSEK")
    assert not (work / "T").exists()


# ----------------------------------------------------------------------------- resources


@pytest.mark.parametrize("n, d", [(2000, 10), (100, 6), (1100, 1100), (20000, 10000)])
def test_huge_enumerations_are_refused_at_once(work, n, d):
    """Refused from the bound on the patterns, before any data are drawn: exit 5 in seconds (vector
    outputs: the bound is also the limit of the search oracle in d > 3)."""
    run = measured("solve", "--config", "example1.yaml", "data.kind=gaussian", f"data.n={n}", f"data.d={d}",
                   "model.outputs=2", cwd=work)
    run.one_error(5, "activation patterns", "limits.cells")


@pytest.mark.slow
def test_the_cell_limit_is_a_config_key(work):
    run = measured("solve", "--config", "example1.yaml", "data.kind=gaussian", "data.n=20", "data.d=3",
                   "limits.cells=100", "model.outputs=2", cwd=work)
    run.one_error(5, "limits.cells = 100")
    run = measured("solve", "--config", "example1.yaml", "data.kind=gaussian", "data.n=20", "data.d=3",
                   "limits.memory_gb=0.1", cwd=work)
    run.one_error(5, "limits.memory_gb = 0.1")


def test_generated_data_beyond_the_memory_limit_are_refused(work):
    measured("solve", "--config", "example1.yaml", "data.kind=gaussian", "data.n=1000000000", "data.d=1000",
             cwd=work).one_error(5, "limits.memory_gb")


@pytest.mark.slow
def test_huge_sweeps_and_training_ranges_are_refused_before_they_are_built(work):
    measured("sweep", "--config", "s.yaml", "data.seed=range(0,10000000)", cwd=work).one_error(
        5, "limits.sweep_points")
    measured("sweep", "--config", "s.yaml", "data.seed=range(0,400)", "beta=range(0,400)", cwd=work).one_error(
        5, "limits.sweep_points")
    measured("train", "--config", "example1.yaml", "--width", "1-1000000000", cwd=work).one_error(5, "--width")
    measured("train", "--config", "example1.yaml", "--width", "1000000000", cwd=work).one_error(
        5, "limits.max_width")
    measured("train", "--config", "example1.yaml", "--width", "1-400", "--seeds", "0-400", cwd=work).one_error(
        5, "limits.train_networks")
    assert not (work / "outputs").exists()


# ----------------------------------------------------------------------------- answers at the edges


@pytest.mark.slow
def test_interpolation_of_zero_targets_is_the_zero_network(work):
    (work / "z.yaml").write_text("problem: interpolation\ndata: {kind: points, X: [[1, 0], [0, 1]], y: [0, 0]}\n")
    run = cli("solve", "--config", "z.yaml", "--json", cwd=work)
    assert run.code == 0, run.err
    res = json.loads(run.out)
    assert res["p_star"] == 0 and res["directions"] == [] and res["m_star"] == 0
    assert res["certificates"]["duality_gap"] == 0


@pytest.mark.slow
def test_plot_on_a_garbage_table_is_one_line(work):
    assert cli("sweep", "--config", "s.yaml", "--out", "R", "--no-progress", cwd=work).code == 0
    for garbage in (b"\x00\xff\xfe binary", b"a,b\n1,2\n", b"", b'config_hash,status,beta\n"unterminated'):
        (work / "R" / "table.csv").write_bytes(garbage)
        measured("plot", "R", cwd=work).one_error(2, "table.csv")
    measured("plot", "nowhere", cwd=work).one_error(2, "not found")


@pytest.mark.slow
def test_status_on_a_garbage_manifest_is_one_line(work):
    assert cli("sweep", "--config", "s.yaml", "--out", "R", "--no-progress", cwd=work).code == 0
    (work / "R" / "sweep.json").write_text('{"points": "nope"}')
    measured("status", "R", cwd=work).one_error(2, "sweep.json")


# ----------------------------------------------------------------------------- packaging


@pytest.mark.slow
def test_a_non_editable_install_runs_figures_and_sweep_from_anywhere(tmp_path):
    """`pip install .` copies the package (configs and launcher presets included) away from the
    checkout; run from a folder that is not the checkout, nothing may come from ``configs/``."""
    target = tmp_path / "site"
    build = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps",
                            "--target", str(target), str(ROOT)], capture_output=True, text=True, timeout=600)
    assert build.returncode == 0, build.stderr
    assert (target / "convexdual" / "configs" / "hydra" / "launcher" / "inprocess.yaml").is_file()
    assert not (target / "convexdual" / "configs").is_symlink()
    here = tmp_path / "elsewhere"
    here.mkdir()
    env = {**os.environ, "PYTHONPATH": str(target)}
    where = subprocess.run([sys.executable, "-c", "import convexdual; print(convexdual.__file__)"], cwd=here, env=env,
                           capture_output=True, text=True)
    assert where.stdout.startswith(str(target)), where.stdout
    fig = cli("figures", "--only", "example1", "--out", "figs", cwd=here, env=env)
    assert fig.code == 0, fig.err
    assert (here / "figs" / "figure2_example1.png").is_file()
    shutil.copy(target / "convexdual" / "configs" / "staircase.yaml", here / "staircase.yaml")
    sweep = cli("sweep", "--config", "staircase.yaml", "--no-progress", "data.seed=0", "beta=0.1", cwd=here, env=env)
    assert sweep.code == 0, sweep.err
    assert (here / "outputs" / "staircase" / "table.csv").is_file()


# ----------------------------------------------------------------------------- links, races and edges


@pytest.mark.slow
def test_a_symlinked_lock_or_subfolder_is_refused_and_its_target_untouched(tmp_path, work):
    assert cli("sweep", "--config", "s.yaml", "--out", "R", "--no-progress", cwd=work).code == 0
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    (work / "R" / ".lock").unlink()
    (work / "R" / ".lock").symlink_to(victim)
    measured("sweep", "--config", "s.yaml", "--out", "R", "--no-progress", cwd=work).one_error(2, "symbolic link")
    assert victim.read_text() == "precious"
    (work / "R" / ".lock").unlink()
    (tmp_path / "elsewhere").mkdir()
    (work / "R" / "rejected").symlink_to(tmp_path / "elsewhere")
    measured("sweep", "--config", "s.yaml", "--out", "R", "--no-progress", cwd=work).one_error(2, "symbolic link")
    assert not any((tmp_path / "elsewhere").iterdir())


@pytest.mark.slow
def test_train_does_not_adopt_an_earlier_sweep_folder(work):
    assert cli("sweep", "--config", "s.yaml", "--out", "R", "--no-progress", cwd=work).code == 0
    (work / "R" / "run.json").unlink()  # as written before run.json existed
    before = contents(work / "R")
    measured("train", "--config", "example1.yaml", "--width", "1", "--seeds", "0", "--out", "R", cwd=work).one_error(
        2, "not a train run folder")
    assert contents(work / "R") == before


@pytest.mark.slow
def test_a_sealed_record_of_the_wrong_shape_is_rejected_not_a_crash(work):
    assert cli("sweep", "--config", "s.yaml", "--out", "R", "--no-progress", cwd=work).code == 0
    files = sorted((work / "R" / "points").glob("*.json"))
    for f, field, value in ((files[0], "result", [1]), (files[1], "overrides", "beta")):
        rec = json.loads(f.read_text())
        rec[field] = value
        rec["content_sha256"] = digest(rec)
        f.write_text(json.dumps(rec))
    st = cli("status", "R", "--json", cwd=work)
    assert st.code == 0 and json.loads(st.out)["invalid"] == 2, st.err
    again = measured("sweep", "--config", "s.yaml", "--out", "R", "--no-progress", cwd=work)
    assert again.code == 0 and "2 record(s)" in again.err


@pytest.mark.slow
def test_a_job_refuses_a_point_whose_config_changed_after_planning(work):
    from convexdual.errors import ConfigError
    from convexdual.sweep import run_planned_point

    assert cli("sweep", "--config", "s.yaml", "--out", "R", "--no-progress", cwd=work).code == 0
    first = sorted((work / "R" / "points").glob("*.json"))[0]
    first.unlink()
    (work / "s.yaml").write_text(CIRCLE.replace("y: [1, 1, 1]", "y: [1, 2, 1]"))
    man = json.loads((work / "R" / "sweep.json").read_text())
    index = next(i for i, e in enumerate(man["points"]) if e["file"] == f"points/{first.name}")
    with pytest.raises(ConfigError, match="changed after the sweep"):
        run_planned_point(work / "R", index, man["identity_sha256"])
    assert not first.exists()


@pytest.mark.slow
def test_run_folder_paths_with_hydra_syntax(work):
    run = cli("sweep", "--config", "s.yaml", "--out", "R,x=[1]'q", "--no-progress", cwd=work)
    assert run.code == 0, run.err
    assert len(list((work / "R,x=[1]'q" / "points").glob("*.json"))) == 3
    measured("sweep", "--config", "s.yaml", "--out", "R${x}", "--no-progress", cwd=work).one_error(2, "'${'")
    assert not (work / "R${x}").exists()


@pytest.mark.slow
def test_limits_are_not_part_of_a_sweeps_identity(work):
    assert cli("sweep", "--config", "s.yaml", "--out", "R", "--no-progress", cwd=work).code == 0
    again = cli("sweep", "--config", "s.yaml", "--out", "R", "--no-progress", "limits.cells=5000000", cwd=work)
    assert again.code == 0 and "3 already on disk" in again.out, again.err
    measured("sweep", "--config", "s.yaml", "--out", "R2", "--no-progress", "limits={sweep_points: 1}",
             cwd=work).one_error(5, "limits.sweep_points = 1")


@pytest.mark.slow
def test_a_leftover_probe_file_does_not_block_a_new_folder(work):
    (work / "R").mkdir()
    (work / "R" / ".probe-deadbeef").touch()  # another process's writability probe
    assert cli("sweep", "--config", "s.yaml", "--out", "R", "--no-progress", cwd=work).code == 0


@pytest.mark.slow
def test_a_closed_stdout_is_a_quiet_141(work):
    assert cli("sweep", "--config", "s.yaml", "--out", "R", "--no-progress", cwd=work).code == 0
    proc = subprocess.Popen([sys.executable, "-m", "convexdual.cli", "status", "R", "--json"], cwd=work,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()  # the reader went away (like `| head -0`)
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 141 and err == ""


@pytest.mark.slow
def test_sigterm_during_a_solve_is_one_line(work):
    proc = subprocess.Popen([sys.executable, "-m", "convexdual.cli", "solve", "--config", "example1.yaml",
                             "data.kind=gaussian", "data.n=300", "data.d=3"], cwd=work, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    time.sleep(6)  # inside the solve (start-up takes a few seconds, the solve much longer)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    Run(proc.returncode, out, err, 0.0, 0.0).one_error(143, "terminated")


def test_a_csv_too_large_for_the_limits_is_refused_before_it_is_parsed(work):
    (work / "d.csv").write_text("".join(f"{i % 7},{i % 5}\n" for i in range(50_000)))
    (work / "c.yaml").write_text("data: {kind: file, path: d.csv}\n")
    measured("solve", "--config", "c.yaml", "limits.memory_gb=0.35", cwd=work).one_error(
        5, "up to 50001 rows", "limits.memory_gb = 0.35")


def test_an_npz_with_too_many_members_is_refused_from_its_end_record(work):
    np.savez(work / "d.npz", X=np.ones((3, 2)), y=np.ones(3), **{f"m{i}": np.zeros(0) for i in range(1001)})
    (work / "c.yaml").write_text("data: {kind: file, path: d.npz}\n")
    measured("solve", "--config", "c.yaml", cwd=work).one_error(5, "1003 members")
