"""Sweeps: axis expansion, point files, the tidy table, skipping, resuming after Ctrl-C, failed points."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from convexdual.config import load_config
from convexdual.pipeline import solve
from convexdual.sweep import connectivity_width, format_value, override_for, plan_sweep, run_sweep

ROOT = Path(__file__).resolve().parent.parent

SMALL = """\
name: small
data: {kind: gaussian, n: 5, d: 2}
widths: [1, 2, 3, 4]
"""


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "convexdual.cli", *args], capture_output=True, text=True,
                          cwd=cwd or ROOT, timeout=300)


def tmp_files(run_dir: Path) -> list[Path]:
    return [p for p in run_dir.rglob("*") if p.name.endswith(".tmp")]


# ----------------------------------------------------------------------------- expansion (no solves)


def test_yaml_axes_times_cli_sweep_in_order(tmp_path):
    cfg = write(tmp_path / "c.yaml", SMALL + 'sweep: {beta: [0.1, 0.2], data.seed: "range(0,3)"}\n')
    plan = plan_sweep(cfg, ["data.n=4,5"])
    assert list(plan.axes) == ["beta", "data.seed", "data.n"]
    assert len(plan.points) == 12
    got = [(p.overrides["beta"], p.overrides["data.seed"], p.overrides["data.n"]) for p in plan.points]
    assert got == [(b, s, n) for b in (0.1, 0.2) for s in range(3) for n in (4, 5)]  # first axis slowest
    for p in plan.points:
        assert (p.config.beta, p.config.data.seed, p.config.data.n) == got[plan.points.index(p)]
    assert len({p.key for p in plan.points}) == 12


def test_cli_sweep_replaces_yaml_axis_and_plain_overrides_apply_to_all(tmp_path):
    cfg = write(tmp_path / "c.yaml", SMALL + "sweep: {beta: [0.1, 0.2], data.seed: [0, 1]}\n")
    plan = plan_sweep(cfg, ["beta=0.5,0.6,0.7", "data.d=3"])
    assert plan.axes == {"beta": [0.5, 0.6, 0.7], "data.seed": [0, 1]}  # replaced in place
    assert len(plan.points) == 6
    assert [p.config.beta for p in plan.points] == [0.5, 0.5, 0.6, 0.6, 0.7, 0.7]
    assert all(p.config.data.d == 3 for p in plan.points)
    # a plain override of an axis key fixes it; no axes at all is one point
    assert [p.config.beta for p in plan_sweep(cfg, ["beta=0.3"]).points] == [0.3, 0.3]
    one = plan_sweep(write(tmp_path / "one.yaml", SMALL), [])
    assert len(one.points) == 1 and one.points[0].overrides == {}


def test_invalid_point_is_kept_as_failed_not_raised(tmp_path):
    cfg = write(tmp_path / "c.yaml", SMALL + "sweep: {beta: [0.1, -1.0]}\n")
    ok, bad = plan_sweep(cfg, []).points
    assert ok.config is not None and bad.config is None
    assert bad.error.startswith("ConfigError:") and "beta" in bad.error and bad.key.startswith("invalid-")


@pytest.mark.parametrize("value", [0.1, 1.0, 1e-10, 3, -2, True, None, "a b", "it's", "c:\\dir\\", "1",
                                   "true", [1, 2.5, "x,y"], float("inf")])
def test_values_round_trip_through_hydra(value):
    from hydra.core.override_parser.overrides_parser import OverridesParser

    text = override_for("k", value)
    back = OverridesParser.create().parse_override(text).value()
    assert back == value and type(back) is type(value), (text, format_value(value))


def test_connectivity_width():
    rows = [{"m": m, "connected": c} for m, c in [(1, False), (2, True), (3, False), (4, True), (5, True)]]
    assert connectivity_width(rows) == 4
    assert connectivity_width(rows[:3]) is None and connectivity_width(None) is None


# ----------------------------------------------------------------------------- real sweeps


@pytest.mark.slow
def test_2x2_sweep_table_and_skip_on_rerun(tmp_path):
    cfg = write(tmp_path / "c.yaml", SMALL + "sweep: {beta: [0.1, 0.3], data.seed: [0, 1]}\n")
    run = tmp_path / "run"
    s = run_sweep(cfg, [], run, progress=False)
    assert (s.done, s.skipped, s.failed, s.run_dir, s.table_path) == (4, 0, 0, run, run / "table.csv")
    files = sorted((run / "points").glob("*.json"))
    assert len(files) == 4
    rec = json.loads(files[0].read_text())
    assert rec["status"] == "ok" and set(rec["overrides"]) == {"beta", "data.seed"}
    for key in ("config_hash", "config", "result", "versions", "git_revision", "started", "finished", "time_s"):
        assert key in rec
    assert files[0].stem == rec["config_hash"] == rec["result"]["config_hash"]

    t = pd.read_csv(run / "table.csv")
    assert {"beta", "data.seed", "m", "connected", "m_star", "connectivity_width"} <= set(t.columns)
    assert t.config_hash.nunique() == 4 and len(t) == 4 * 4  # one row per (point, width)
    assert (t.status == "ok").all()
    for (beta, seed), g in t.groupby(["beta", "data.seed"]):
        assert list(g.m) == [1, 2, 3, 4]
        expected = solve(load_config(cfg, [f"beta={beta!r}", f"data.seed={seed}"])).to_dict()
        assert (g.m_star == expected["m_star"]).all() and g.config_hash.iloc[0] == expected["config_hash"]
        assert g.p_star.iloc[0] == pytest.approx(expected["p_star"], rel=1e-9)
    manifest = json.loads((run / "sweep.json").read_text())
    assert manifest["axes"] == {"beta": [0.1, 0.3], "data.seed": [0, 1]} and len(manifest["points"]) == 4

    before = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in files}
    table = (run / "table.csv").read_bytes()
    again = run_sweep(cfg, [], run, progress=False)
    assert (again.done, again.skipped, again.failed) == (4, 4, 0)
    assert {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in files} == before
    assert (run / "table.csv").read_bytes() == table


@pytest.mark.slow
def test_interrupted_sweep_resumes(tmp_path):
    cfg = write(tmp_path / "c.yaml", "data: {kind: gaussian, n: 6, d: 2, bias: true}\nwidths: [1, 2, 3]\n"
                                     "sweep: {beta: [0.1, 1.0], data.seed: 'range(0,6)'}\n")
    run = tmp_path / "run"
    # A process started in the background without job control inherits SIGINT ignored (and Python then
    # installs no KeyboardInterrupt handler): give the sweep the default disposition, as in a terminal.
    proc = subprocess.Popen([sys.executable, "-m", "convexdual.cli", "sweep", "--config", str(cfg), "--out", str(run),
                             "--no-progress"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 120
    while not list((run / "points").glob("*.json")) and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode != 0, "the sweep finished before it was interrupted"
    assert "resume" in err.strip().splitlines()[-1]
    assert not tmp_files(run)
    statuses = [json.loads(f.read_text())["status"] for f in (run / "points").glob("*.json")]
    assert 1 <= len(statuses) < 12

    s = run_sweep(cfg, [], run, progress=False)
    assert s.done + s.failed == 12 and s.skipped >= statuses.count("ok")
    assert len(list((run / "points").glob("*.json"))) == 12 and not tmp_files(run)
    assert pd.read_csv(run / "table.csv").config_hash.nunique() == 12


@pytest.mark.slow
def test_failed_points_are_recorded_and_the_sweep_goes_on(tmp_path):
    good = write(tmp_path / "good.csv", "x1,x2,y\n1,0,1\n0,1,-1\n1,1,0.5\n-1,0.5,2\n")
    missing = tmp_path / "missing.csv"
    cfg = write(tmp_path / "c.yaml", "name: files\ndata: {kind: file}\nwidths: [1, 2, 3]\n"
                                     f"sweep: {{data.path: ['{good}', '{missing}'], beta: [0.1, -1.0]}}\n")
    run = tmp_path / "run"
    p = cli("sweep", "--config", str(cfg), "--out", str(run), "--no-progress")
    assert p.returncode == 1, p.stderr
    assert p.stdout.strip().endswith(f"table {run / 'table.csv'}") and "1 done" in p.stdout and "3 failed" in p.stdout
    records = [json.loads(f.read_text()) for f in (run / "points").glob("*.json")]
    assert sorted(r["status"] for r in records) == ["failed", "failed", "failed", "ok"]
    by = {(r["overrides"]["data.path"], r["overrides"]["beta"]): r for r in records}
    assert by[(str(good), 0.1)]["status"] == "ok"
    assert by[(str(missing), 0.1)]["error"].startswith("ConfigError: data.path: file not found")
    assert by[(str(good), -1.0)]["error"].startswith("ConfigError: config key 'beta' must be > 0")
    assert by[(str(good), -1.0)]["config_hash"] is None
    t = pd.read_csv(run / "table.csv")
    failed = t[t.status == "failed"]
    assert len(failed) == 3 and failed.m.isna().all() and failed.error.str.startswith("ConfigError").all()
    assert (t[t.status == "ok"].m.tolist()) == [1, 2, 3]
    st = cli("status", str(run))  # failed points: exit 1, and the command that retries them
    assert st.returncode == 1 and "1 done, 3 failed" in st.stdout, st.stderr
    assert st.stdout.splitlines()[-1] == f"  resume with: convexdual sweep --config {cfg} --out {run}"
    assert cli("status", str(run), "--json").returncode == 1


def test_a_point_result_without_its_p_star_or_bracket_is_rejected():
    """A certified result needs a number p_star, a bracket needs two numbers in p_star_bounds."""
    from convexdual.config import config_from_dict
    from convexdual.pipeline import solve
    from convexdual.results import jsonable
    from convexdual.sweep import result_problem

    good = jsonable(solve(config_from_dict({"beta": 0.1, "data": {"kind": "circle", "angles_deg": [0, 120],
                                                                    "y": [1, 1]}})).to_dict())
    assert result_problem(good) is None
    assert "p_star" in result_problem({**good, "p_star": None})
    legacy = {k: v for k, v in good.items() if k not in ("certified", "p_star_bounds")}
    assert result_problem(legacy) is None and "p_star" in result_problem({**legacy, "p_star": None})
    bracket = {**good, "p_star": None, "certified": False}
    assert "p_star_bounds" in result_problem({**bracket, "p_star_bounds": None})
    assert "p_star_bounds" in result_problem({**bracket, "p_star_bounds": [0.1, "x"]})
    assert result_problem({**bracket, "p_star_bounds": [0.1, 0.2]}) is None
    assert "certified" in result_problem({**good, "certified": "yes"})


def test_run_folder_helpers_shared_by_sweep_train_and_bench(tmp_path):
    """The run layer: records under points/, resume that moves failing records aside, the table
    (sweep: '\\n' line ends and JSON cells; train and bench: csv's '\\r\\n'), a legacy manifest check."""
    from convexdual.runs import (RunFolder, legacy_manifest, record_path, table_text, write_json, write_record,
                                 write_table)

    def check(r):
        return None if r.get("x") == 1 else "x is not 1"

    assert record_path("m2_seed3") == "points/m2_seed3.json"
    with RunFolder.open(tmp_path / "run", "train", {"run_id": "t"}) as folder:
        write_record(folder.path, record_path("good"), {"status": "ok", "x": 1}, check)
        (folder.path / record_path("edited")).write_text('{"status": "ok", "x": 1, "content_sha256": "0"}')
        found = folder.read_records([(record_path("good"), check), (record_path("edited"), check),
                                     (record_path("missing"), check)])
        assert list(found) == [record_path("good")] and found[record_path("good")]["x"] == 1
        assert [name for name, _ in folder.rejected] == [record_path("edited")]
        assert not (folder.path / record_path("edited")).exists()
    rows = [{"a": 1, "b": [1, 2], "extra": 0}, {"a": None}]
    assert table_text(["a", "b"], rows) == "a,b\r\n1,\"[1, 2]\"\r\n,\r\n"
    assert table_text(["a", "b"], rows, lineterminator="\n", cell=lambda v: "" if v is None else json.dumps(v)) == \
        "a,b\n1,\"[1, 2]\"\n,\n"
    write_table(tmp_path / "t.csv", ["a", "c"], rows)
    assert (tmp_path / "t.csv").read_bytes() == b"a,c\r\n1,\r\n,\r\n"
    write_json(tmp_path / "m.json", {"config": "c"})
    write_json(tmp_path / "m.json", {"config": "d"})  # replaced, not refused
    assert json.loads((tmp_path / "m.json").read_text()) == {"config": "d"}
    other = legacy_manifest("m.json", lambda old: None if old["config"] == "c" else f"a run of {old['config']}")
    assert other(tmp_path) == "a run of d" and other(tmp_path / "run") is None


@pytest.mark.slow
def test_status_resume_repeats_the_launcher_and_its_settings(tmp_path):
    """The resume command of `status` names the launcher and its settings as the sweep was run."""
    from convexdual.sweep import resume_command, sweep_status

    cmd = resume_command("c.yaml", tmp_path, ["beta=0.1,1"], "slurm", ["hydra.launcher.partition=gpu",
                                                                      "hydra.launcher.timeout_min=60"])
    assert cmd == (f"convexdual sweep --config c.yaml --out {tmp_path} --launcher slurm hydra.launcher.partition=gpu "
                   "hydra.launcher.timeout_min=60 beta=0.1,1")
    assert resume_command("c.yaml", tmp_path, ["beta=1"]) == f"convexdual sweep --config c.yaml --out {tmp_path} beta=1"
    run = tmp_path / "run"
    cfg = ROOT / "configs" / "staircase.yaml"
    run_sweep(cfg, ["data.seed=0", "beta=0.1", "hydra.launcher.n_jobs=1"], run, progress=False, launcher="joblib")
    man = json.loads((run / "sweep.json").read_text())
    assert man["launcher"] == {"name": "joblib", "settings": ["hydra.launcher.n_jobs=1"]}
    assert sweep_status(run)["resume"] == resume_command(str(cfg.resolve()), run, man["overrides"], "joblib",
                                                         ["hydra.launcher.n_jobs=1"])



def test_each_job_folder_keeps_its_hydra_snapshot(tmp_path):
    """As in any Hydra multirun, hydra/<point>/.hydra/ holds the job's config.yaml, hydra.yaml and
    overrides.yaml; the folder is named by the point's index, also when a resume runs it alone."""
    run = tmp_path / "run"
    args = ["data.seed=0,1", "beta=0.1"]
    run_sweep(ROOT / "configs" / "staircase.yaml", args, run, progress=False)
    for point in (0, 1):
        snapshot = run / "hydra" / str(point) / ".hydra"
        assert {p.name for p in snapshot.iterdir()} == {"config.yaml", "hydra.yaml", "overrides.yaml"}
        assert f"- point={point}" in (snapshot / "overrides.yaml").read_text()
    shutil.rmtree(run / "hydra")
    (run / json.loads((run / "sweep.json").read_text())["points"][1]["file"]).unlink()
    assert run_sweep(ROOT / "configs" / "staircase.yaml", args, run, progress=False).ran == 1
    assert [p.name for p in (run / "hydra").iterdir() if p.is_dir()] == ["1"]
    assert "- point=1" in (run / "hydra" / "1" / ".hydra" / "overrides.yaml").read_text()


@pytest.mark.parametrize("launcher", ["x", {"name": "dask", "settings": []}, {"name": "slurm", "settings": [1]}])
def test_an_edited_launcher_record_is_refused_in_one_line(tmp_path, launcher):
    """sweep.json's launcher (which status repeats in its resume command) must be one convexdual wrote."""
    run = tmp_path / "run"
    run_sweep(ROOT / "configs" / "staircase.yaml", ["data.seed=0", "beta=0.1"], run, progress=False)
    man = json.loads((run / "sweep.json").read_text())
    man["launcher"] = launcher
    (run / "sweep.json").write_text(json.dumps(man))
    st = cli("status", str(run))
    assert st.returncode == 2 and st.stderr.strip().splitlines() == [
        f"error: {run}/sweep.json is not a sweep manifest convexdual wrote (edited or corrupt)"]



def test_status_of_points_sent_to_slurm_without_a_file(tmp_path):
    """A point recorded in submissions.json whose task SLURM no longer lists is lost (exit 1, its task
    named); without squeue on the machine it is unknown instead (exit 0: nothing is known to have
    failed). An edited submissions.json is one error line."""
    import shutil as sh

    from convexdual.sweep import sweep_status

    run = tmp_path / "run"
    run_sweep(ROOT / "configs" / "staircase.yaml", ["data.seed=0,1", "beta=0.1"], run, progress=False)
    files = [e["file"] for e in json.loads((run / "sweep.json").read_text())["points"]]
    (run / files[1]).unlink()
    record = {"arrays": [{"name": "convexdual-00000000-1", "job_id": "999999", "files": files,
                          "submitted": "2026-01-01T00:00:00+00:00", "detached": True}]}
    (run / "submissions.json").write_text(json.dumps(record))
    st = sweep_status(run)
    p = cli("status", str(run))
    slurm_here = (sh.which("squeue") is not None
                  and subprocess.run(["squeue", "-h"], capture_output=True).returncode == 0)
    if slurm_here:
        assert (st["done"], st["lost"], st["pending"], st["unknown"]) == (1, 1, 1, 0), st
        assert st["lost_points"][0]["slurm_job"] == "999999_1" and st["lost_points"][0]["file"] == files[1]
        assert p.returncode == 1 and "1 lost" in p.stdout and "job 999999_1) left the queue" in p.stdout
    else:
        assert (st["done"], st["lost"], st["unknown"]) == (1, 0, 1), st
        assert p.returncode == 0 and "SLURM cannot be asked here" in p.stdout
    (run / "submissions.json").write_text(json.dumps({"arrays": [{"name": 3}]}))
    bad = cli("status", str(run))
    assert bad.returncode == 2 and bad.stderr.strip() == (f"error: {run}/submissions.json is not a record convexdual "
                                                          "wrote (edited or corrupt)")
