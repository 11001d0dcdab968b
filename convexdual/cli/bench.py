"""bench: convexdual against the standard pipeline."""

from __future__ import annotations

import math
from pathlib import Path

import click

from ..errors import ConfigError


@click.command()
@click.option("--d", "d_text", default="2,3", show_default=True, help="Input dimensions.")
@click.option("--n", "n_text", default="10,20,40,80,160,200", show_default=True, help="Numbers of points.")
@click.option("--beta", type=float, default=0.05, show_default=True)
@click.option("--timeout", "timeout_s", type=float, default=240.0, show_default=True,
              help="Seconds per (pipeline, instance); a pipeline that hits it skips larger n.")
@click.option("--polytope-limit", "limits", type=float, default=10.0, show_default=True,
              help="Time limit (s) of the vertex search and of the m* MILP (bounds are reported beyond it).")
@click.option("--pipelines", default="baseline,convexdual", show_default=True)
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default=None,
              help="Directory for table.csv, bench.json and the figure (default outputs/bench/<time>).")
def bench(d_text: str, n_text: str, beta: float, timeout_s: float, limits: float, pipelines: str,
          out_dir: str | None) -> None:
    """Time convexdual against the standard pipeline on gaussian instances (per stage, peak memory, ratios)."""
    import time as _time

    from ..bench import bench_figure, machine, run_bench, stages_figure
    from ..runs import RunFolder
    from ..trainrun import parse_range

    pipes = [p.strip() for p in pipelines.split(",") if p.strip()]
    if not pipes or any(p not in ("baseline", "convexdual") for p in pipes):
        raise ConfigError(f"--pipelines: choose from baseline, convexdual (got {pipelines!r})")
    out = Path(out_dir) if out_dir else Path("outputs") / "bench" / _time.strftime("%Y%m%d-%H%M%S")
    for option, value in (("--beta", beta), ("--timeout", timeout_s), ("--polytope-limit", limits)):
        if not (math.isfinite(value) and value > 0):
            raise ConfigError(f"{option} must be a positive number, got {value}")
    ds, ns = parse_range(d_text, "--d", 20, high=20), parse_range(n_text, "--n", 100, high=5000)
    settings = {"d": ds, "n": ns, "beta": beta, "timeout_s": timeout_s, "polytope_limit_s": limits, "pipelines": pipes}
    with RunFolder.open(out, "bench", settings, fresh=True, hint="refusing to overwrite it (choose another --out)"):
        m = machine()
        click.echo(f"machine: {m['cpu']}, {m['cores']} cores, Python {m['python']}; results in {out}")
        rows = run_bench(ds, ns, beta, timeout_s, limits, out, pipes, echo=click.echo)
        for path in [*bench_figure(rows, out), *stages_figure(rows, out, limits)]:
            click.echo(f"  {path}")
