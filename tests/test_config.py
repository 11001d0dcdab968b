"""Tests for convexdual.config: defaults, Hydra overrides and composition, validation errors, hashing."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from convexdual.config import Config, config_from_dict, load_config
from convexdual.data import load_data
from convexdual.errors import ConfigError

POINTS = {"data": {"kind": "points", "X": [[1, 2], [3, 4], [5, 6]], "y": [1, 2, 3]}}


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def load_pipeline(path: Path) -> None:
    """Config then data: an error may be raised by either step, always as ConfigError."""
    cfg = load_config(path)
    load_data(cfg.data, base_dir=path.parent)


# ----------------------------------------------------------------------------- defaults


def test_defaults_from_minimal_dict():
    cfg = config_from_dict(POINTS)
    assert isinstance(cfg, Config)
    assert cfg.name == "config"
    assert cfg.problem == "regression"
    assert cfg.beta == 0.1
    assert cfg.solver == "auto"
    assert cfg.model.skip is False
    assert cfg.widths is None
    assert cfg.patterns.mode == "exact"
    assert cfg.data.kind == "points"
    assert cfg.data.bias is False and cfg.data.standardize is False
    assert cfg.data.X == [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]
    assert cfg.tol.solver == 1e-10 and cfg.tol.polish == 1e-12
    assert cfg.tol.active == 1e-7 and cfg.tol.margin == 1e-6
    assert cfg.polytope.max_enum_dim == 24 and cfg.polytope.enum_timeout_s == 60.0
    assert cfg.polytope.milp_time_limit_s == 60.0
    assert cfg.source is None


def test_defaults_from_file_name_and_source(tmp_path):
    path = write(
        tmp_path,
        "exp1.yaml",
        """
        data:
          X: [[1, 2], [3, 4]]
          y: [1, 2]
        """,
    )
    cfg = load_config(path)
    assert cfg.name == "exp1"
    assert cfg.source == str(path)
    assert cfg.beta == 0.1
    assert cfg.data.y == [1.0, 2.0]


def test_scientific_notation_in_plain_yaml(tmp_path):
    path = write(
        tmp_path,
        "sci.yaml",
        """
        beta: 1e-3
        tol: {solver: 1e-8}
        data: {X: [[1]], y: [1]}
        """,
    )
    cfg = load_config(path)
    assert cfg.beta == pytest.approx(1e-3)
    assert cfg.tol.solver == pytest.approx(1e-8)


# ----------------------------------------------------------------------------- overrides


def test_override_beta():
    assert config_from_dict(POINTS, ["beta=0.3"]).beta == pytest.approx(0.3)


def test_override_data_bias():
    cfg = config_from_dict(POINTS, ["data.bias=true"])
    assert cfg.data.bias is True


def test_override_patterns_mode_dotted():
    cfg = config_from_dict(POINTS, ["patterns.mode=sampled"])
    assert cfg.patterns.mode == "sampled"
    assert cfg.patterns.n_samples == 10000


def test_override_patterns_group_style():
    cfg = config_from_dict(POINTS, ["patterns=sampled", "patterns.n_samples=50"])
    assert cfg.patterns.mode == "sampled"
    assert cfg.patterns.n_samples == 50


def test_override_applies_over_file(tmp_path):
    path = write(tmp_path, "c.yaml", "beta: 0.5\ndata: {X: [[1]], y: [1]}\n")
    assert load_config(path).beta == 0.5
    assert load_config(path, ["beta=0.3"]).beta == pytest.approx(0.3)


def test_integer_accepted_for_float():
    cfg = config_from_dict(POINTS, ["beta=1"])
    assert cfg.beta == 1.0
    assert isinstance(cfg.beta, float)


def test_integer_accepted_for_float_in_yaml(tmp_path):
    path = write(tmp_path, "c.yaml", "beta: 2\ndata: {X: [[1]], y: [1]}\n")
    cfg = load_config(path)
    assert cfg.beta == 2.0 and isinstance(cfg.beta, float)


def test_sweep_override_rejected():
    with pytest.raises(ConfigError, match="beta"):
        config_from_dict(POINTS, ["beta=0.1,0.2"])


def test_unknown_override_key_rejected():
    with pytest.raises(ConfigError, match=r"data\.foo"):
        config_from_dict(POINTS, ["data.foo=1"])


# ----------------------------------------------------------------------------- hydra composition


def test_defaults_list_composes_sibling(tmp_path):
    write(
        tmp_path,
        "base.yaml",
        """
        beta: 0.5
        solver: scs
        data:
          kind: points
          X: [[1, 2], [3, 4], [5, 6]]
          y: [1, 2, 3]
        """,
    )
    path = write(
        tmp_path,
        "child.yaml",
        """
        defaults:
          - base
          - _self_
        beta: 0.25
        data:
          bias: true
        """,
    )
    cfg = load_config(path)
    assert cfg.beta == 0.25  # the child wins over base
    assert cfg.solver == "scs"  # inherited from base
    assert cfg.data.X == [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]
    assert cfg.data.bias is True
    assert cfg.name == "child"
    assert load_config(path, ["beta=0.7"]).beta == pytest.approx(0.7)


def test_defaults_list_missing_sibling(tmp_path):
    path = write(tmp_path, "child.yaml", "defaults:\n  - nosuchbase\n  - _self_\n")
    with pytest.raises(ConfigError, match="nosuchbase"):
        load_config(path)


# ----------------------------------------------------------------------------- errors


def test_missing_config_file(tmp_path):
    with pytest.raises(ConfigError, match="nope.yaml"):
        load_config(tmp_path / "nope.yaml")


def test_malformed_yaml(tmp_path):
    path = write(tmp_path, "bad.yaml", "beta: [1, 2\ndata: {\n")
    with pytest.raises(ConfigError, match="malformed YAML") as info:
        load_config(path)
    assert "bad.yaml" in str(info.value)
    assert "\n" not in str(info.value)


def test_unknown_top_level_key(tmp_path):
    path = write(tmp_path, "c.yaml", "betta: 0.1\ndata: {X: [[1]], y: [1]}\n")
    with pytest.raises(ConfigError, match="betta"):
        load_config(path)


def test_unknown_nested_key():
    with pytest.raises(ConfigError, match=r"data\.foo"):
        config_from_dict({"data": {"X": [[1]], "y": [1], "foo": 1}})


def test_wrong_type_beta_string(tmp_path):
    path = write(tmp_path, "c.yaml", 'beta: "abc"\ndata: {X: [[1]], y: [1]}\n')
    with pytest.raises(ConfigError, match="'beta'"):
        load_config(path)


def test_wrong_type_bias_int(tmp_path):
    path = write(tmp_path, "c.yaml", "data: {X: [[1]], y: [1], bias: 3}\n")
    with pytest.raises(ConfigError, match=r"data\.bias"):
        load_config(path)


@pytest.mark.parametrize("beta", [0, -0.5])
def test_beta_not_positive(beta):
    with pytest.raises(ConfigError, match="beta"):
        config_from_dict({**POINTS, "beta": beta})


def test_beta_nan(tmp_path):
    path = write(tmp_path, "c.yaml", "beta: .nan\ndata: {X: [[1]], y: [1]}\n")
    with pytest.raises(ConfigError, match="beta"):
        load_config(path)


def test_ragged_X(tmp_path):
    path = write(tmp_path, "c.yaml", "data:\n  X: [[1, 2], [3]]\n  y: [1, 2]\n")
    with pytest.raises(ConfigError, match=r"data\.X.*ragged"):
        load_pipeline(path)


def test_nan_in_X(tmp_path):
    path = write(tmp_path, "c.yaml", "data:\n  X: [[1, .nan], [2, 3]]\n  y: [1, 2]\n")
    with pytest.raises(ConfigError, match=r"data\.X"):
        load_pipeline(path)


def test_X_y_length_mismatch(tmp_path):
    path = write(tmp_path, "c.yaml", "data:\n  X: [[1, 2], [3, 4], [5, 6]]\n  y: [1, 2]\n")
    with pytest.raises(ConfigError, match=r"data\.X.*data\.y|data\.y.*data\.X"):
        load_pipeline(path)


def test_missing_data_file(tmp_path):
    path = write(tmp_path, "c.yaml", "data:\n  kind: file\n  path: missing_data.csv\n")
    with pytest.raises(ConfigError, match="missing_data.csv"):
        load_pipeline(path)


def test_unknown_solver():
    with pytest.raises(ConfigError, match="solver"):
        config_from_dict({**POINTS, "solver": "gurobi"})


def test_unknown_solver_override():
    with pytest.raises(ConfigError, match="solver"):
        config_from_dict(POINTS, ["solver=gurobi"])


def test_required_data_key_missing():
    with pytest.raises(ConfigError, match=r"data\.d"):
        config_from_dict({"data": {"kind": "gaussian", "n": 5}})


# ----------------------------------------------------------------------------- hash


def test_hash_stable_for_equal_configs(tmp_path):
    a = config_from_dict(POINTS)
    b = config_from_dict(POINTS)
    assert a == b
    assert a.hash() == b.hash()
    assert len(a.hash()) == 12
    # an integer beta and the equal float give the same identity
    assert config_from_dict(POINTS, ["beta=1"]).hash() == config_from_dict(POINTS, ["beta=1.0"]).hash()


def test_hash_changes_with_beta():
    assert config_from_dict(POINTS).hash() != config_from_dict(POINTS, ["beta=0.3"]).hash()


def test_hash_ignores_keys_irrelevant_to_kind():
    base = config_from_dict(POINTS)
    with_n = config_from_dict(POINTS, ["data.n=50", "data.seed=7", "data.angles_deg=[0,90]"])
    assert base.hash() == with_n.hash()


def test_hash_ignores_source(tmp_path):
    path = write(tmp_path, "config.yaml", "data:\n  X: [[1, 2], [3, 4], [5, 6]]\n  y: [1, 2, 3]\n")
    from_file = load_config(path)
    assert from_file.source is not None
    assert from_file.hash() == config_from_dict(POINTS).hash()


def test_hash_depends_on_relevant_data_key():
    g = {"data": {"kind": "gaussian", "n": 5, "d": 2}}
    assert config_from_dict(g).hash() != config_from_dict(g, ["data.seed=1"]).hash()


# ----------------------------------------------------------------------------- the schema


def test_config_nests_like_the_yaml():
    cfg = config_from_dict({**POINTS, "model": {"skip": True, "branches": 3, "hidden": 2},
                            "polytope": {"max_enum_dim": 5, "enum_timeout_s": 7, "milp_time_limit_s": 9},
                            "oracle": {"time_limit_s": 11}})
    assert (cfg.model.skip, cfg.model.outputs, cfg.model.architecture) == (True, 1, "two_layer")
    assert (cfg.model.branches, cfg.model.hidden) == (3, 2)
    assert (cfg.polytope.max_enum_dim, cfg.polytope.enum_timeout_s, cfg.polytope.milp_time_limit_s) == (5, 7.0, 9.0)
    assert cfg.oracle.time_limit_s == 11.0
    flat = {"skip": "model.skip", "outputs": "model.outputs", "architecture": "model.architecture",
            "branches": "model.branches", "hidden": "model.hidden", "max_enum_dim": "polytope.max_enum_dim",
            "enum_timeout_s": "polytope.enum_timeout_s", "milp_time_limit_s": "polytope.milp_time_limit_s",
            "oracle_time_limit_s": "oracle.time_limit_s"}
    for name, path in flat.items():  # the earlier flat names are gone: one name per key
        assert not hasattr(cfg, name) and cfg.get(path) is not None
        with pytest.raises(AttributeError):
            setattr(cfg, path.split(".")[0], None)  # frozen


def test_schema_keys_match_the_dataclasses():
    """Every key has a field in its section's dataclass (or in Config) with the key's default,
    and every field but the data's derived ones is a key."""
    import dataclasses

    from convexdual.config import KEYS, SECTIONS

    for path, key in KEYS.items():
        section, _, leaf = path.rpartition(".")
        cls = SECTIONS[section] if section else Config
        fields = {f.name: f for f in dataclasses.fields(cls)}
        assert leaf in fields, path
        field = fields[leaf]
        if field.default is not dataclasses.MISSING:
            assert field.default == key.default, path
        elif field.default_factory is not dataclasses.MISSING:
            assert field.default_factory() == key.default, path
        else:
            assert path in ("name", "problem", "beta", "data.kind"), path  # (always set by the loader)
    for section, cls in SECTIONS.items():
        extra = {f.name for f in dataclasses.fields(cls)} - {k.split(".")[1] for k in KEYS if k.startswith(section + ".")}
        assert extra == ({"outputs", "digest"} if section == "data" else set()), section
    top = {f.name for f in dataclasses.fields(Config)} - set(SECTIONS) - {"source"}
    assert top == {k for k in KEYS if "." not in k}


def test_data_keys_by_kind():
    from convexdual.config import DATA_KEYS_BY_KIND

    assert DATA_KEYS_BY_KIND == {"points": ("X", "y", "Y"), "gaussian": ("n", "d", "seed"),
                                 "circle": ("angles_deg", "y"), "file": ("path", "y_column"),
                                 "sklearn": ("name", "n", "features", "seed")}


def _markdown_rows() -> dict[str, tuple[str, str, str]]:
    from convexdual.config import keys_markdown

    rows = {}
    for line in keys_markdown().splitlines()[2:]:
        cells = [c.strip() for c in line.strip("|").split(" | ")]
        assert len(cells) == 4, line
        rows[cells[0].strip("`")] = (cells[1], cells[2].strip("`"), cells[3])
    return rows


def test_keys_markdown_lists_every_key_once():
    from convexdual.config import KEYS, keys_markdown

    text = keys_markdown()
    assert text.startswith("| key | type | default | description |\n| --- | --- | --- | --- |\n")
    rows = _markdown_rows()
    assert list(rows) == sorted(KEYS, key=lambda k: list(dict.fromkeys(p.split(".")[0] for p in KEYS)).index(
        k.split(".")[0]))
    assert len(text.splitlines()) == len(KEYS) + 2
    assert all(rows[k][2] for k in rows)


def test_keys_markdown_defaults_are_the_loaders():
    """Each default in the table, read as YAML, is what a config that does not set the key gets."""
    import yaml
    from omegaconf._utils import get_yaml_loader

    points = config_from_dict({"data": {"X": [[1]], "y": [1]}}, name="x")  # (data.kind left to its default)
    gaussian = config_from_dict({"data": {"kind": "gaussian", "n": 2, "d": 1}})
    for path, (_, text, _) in _markdown_rows().items():
        default = yaml.load(text, Loader=get_yaml_loader())
        if path == "name":
            assert default is None and points.name == "x"
            continue
        value = gaussian.get(path) if path in ("data.X", "data.y") else points.get(path)
        assert value == default and type(value) is type(default), path
