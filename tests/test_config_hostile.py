"""Hostile config input: every bad file or value is one ConfigError line naming the key or file.

Covers the safe YAML reader (file type and size, UTF-8, alias bombs, nesting, the files a
``defaults:`` list makes Hydra read), ``name`` as a folder name, the ``limits:`` section, the data
file's digest in the config's identity, and integer / float ranges. Limits are exact counts
(100000 nodes, 50 levels, 1 MiB, 2000 files, 10**9, 2**63); the command-line bomb runs must end
within 30 s with a peak resident memory under 1 GB.
"""

from __future__ import annotations

import hashlib
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from convexdual.config import (MAX_CHAIN_FILES, MAX_CONFIG_BYTES, MAX_DATA_BYTES, MAX_YAML_NODES, Limits,
                               config_from_dict, find_data_file, load_config, read_limits, read_sweep_axes)
from convexdual.errors import ConfigError, ResourceLimitError

ROOT = Path(__file__).resolve().parent.parent
POINTS = {"data": {"kind": "points", "X": [[1, 2], [3, 4], [5, 6]], "y": [1, 2, 3]}}
CIRCLE = "data: {kind: circle, angles_deg: [0, 120], y: [1, 1]}\n"
BOMB_SECONDS = 30.0
BOMB_PEAK_BYTES = 1 << 30
CHILD_ADDRESS_SPACE = 4 << 30  # a safety net so that a reader without the checks cannot exhaust the machine


def one_line_error(call, *args, **kwargs) -> str:
    """The message of the ConfigError that ``call`` raises; it must be one line."""
    with pytest.raises(ConfigError) as info:
        call(*args, **kwargs)
    message = str(info.value)
    assert message and "\n" not in message, message
    return message


def bomb(levels: int = 9, fanout: int = 9, indent: str = "  ") -> str:
    """YAML lines: ``fanout`` scalars, then ``levels`` lists of ``fanout`` aliases of the level below
    (expanded size above fanout ** (levels + 1))."""
    lines = [f"{indent}l0: &l0 [{', '.join(['x'] * fanout)}]"]
    lines += [f"{indent}l{k}: &l{k} [{', '.join([f'*l{k - 1}'] * fanout)}]" for k in range(1, levels + 1)]
    return "\n".join(lines) + "\n"


def run_measured(*args: str) -> tuple[int, list[str], float, int]:
    """Run the command line; (exit code, stderr lines, seconds, peak resident bytes of the child).
    The child is killed after BOMB_SECONDS (its exit code is then negative)."""
    def cap_address_space() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (CHILD_ADDRESS_SPACE, CHILD_ADDRESS_SPACE))

    with tempfile.TemporaryFile() as err:
        start = time.monotonic()
        proc = subprocess.Popen([sys.executable, "-m", "convexdual.cli", *args], cwd=ROOT, stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=err, preexec_fn=cap_address_space)
        timer = threading.Timer(BOMB_SECONDS, proc.kill)
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
        seconds = time.monotonic() - start
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here: Popen must not wait or kill
        err.seek(0)
        lines = err.read().decode("utf-8", "replace").strip().splitlines()
    return proc.returncode, lines, seconds, usage.ru_maxrss * 1024  # ru_maxrss is in KiB on Linux


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "convexdual.cli", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=300)


# ----------------------------------------------------------------------------- alias bombs


@pytest.fixture
def bomb_configs(tmp_path: Path) -> dict[str, Path]:
    """A bomb directly in ``sweep:`` and one in a file included through ``defaults:``."""
    direct = tmp_path / "bomb.yaml"
    direct.write_text(CIRCLE + "sweep:\n" + bomb())
    (tmp_path / "inc").mkdir()
    (tmp_path / "inc" / "axes.yaml").write_text("sweep:\n" + bomb())
    included = tmp_path / "bomb_included.yaml"
    included.write_text("defaults:\n  - inc/axes\n  - _self_\n" + CIRCLE)
    return {"direct": direct, "included": included}


@pytest.mark.parametrize("where", ["direct", "included"])
@pytest.mark.parametrize("command", ["sweep", "solve"])
def test_alias_bomb_on_the_command_line_is_one_line_quickly_and_small(tmp_path, bomb_configs, where, command):
    extra = ["--out", str(tmp_path / "run")] if command == "sweep" else []
    code, lines, seconds, peak = run_measured(command, "--config", str(bomb_configs[where]), *extra)
    assert seconds < BOMB_SECONDS and code >= 0, f"killed after {seconds:.0f} s"
    assert code == 2, lines
    assert len(lines) == 1 and lines[0].startswith("error:"), lines
    assert "expands to more than 100000 nodes through YAML aliases" in lines[0]
    assert ("axes.yaml" if where == "included" else "bomb.yaml") in lines[0]
    assert peak < BOMB_PEAK_BYTES, f"peak resident memory {peak / 2**20:.0f} MiB"


@pytest.mark.parametrize("reader", [load_config, read_sweep_axes, read_limits])
def test_alias_bomb_is_refused_by_every_reader(bomb_configs, reader):
    assert "expands to more than 100000 nodes" in one_line_error(reader, bomb_configs["direct"])


def expanded(n_extra: int) -> str:
    """A sweep block whose document has 100000 + (n_extra - 92) nodes with its aliases expanded:
    root 1, 'sweep' 1 + 1, 'a' 1 + 100, 'b' 1 + (1 + 998 * 100), 'c' 1 + (1 + n_extra)."""
    return ("sweep:\n  a: &a [" + ", ".join(["1"] * 99) + "]\n  b: [" + ", ".join(["*a"] * 998) + "]\n"
            "  c: [" + ", ".join(["1"] * n_extra) + "]\n")


def test_expansion_limit_is_exact(tmp_path):
    at = tmp_path / "at.yaml"
    at.write_text(expanded(92))  # exactly 100000 nodes
    axes = read_sweep_axes(at)
    assert len(axes["b"]) == 998 and len(axes["b"][0]) == 99 and len(axes["c"]) == 92
    over = tmp_path / "over.yaml"
    over.write_text(expanded(93))
    assert "more than 100000 nodes" in one_line_error(read_sweep_axes, over)


def test_recursive_alias_is_refused(tmp_path):
    path = tmp_path / "rec.yaml"
    path.write_text(CIRCLE + "sweep: &s {beta: *s}\n")
    assert "*s refers to a node that contains it" in one_line_error(load_config, path)


def test_nesting_depth_is_capped(tmp_path):
    ok, deep = tmp_path / "ok.yaml", tmp_path / "deep.yaml"
    ok.write_text("sweep: {beta: " + "[" * 48 + "0.1" + "]" * 48 + "}\n")  # 50 levels with the two mappings
    deep.write_text("sweep: {beta: " + "[" * 49 + "0.1" + "]" * 49 + "}\n")
    assert read_sweep_axes(ok)["beta"][0] is not None
    assert "nested more than 50 levels" in one_line_error(read_sweep_axes, deep)
    very = tmp_path / "very.yaml"
    very.write_text("sweep: {beta: " + "[" * 5000 + "]" * 5000 + "}\n")
    assert "nested more than 50 levels" in one_line_error(read_sweep_axes, very)


# ----------------------------------------------------------------------------- file type, size, encoding


def test_latin1_config(tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes("# caf\xe9\nbeta: 0.2\n".encode("latin-1"))
    message = one_line_error(load_config, path)
    assert message == f"{path}: not UTF-8 text (invalid byte 0xe9 at offset 5)"


def test_binary_config(tmp_path):
    path = tmp_path / "binary.yaml"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)))
    assert "not UTF-8 text (invalid byte 0x89 at offset 0)" in one_line_error(load_config, path)


def test_nul_byte_in_utf8_config(tmp_path):
    path = tmp_path / "nul.yaml"
    path.write_bytes(b"beta: 0.2\n\0\n")
    assert "not UTF-8 text (NUL byte at offset 10)" in one_line_error(read_sweep_axes, path)


def test_control_character_is_one_line(tmp_path):
    path = tmp_path / "ctrl.yaml"
    path.write_text("name: a\x01b\n")
    assert "malformed YAML" in one_line_error(load_config, path)


def test_integer_of_too_many_digits_is_one_line(tmp_path):
    path = tmp_path / "digits.yaml"
    path.write_text("beta: " + "1" * 5000 + "\n" + CIRCLE)
    assert "digits" in one_line_error(load_config, path)


def test_empty_file_is_all_defaults(tmp_path):
    """As before: an empty file is the defaults (which need data.X), the same as an empty dict."""
    path = tmp_path / "empty.yaml"
    path.write_bytes(b"")
    with pytest.raises(ConfigError) as from_dict:
        config_from_dict({})
    assert one_line_error(load_config, path) == str(from_dict.value)
    assert read_sweep_axes(path) == {}
    assert read_limits(path) == Limits()


def test_directory_as_config(tmp_path):
    folder = tmp_path / "conf.yaml"
    folder.mkdir()
    for reader in (load_config, read_sweep_axes, read_limits):
        assert one_line_error(reader, folder) == f"{folder}: is a directory, not a config file"


def test_fifo_as_config_does_not_block(tmp_path):
    """In a child process with a deadline: a reader that blocked on the FIFO would hang the suite."""
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    code, lines, seconds, _ = run_measured("solve", "--config", str(fifo))
    assert code == 2 and lines == [f"error: {fifo}: not a regular file"] and seconds < BOMB_SECONDS


def test_config_size_cap(tmp_path):
    at = tmp_path / "at.yaml"
    at.write_text("#" * (MAX_CONFIG_BYTES - 1) + "\n")  # only a comment: exactly the cap
    assert read_sweep_axes(at) == {}
    over = tmp_path / "over.yaml"
    over.write_text("#" * MAX_CONFIG_BYTES + "\n")
    message = one_line_error(load_config, over)
    assert MAX_CONFIG_BYTES == 1 << 20
    assert f"{MAX_CONFIG_BYTES + 1} bytes" in message and f"{MAX_CONFIG_BYTES}-byte limit" in message


@pytest.mark.parametrize("content, needle", [
    ("# caf\xe9\n".encode("latin-1"), "not UTF-8 text"),
    (b"\x00\x01\x02binary", "NUL byte"),
    (b"#" * (MAX_CONFIG_BYTES + 1), "-byte limit"),
    (("sweep:\n" + bomb()).encode(), "expands to more than 100000 nodes"),
])
def test_bad_config_files_on_the_command_line(tmp_path, content, needle):
    path = tmp_path / "c.yaml"
    path.write_bytes(content)
    p = cli("solve", "--config", str(path))
    lines = p.stderr.strip().splitlines()
    assert p.returncode == 2 and len(lines) == 1 and lines[0].startswith("error:") and needle in lines[0], p.stderr


# ----------------------------------------------------------------------------- files read through defaults:


@pytest.fixture
def groups(tmp_path: Path) -> Path:
    """main.yaml -> grp/opt.yaml -> grp/sub.yaml (relative to the group) and /other/top.yaml
    (relative to the config's directory); unrelated.yaml is malformed and never read."""
    for folder in ("grp", "other"):
        (tmp_path / folder).mkdir()
    (tmp_path / "main.yaml").write_text("defaults:\n  - grp: opt\n  - _self_\n" + CIRCLE)
    (tmp_path / "grp" / "opt.yaml").write_text("# @package _global_\ndefaults:\n  - sub\n  - /other/top\n  - _self_\n"
                                               "solver: scs\n")
    (tmp_path / "grp" / "sub.yaml").write_text("# @package _global_\nbeta: 0.25\n")
    (tmp_path / "other" / "top.yaml").write_text("# @package _global_\nworking_set: never\n")
    (tmp_path / "unrelated.yaml").write_text("x: [1, 2\n")
    return tmp_path


@pytest.mark.parametrize("target", ["grp/opt.yaml", "grp/sub.yaml", "other/top.yaml"])
def test_every_file_of_the_defaults_chain_is_checked(groups, target):
    cfg = load_config(groups / "main.yaml")  # unrelated.yaml is not checked: every entry was resolved
    assert (cfg.solver, cfg.beta, cfg.working_set) == ("scs", 0.25, "never")
    (groups / target).write_bytes("# caf\xe9\n".encode("latin-1"))
    assert one_line_error(load_config, groups / "main.yaml").startswith(f"{groups / target}: not UTF-8 text")


def test_list_of_options_and_prefixes(groups):
    (groups / "grp" / "b.yaml").write_bytes(b"#" * (MAX_CONFIG_BYTES + 1))
    (groups / "main.yaml").write_text("defaults:\n  - optional grp@x: [sub, b]\n  - _self_\n" + CIRCLE)
    assert one_line_error(load_config, groups / "main.yaml").startswith(f"{groups / 'grp' / 'b.yaml'}: ")


def test_defaults_cycle_ends(groups):
    (groups / "main.yaml").write_text("defaults:\n  - b\n  - _self_\n" + CIRCLE)
    (groups / "b.yaml").write_text("defaults:\n  - c\n")
    (groups / "c.yaml").write_bytes("defaults:\n  - b\n# caf\xe9\n".encode("latin-1"))
    assert one_line_error(load_config, groups / "main.yaml").startswith(f"{groups / 'c.yaml'}: not UTF-8 text")


def test_hydras_own_groups_do_not_walk_the_tree(groups):
    """``override hydra/job_logging: disabled`` names Hydra's packaged files: no reason to read the
    config's whole folder (an unrelated bad file there must not matter)."""
    (groups / "main.yaml").write_text("defaults:\n  - _self_\n  - override hydra/job_logging: disabled\n" + CIRCLE)
    (groups / "deep").mkdir()
    (groups / "deep" / "x.yaml").write_bytes("caf\xe9: 1\n".encode("latin-1"))
    assert load_config(groups / "main.yaml").data.kind == "circle"


def test_unresolved_entry_checks_every_yaml_file_under_the_directory(groups):
    (groups / "unrelated.yaml").write_text("x: 1\n")
    (groups / "main.yaml").write_text("defaults:\n  - _self_\n  - optional nogroup: nothing\n" + CIRCLE)
    assert load_config(groups / "main.yaml").data.kind == "circle"  # an optional entry with no file
    (groups / "deep" / "er").mkdir(parents=True)
    (groups / "deep" / "er" / "x.yaml").write_bytes("caf\xe9: 1\n".encode("latin-1"))
    assert one_line_error(load_config, groups / "main.yaml").startswith(f"{groups / 'deep/er/x.yaml'}: not UTF-8")


def test_unresolved_entry_with_too_many_files_is_refused(groups):
    (groups / "main.yaml").write_text("defaults:\n  - _self_\n  - optional nogroup: nothing\n" + CIRCLE)
    (groups / "unrelated.yaml").write_text("x: 1\n")
    many = groups / "many"
    many.mkdir()
    for i in range(2001 - 5):  # with main, grp/opt, grp/sub, other/top, unrelated: 2001
        (many / f"f{i}.yaml").write_text("x: 1\n")
    assert "more than 2000 YAML files" in one_line_error(load_config, groups / "main.yaml")
    (many / "f0.yaml").unlink()  # 2000 files: checked and accepted
    assert load_config(groups / "main.yaml").data.kind == "circle"


def test_hydra_group_folder_next_to_the_config_is_checked(groups):
    """Hydra looks its own groups (e.g. hydra/launcher/basic) up in the config's directory too."""
    (groups / "hydra" / "launcher").mkdir(parents=True)
    (groups / "hydra" / "launcher" / "basic.yaml").write_bytes("# caf\xe9\n".encode("latin-1"))
    message = one_line_error(load_config, groups / "main.yaml")
    assert message.startswith(f"{groups / 'hydra/launcher/basic.yaml'}: not UTF-8 text")


# ----------------------------------------------------------------------------- name


@pytest.mark.parametrize("name", ["../../x", "/abs/path", "a/b", "a\\b", "a\0b", "a\nb", "two words", "", ".hidden",
                                  "-flag", "..", "x" * 101, "caf\u00e9"])
def test_unsafe_names_are_refused(name):
    message = one_line_error(config_from_dict, {**POINTS, "name": name})
    assert "'name'" in message and "letters, digits and . _ + -" in message


def test_name_type_and_safe_names(tmp_path):
    assert "'name' must be str" in one_line_error(config_from_dict, {**POINTS, "name": 123})
    for name in ("a", "x" * 100, "run_1.2+b-3", "0"):
        assert config_from_dict({**POINTS, "name": name}).name == name
    path = tmp_path / "ok-1.2+b.yaml"
    path.write_text("data: {X: [[1]], y: [1]}\n")
    assert load_config(path).name == "ok-1.2+b"  # a safe file stem is kept as is
    assert "'name'" in one_line_error(load_config, path, ["name=a/b"])


@pytest.mark.parametrize("stem, expected", [("my config (1)", "my_config__1_"), (".hidden", "hidden"),
                                            ("--x", "x"), ("-", "config"), ("caf\u00e9", "caf_")])
def test_default_name_from_the_file_stem_is_made_safe(tmp_path, stem, expected):
    path = tmp_path / f"{stem}.yaml"
    path.write_text("data: {X: [[1]], y: [1]}\n")
    assert load_config(path).name == expected
    assert config_from_dict(POINTS, name=stem).name == expected


# Names and hashes of the shipped configs (hydra/ holds launcher configs, not experiment configs):
# stored results are keyed by these hashes, so the input checks must leave them unchanged.
KNOWN = {
    "circle3.yaml": ("circle3", "24d1b63cae31"),
    "diabetes.yaml": ("diabetes", "abd90a8a4a37"),
    "example1.yaml": ("example1", "f7e9c8fdcb68"),
    "figures/phase_diabetes.yaml": ("phase_diabetes", "daf0a49289cf"),
    "figures/phase_gaussian.yaml": ("phase_gaussian", "87c4ba4dce5c"),
    "figures/staircase_circle3.yaml": ("staircase_circle3", "066225682d62"),
    "figures/staircase_circle5.yaml": ("staircase_circle5", "075d8c71006b"),
    "figures/value_width.yaml": ("value_width", "940bb2ac415a"),
    "gaussian_n24_d3.yaml": ("gaussian_n24_d3", "c0f41a176f86"),
    "gaussian_n40_d3.yaml": ("gaussian_n40_d3", "a4278eec903a"),
    "interpolation_line.yaml": ("interpolation_line", "661531923f5b"),
    "line5_bias.yaml": ("line5_bias", "95d91d80c620"),
    "staircase.yaml": ("staircase", "37e15945cf50"),
    "three_layer/gaussian_n5.yaml": ("three_layer_gaussian_n5", "ee8893ca67ec"),
    "uniqueness/d1_bias_noskip_n5.yaml": ("d1_bias_noskip_n5", "4085cf44b114"),
    "uniqueness/d1_bias_skip_unique.yaml": ("d1_bias_skip_unique", "ad2a608a01a8"),
    "uniqueness/d2_skip_bias.yaml": ("d2_skip_bias", "d2bce40d3f2e"),
    "real/breast_cancer_d30.yaml": ("breast_cancer_d30", "443b70729268"),
    "real/diabetes_d10.yaml": ("diabetes_d10", "b3c814ad570d"),
    "real/wine_d13.yaml": ("wine_d13", "6c2c2b3e7a0b"),
    "uniqueness/d2_skip_nobias.yaml": ("d2_skip_nobias", "273ba8c6d5cb"),
    "vector/circle3_c2.yaml": ("vector_circle3_c2", "a7be8a9b3c18"),
    "vector/gaussian_c2.yaml": ("vector_gaussian_c2", "7c0efc7a3a7a"),
    "vector/hexagon_c2.yaml": ("vector_hexagon_c2", "6a025185073c"),
    "vector/linnerud.yaml": ("vector_linnerud", "fa25b2c4e528"),
}


def test_shipped_configs_load_with_unchanged_names_and_hashes():
    configs = ROOT / "configs"
    found = {str(p.relative_to(configs)) for p in configs.glob("**/*.yaml") if "hydra" not in p.parts}
    assert set(KNOWN) <= found
    for rel in sorted(found):
        cfg = load_config(configs / rel)
        if rel in KNOWN:
            assert (cfg.name, cfg.hash()) == KNOWN[rel], rel


# ----------------------------------------------------------------------------- limits


def test_limits_defaults_and_not_in_the_identity(tmp_path):
    cfg = config_from_dict(POINTS)
    assert cfg.limits == Limits(cells=2_000_000, memory_gb=8.0, sweep_points=100_000, train_networks=100_000,
                                max_width=100_000)
    other = config_from_dict(POINTS, ["limits.cells=5", "limits.memory_gb=0.5", "limits.max_width=3"])
    assert (other.limits.cells, other.limits.memory_gb, other.limits.max_width) == (5, 0.5, 3)
    assert other.hash() == cfg.hash() and "limits" not in other.resolved()
    path = tmp_path / "c.yaml"
    path.write_text("limits: {sweep_points: 7, train_networks: 9}\ndata: {X: [[1]], y: [1]}\n")
    assert (load_config(path).limits.sweep_points, load_config(path).limits.train_networks) == (7, 9)


@pytest.mark.parametrize("key, value", [("cells", 0), ("cells", -1), ("cells", True), ("cells", "5"), ("cells", 1.5),
                                        ("sweep_points", None), ("train_networks", 0), ("max_width", "1e5"),
                                        ("memory_gb", 0), ("memory_gb", float("nan")), ("memory_gb", "8"),
                                        ("memory_gb", False)])
def test_bad_limits(key, value):
    assert f"'limits.{key}'" in one_line_error(config_from_dict, {**POINTS, "limits": {key: value}})


def test_unknown_limit_key():
    assert "limits.cels" in one_line_error(config_from_dict, {**POINTS, "limits": {"cels": 5}})


def test_read_limits_reads_only_the_limits(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("beta: -1\nbetta: 2\nlimits: {sweep_points: 10}\nsweep: {beta: [0.1, 0.2]}\n")
    assert read_limits(path) == Limits(sweep_points=10)
    assert read_limits(path, ["beta=abc", "nokey=1", "limits.sweep_points=3", "+limits.cells=4"]) == \
        Limits(sweep_points=3, cells=4)
    assert read_limits(path, ["limits={max_width: 5}"]) == Limits(sweep_points=10, max_width=5)
    assert "'limits.cells'" in one_line_error(read_limits, path, ["limits.cells=0"])
    path.write_text("limits: {memory_gb: -2}\n")
    assert "'limits.memory_gb'" in one_line_error(read_limits, path)


def test_read_limits_through_defaults(tmp_path):
    (tmp_path / "base.yaml").write_text("limits: {cells: 11}\n")
    path = tmp_path / "c.yaml"
    path.write_text("defaults:\n  - base\n  - _self_\nlimits: {max_width: 12}\n")
    assert read_limits(path) == Limits(cells=11, max_width=12)


def test_whole_section_override_is_merged():
    cfg = config_from_dict(POINTS, ["tol={solver: 1e-8}"])
    assert cfg.tol.solver == 1e-8 and cfg.tol.polish == 1e-12
    assert "'tol'" in one_line_error(config_from_dict, POINTS, ["tol=3"])


# ----------------------------------------------------------------------------- data file digest


def file_config(tmp_path: Path, data_name: str) -> Path:
    path = tmp_path / "c.yaml"
    path.write_text(f"data: {{kind: file, path: {data_name}}}\n")
    return path


def test_csv_contents_are_in_the_identity(tmp_path):
    (tmp_path / "d.csv").write_text("1,2,3\n4,5,6\n7,8,9\n")
    path = file_config(tmp_path, "d.csv")
    first, again = load_config(path), load_config(path)
    assert first.hash() == again.hash()
    assert first.data.digest == hashlib.sha256((tmp_path / "d.csv").read_bytes()).hexdigest()
    assert first.resolved()["data"]["sha256"] == first.data.digest
    (tmp_path / "d.csv").write_text("1,2,3\n4,5,6\n7,8,9.5\n")
    assert load_config(path).hash() != first.hash()


def test_npz_contents_are_in_the_identity(tmp_path):
    np.savez(tmp_path / "d.npz", X=np.ones((3, 2)), y=np.ones(3))
    path = file_config(tmp_path, "d.npz")
    before = load_config(path).hash()
    np.savez(tmp_path / "d.npz", X=np.ones((3, 2)), y=np.array([1.0, 1.0, 2.0]))
    assert load_config(path).hash() != before


def test_other_kinds_have_no_digest():
    cfg = config_from_dict(POINTS)
    assert cfg.data.digest is None and "sha256" not in cfg.resolved()["data"]


def test_missing_data_file_is_refused_at_load_time(tmp_path):
    path = file_config(tmp_path, "missing_data.csv")
    message = one_line_error(load_config, path)
    assert message == f"data.path: file not found: missing_data.csv or {tmp_path / 'missing_data.csv'}"


def test_data_file_found_like_data_py(tmp_path, monkeypatch):
    configs, elsewhere = tmp_path / "configs", tmp_path / "cwd"
    configs.mkdir()
    elsewhere.mkdir()
    (configs / "d.csv").write_text("1,2\n")
    monkeypatch.chdir(elsewhere)
    assert find_data_file("d.csv", configs) == configs / "d.csv"
    (elsewhere / "d.csv").write_text("3,4\n")
    assert find_data_file("d.csv", configs) == Path("d.csv")  # the current directory first
    assert find_data_file(str(configs / "d.csv"), None) == configs / "d.csv"
    assert "unsupported file type '.txt'" in one_line_error(find_data_file, "d.txt", configs)
    assert "file not found" in one_line_error(find_data_file, "d/../nothing.csv", None)


def test_data_file_size_cap(tmp_path):
    big = tmp_path / "big.csv"
    with open(big, "wb") as fh:
        fh.truncate(MAX_DATA_BYTES + 1)  # sparse: nothing is written to disk
    with pytest.raises(ResourceLimitError) as info:  # exit code 5, like every size cap
        load_config(file_config(tmp_path, "big.csv"))
    message = str(info.value)
    assert MAX_DATA_BYTES == 2 << 30 and "\n" not in message
    assert message.startswith("data.path:") and f"{MAX_DATA_BYTES + 1} bytes" in message


# ----------------------------------------------------------------------------- integer and float ranges


@pytest.mark.parametrize("override", ["data.seed=-1", "data.seed=9223372036854775808"])
def test_data_seed_range(override):
    g = {"data": {"kind": "gaussian", "n": 5, "d": 2}}
    assert "'data.seed'" in one_line_error(config_from_dict, g, [override])
    assert config_from_dict(g, ["data.seed=9223372036854775807"]).data.seed == 2**63 - 1


@pytest.mark.parametrize("seed", [-1, 2**63])
def test_patterns_seed_range(seed):
    assert "'patterns.seed'" in one_line_error(config_from_dict, {**POINTS, "patterns": {"mode": "sampled",
                                                                                          "seed": seed}})


@pytest.mark.parametrize("key", ["data.n", "data.d", "model.branches", "model.hidden", "patterns.n_samples",
                                 "widths"])
def test_counts_are_at_most_a_billion(key):
    def build(v: int) -> dict:
        raw = {"data": {"kind": "gaussian", "n": 5, "d": 2}, "model": {}, "patterns": {"mode": "sampled"}}
        section, _, leaf = key.partition(".")
        if section == "widths":
            raw["widths"] = [1, v]
        else:
            raw[section][leaf] = v
        return raw
    config_from_dict(build(10**9))
    message = one_line_error(config_from_dict, build(10**9 + 1))
    assert (f"'{key}" if key != "widths" else "'widths[1]'") in message and "at most 1000000000" in message


def test_sklearn_n_is_bounded():
    message = one_line_error(config_from_dict, {"data": {"kind": "sklearn", "name": "iris", "n": 10**9 + 1}})
    assert "'data.n'" in message


@pytest.mark.parametrize("key", ["tol.solver", "tol.polish", "tol.active", "tol.margin", "certify.gap",
                                 "certify.stationary"])
def test_tolerances_below_one(key):
    assert f"'{key}' must be < 1" in one_line_error(config_from_dict, POINTS, [f"{key}=1.0"])
    config_from_dict(POINTS, [f"{key}=0.5"] + (["tol.margin=0.9"] if key == "tol.active" else []))


def test_integer_too_large_for_a_float():
    assert "'beta' must be finite" in one_line_error(config_from_dict, {**POINTS, "beta": 10**400})


# The old code already refused booleans and strings for every key but limits.*: these pin that.
NUMERIC_KEYS = ["beta", "tol.solver", "tol.margin_ratio", "polytope.max_enum_dim", "polytope.enum_timeout_s",
                "polytope.milp_time_limit_s", "value_search_budget", "train.lr", "train.max_iter", "train.adam_iter",
                "train.grad_tol", "train.init_scale", "certify.gap", "model.outputs", "model.branches",
                "model.hidden", "data.seed", "data.y_column", "patterns.n_samples", "patterns.seed", "limits.cells",
                "limits.memory_gb", "limits.sweep_points", "limits.train_networks", "limits.max_width"]


@pytest.mark.parametrize("value", [True, "0.1", "1"])
@pytest.mark.parametrize("key", NUMERIC_KEYS)
def test_booleans_and_strings_are_not_numbers(key, value):
    raw = {"data": {"kind": "points", "X": [[1]], "y": [1]}, "patterns": {"mode": "sampled"}}
    section, _, leaf = key.partition(".")
    if leaf:
        raw.setdefault(section, {})[leaf] = value
    else:
        raw[section] = value
    assert f"'{key}'" in one_line_error(config_from_dict, raw)


@pytest.mark.parametrize("raw, key", [
    ({"data": {"kind": "points", "X": [[True]], "y": [1]}}, "data.X[0][0]"),
    ({"data": {"kind": "points", "X": [[1]], "y": ["0.1"]}}, "data.y[0]"),
    ({"data": {"kind": "gaussian", "n": True, "d": 2}}, "data.n"),
    ({"data": {"kind": "gaussian", "n": 5, "d": "2"}}, "data.d"),
    ({"data": {"kind": "sklearn", "name": "iris", "features": [True]}}, "data.features[0]"),
    ({**POINTS, "widths": [1, False]}, "widths[1]"),
])
def test_booleans_and_strings_in_lists_are_not_numbers(raw, key):
    assert f"'{key}'" in one_line_error(config_from_dict, raw)


# ----------------------------------------------------------------------------- what a defaults chain may bring in


def test_a_hydra_search_path_cannot_bring_in_unchecked_files(tmp_path):
    """``hydra.searchpath`` would make Hydra read folders that the checks never see."""
    other = tmp_path / "other" / "grp"
    other.mkdir(parents=True)
    (other / "opt.yaml").write_text("x:\n" + bomb())
    main = tmp_path / "main.yaml"
    main.write_text(f"defaults:\n  - _self_\n  - grp: opt\nhydra:\n  searchpath: [file://{tmp_path / 'other'}]\n"
                    + CIRCLE)
    assert "'hydra'" in one_line_error(load_config, main)


@pytest.mark.slow
def test_the_node_limit_holds_for_a_chain_of_files(tmp_path):
    """Each file under the limit, together above it: refused (Hydra composes them into one)."""
    per_file = MAX_YAML_NODES // 3
    (tmp_path / "grp").mkdir()
    entries = []
    for i in range(4):
        (tmp_path / "grp" / f"o{i}.yaml").write_text(f"k{i}: [" + ", ".join(["1"] * per_file) + "]\n")
        entries.append(f"  - grp@g{i}: o{i}\n")
    main = tmp_path / "main.yaml"
    main.write_text("defaults:\n  - _self_\n" + "".join(entries) + CIRCLE)
    assert "together with the files that include it" in one_line_error(load_config, main)


def test_a_chain_of_too_many_files_is_refused(tmp_path):
    (tmp_path / "grp").mkdir()
    for i in range(MAX_CHAIN_FILES + 1):
        (tmp_path / "grp" / f"o{i}.yaml").write_text(f"k{i}: 1\n")
    main = tmp_path / "main.yaml"
    main.write_text("defaults:\n  - _self_\n" + "".join(f"  - grp@g{i}: o{i}\n" for i in range(MAX_CHAIN_FILES + 1))
                    + CIRCLE)
    assert f"more than {MAX_CHAIN_FILES} files" in one_line_error(load_config, main)
