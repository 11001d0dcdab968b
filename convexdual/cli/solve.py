"""solve, certify, uniqueness and search: one instance at a time, printed as a summary or JSON."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
import numpy as np

from ..errors import CertificateError, ConfigError
from .common import log, setup_logging


@click.command(context_settings={"ignore_unknown_options": True})
@click.option("--config", "config_path", required=True, type=click.Path(dir_okay=False), help="YAML config file.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout and nothing else.")
@click.option("--out", type=click.Path(dir_okay=False), default=None, help="Also write the JSON result here (never overwrites).")
@click.option("-v", "--verbose", is_flag=True, help="Log progress to stderr.")
@click.argument("overrides", nargs=-1, type=click.UNPROCESSED)
def solve(config_path: str, as_json: bool, out: str | None, verbose: bool, overrides: tuple[str, ...]) -> None:
    """Solve one instance: certified optimum, optimal polytope, m* and M*.

    OVERRIDES use Hydra syntax, e.g. ``beta=0.3 data.bias=true``.
    """
    from ..config import load_config
    from ..pipeline import solve as run
    from ..results import atomic_write_text, dumps
    from ..runs import writable_file

    setup_logging(verbose)
    cfg = load_config(config_path, overrides)
    if out:
        writable_file(Path(out))
    result = run(cfg)
    text = dumps(result.to_dict())
    if out:
        atomic_write_text(out, text + "\n")
    if as_json:
        click.echo(text)
    else:
        click.echo(summary(result.to_dict()))


def summary(r: dict[str, Any]) -> str:
    """A short human-readable account of a result."""
    c = r["certificates"]
    if r.get("certified") is False:
        lo, hi = r["p_star_bounds"]
        o = r["patterns"]["oracle"]
        return "\n".join([
            f"{r['name']}: {r['problem']}{', beta=' + format(r['beta'], 'g') if r['beta'] is not None else ''}, "
            f"n={r['n']}, d={r['d']}: NOT CERTIFIED (the exact dual oracle ran out of oracle.time_limit_s)",
            f"  p*            in [{lo:.10g}, {hi:.10g}] (gap {hi - lo:.3g}, relative {c['relative_duality_gap']:.2g})",
            f"  oracle        every cell's dual value proven <= {o['upper'] / (r['beta'] or 1.0):.6g} x the bound; "
            f"{r['patterns']['count']} patterns, {o['rounds']} rounds, {o['nodes']} nodes, {o['seconds']:.1f} s",
            "  optimal set   not computed (it needs a certified dual optimum)",
        ])
    if r.get("architecture") == "parallel_three_layer":
        return "\n".join([
            f"{r['name']}: parallel three-layer ReLU network, regression, beta={r['beta']:g}, n={r['n']}, d={r['d']}",
            f"  patterns      {r['patterns']['count']} first-layer cells, {r['patterns']['second_layer_patterns']} "
            "second-layer patterns",
            f"  p*            {r['p_star']:.10g}",
            f"  first layer   {len(r['first_layer_directions'])} directions fixed by the dual optimum",
            f"  network       {r['branches_used']} branches, first-layer width {r['hidden_needed']}",
            f"  solver        {r['solver']['name']} ({r['solver']['status']}, {r['solver']['time_s']:.2f} s, "
            f"tol {r['solver']['tolerance']:.0e})",
            f"  certificates  duality gap {c['duality_gap']:.1e}, dual violation {c['dual_violation']:.1e}, "
            f"reconstruction gap {c['reconstruction_gap']:.1e}",
        ])
    m_star = f"= {r['m_star']}" if r["m_star"] is not None else f"in {r['m_star_bounds']} (MILP time limit)"
    M_star = f"= {r['M_star']}" if r["M_star"] is not None else f"in {r['M_star_bounds']}"
    nv = r["n_vertices"] if r["n_vertices"] is not None else "not enumerated"
    beta = f", beta={r['beta']:g}" if r["beta"] is not None else ""
    lines = [
        f"{r['name']}: {r['problem']}{beta}, n={r['n']}, d={r['d']}"
        f"{', c=' + str(r['output_dim']) + ' outputs' if r.get('output_dim', 1) > 1 else ''}"
        f" ({r['config']['data']['kind']} data"
        f"{', bias' if r['config']['data']['bias'] else ''}{', skip' if r['config']['model']['skip'] else ''})",
        f"  patterns      {r['patterns']['count']} ({r['patterns']['mode']}{_oracle_note(r['patterns'])})",
        f"  p*            {r['p_star']:.10g}",
        f"  directions    {len(r['directions'])} active (deduplicated features)",
        f"  polytope      dimension {r['polytope_dim']}, vertices: {nv}",
        f"  critical      m* {m_star}, M* {M_star}",
        f"  solver        {r['solver']['name']} ({r['solver']['status']}, {r['solver']['solves']} solves, "
        f"{r['solver']['time_s']:.2f} s, tol {r['solver']['tolerance']:.0e})",
        f"  certificates  duality gap {c['duality_gap']:.1e}, dual violation {c['dual_violation']:.1e}, "
        f"active margin {c['active_margin']:.1e}, reconstruction gap {c['reconstruction_gap']:.1e}",
    ]
    if r["vertex_cardinalities"] is not None:
        lines.insert(5, f"  cardinalities {_counts(r['vertex_cardinalities'])}")
    if r["enumeration"].startswith("not"):
        lines.append(f"  note          vertices {r['enumeration']}")
    if r.get("staircase_bounds"):
        lines.append(f"  staircase     {_bounds_line(r['staircase_bounds'])}")
    return "\n".join(lines)


def _oracle_note(p: dict[str, Any]) -> str:
    """How the exact oracle certified the patterns it did not list (patterns: oracle)."""
    o = p.get("oracle")
    if not o:
        return ""
    return (f": {p['count'] - o['cells_added']} sampled + {o['cells_added']} found by the exact dual oracle, which proved every other "
            f"cell of the {p['general_position_count']:.3g} below {o['outside']:.6g}; {o['rounds']} rounds, "
            f"{o['nodes']} nodes, {o['seconds']:.1f} s")


def _bounds_line(rows: list[dict]) -> str:
    """One line of what Theorem 2 settles from the m*, M* bounds (widths.phase_bounds rows)."""
    def first(key: str) -> int | None:  # the first width where ``key`` is True
        return next((row["from_m"] for row in rows if row[key] is True), None)

    no_isolated = next((row["from_m"] for row in rows if row["optimal"] is True and row["some_isolated"] is False), None)
    line = (f"(bounds, Theorem 2) optimal from m = {first('optimal')}, no isolated point from m = {no_isolated}, "
            f"connected from m = {first('connected')}")
    if rows[0]["optimal"] is False:
        line += f"; none optimal below m = {rows[0]['to_m'] + 1}"
    return line


def _counts(cards: list[int]) -> str:
    from collections import Counter

    return ", ".join(f"{k} nonzeros x{v}" for k, v in sorted(Counter(cards).items()))


@click.command(context_settings={"ignore_unknown_options": True})
@click.option("--config", "config_path", required=True, type=click.Path(dir_okay=False), help="YAML config file.")
@click.option("--weights", required=True, type=click.Path(dir_okay=False), help="Network .npz (W, a[, z]).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout and nothing else.")
@click.option("-v", "--verbose", is_flag=True, help="Log progress to stderr.")
@click.argument("overrides", nargs=-1, type=click.UNPROCESSED)
def certify(config_path: str, weights: str, as_json: bool, verbose: bool, overrides: tuple[str, ...]) -> None:
    """Is this network a global optimum of (P_m)? Gap to p*, dual feasibility of its residual, class."""
    from ..config import load_config
    from ..pipeline import certified_solve
    from ..results import dumps
    from ..variants import architecture_of, require

    setup_logging(verbose)
    cfg = load_config(config_path, overrides)
    require(cfg, "certify")
    architecture = architecture_of(cfg)
    out = architecture.certify(cfg, certified_solve(cfg), weights)
    if as_json:
        click.echo(dumps(out))
        return
    for line in architecture.certificate_lines(out, cfg.beta):
        click.echo(line)


@click.command(context_settings={"ignore_unknown_options": True})
@click.option("--config", "config_path", required=True, type=click.Path(dir_okay=False), help="YAML config file.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout and nothing else.")
@click.option("-v", "--verbose", is_flag=True, help="Log progress to stderr.")
@click.argument("overrides", nargs=-1, type=click.UNPROCESSED)
def uniqueness(config_path: str, as_json: bool, verbose: bool, overrides: tuple[str, ...]) -> None:
    """Is the optimal (e.g. minimum-norm interpolating) function unique? Answer with the proof."""
    from ..config import load_config
    from ..pipeline import certified_two_layer as run
    from ..results import dumps
    from ..uniqueness import analyse
    from ..variants import require

    setup_logging(verbose)
    cfg = load_config(config_path, overrides)
    require(cfg, "uniqueness")
    result = run(cfg)
    u = analyse(result)
    if as_json:
        click.echo(dumps({"name": cfg.name, "p_star": result.p_star, **u.as_dict()}))
        return
    verdict = "UNIQUE" if u.unique else "NOT UNIQUE"
    click.echo(f"{cfg.name}: {cfg.problem}, bias={cfg.data.bias}, skip={cfg.model.skip}: the optimal function is {verdict}")
    click.echo(f"  optimal polytope dimension {u.polytope_dim}; dimension of the set of optimal functions {u.function_dim}")
    for k, net in enumerate(u.networks):
        click.echo(f"  network {k + 1}: width {net['width']}, objective {net['objective']:.12g}, "
                   f"max residual on data {net['max_residual_on_data']:.1e}")
    where = u.evaluation
    span = where.get("interval", [where.get("low"), where.get("high")])
    click.echo(f"  largest difference between two optimal functions on {where['kind']} {span}: "
               f"{u.max_function_difference:.6g}")
    p = u.perturbation
    click.echo(f"  check: moving {p['moved']:.3g} inside P* changes the fit by {p['fit_change']:.1e} and the "
               f"objective by {p['objective_change']:.1e}")


@click.command()
@click.option("--n", "n", type=click.IntRange(1, 10), default=None, help="Number of data points (1 to 10).")
@click.option("--d", "d", type=click.IntRange(1, 5), default=None, help="Input dimension (before the bias column; 1 to 5).")
@click.option("--bias/--no-bias", default=True, show_default=True, help="Penalized bias.")
@click.option("--skip/--no-skip", default=False, show_default=True, help="Free skip connection.")
@click.option("--trials", type=click.IntRange(1, 100_000), default=None,
              help="Data sets to try (default 200), or members to construct (default 5).")
@click.option("--seed", type=click.IntRange(0, 2**63 - 1), default=0, show_default=True)
@click.option("--construct", is_flag=True,
              help="Instead of searching, construct random members of the family of 5 one-dimensional points "
                   "(penalized bias, no skip) with non-unique interpolators, and prove each with the uniqueness "
                   "analysis.")
@click.option("--save", "save_dir", type=click.Path(file_okay=False), default=None,
              help="Write each non-unique instance found as a config here (never overwrites).")
def search(n: int | None, d: int | None, bias: bool, skip: bool, trials: int | None, seed: int, construct: bool,
           save_dir: str | None) -> None:
    """Search data sets for non-unique minimum-norm interpolators (in function space), or --construct them."""
    from ..runs import writable_folder
    from ..uniqueness import search as run_search

    if construct:
        if n not in (None, 5) or d not in (None, 1) or not bias or skip:
            raise click.UsageError("--construct builds n = 5, d = 1 with a bias and no skip; drop the other options")
        n, d = 5, 1
    elif n is None or d is None:
        raise click.UsageError("--n and --d are required (or --construct)")
    if save_dir:
        writable_folder(Path(save_dir), keep=False)
    if construct:
        _construct(trials or 5, seed, save_dir)
        return
    found, counts = run_search(n, d, bias, skip, trials or 200, seed)
    click.echo(f"n={n} d={d} bias={bias} skip={skip}: tried {counts['tried']}, unique {counts['unique']} "
               f"({counts['parametric_only']} with a non-singleton P* realizing one function), non-unique "
               f"{counts['non_unique']}, unclear (difference below 1e-3 of |y|) {counts['unclear']}, "
               f"no interpolating network {counts['infeasible']}, not certified {counts['failed']}")
    for k, f in enumerate(sorted(found, key=lambda f: -f.max_function_difference)):
        click.echo(f"  [{k}] dim P* {f.polytope_dim}, function dim {f.function_dim}, max difference "
                   f"{f.max_function_difference:.4g} ({f.source}): X={f.X} y={f.y}")
        if save_dir:
            path = Path(save_dir) / f"nonunique_n{n}_d{d}_{'bias' if bias else 'nobias'}_{'skip' if skip else 'noskip'}_{k}.yaml"
            _save_config(path, {"name": path.stem, "problem": "interpolation", "model": {"skip": skip},
                                "data": {"kind": "points", "X": f.X, "y": f.y, "bias": bias}})


def _save_config(path: Path, raw: dict) -> None:
    import yaml

    from ..results import atomic_write_text

    click.echo(f"      saved {atomic_write_text(path, yaml.safe_dump(raw, sort_keys=False))}")


def _construct(count: int, seed: int, save_dir: str | None) -> None:
    """Members of the constructed family, each with its proof from the certified solve."""
    from ..uniqueness import CLEAR_DIFFERENCE, construct, construction_config

    proved = 0
    for k, (member, result, u) in enumerate(construct(count, seed)):
        ok = (not u.unique) and u.max_function_difference >= CLEAR_DIFFERENCE * max(1.0, float(abs(member.y).max()))
        proved += ok
        click.echo(f"  [{k}] angles {np.round(member.angles, 6).tolist()}: p* {result.p_star:.10g} (constructed "
                   f"{member.p_star:.10g}), dim P* {u.polytope_dim}, function dim {u.function_dim}, max difference "
                   f"{u.max_function_difference:.4g}: {'NOT unique (proved)' if ok else 'not proved'}")
        if save_dir:
            path = Path(save_dir) / f"example2_constructed_seed{seed}_{k}.yaml"
            _save_config(path, construction_config(member, path.stem))
    click.echo(f"constructed {count}, proved non-unique {proved}")
    if proved < count:
        raise CertificateError(f"{count - proved} constructed members were not proved non-unique")
