"""solvers: what this machine can solve with."""

from __future__ import annotations

import click


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def solvers(as_json: bool) -> None:
    """Which solvers work here, and the MOSEK license state."""
    from ..results import dumps
    from ..solvers import resolve_solver, solver_report

    rows = solver_report()
    auto = resolve_solver("auto")
    if as_json:
        click.echo(dumps({"solvers": rows, "auto": auto}))
        return
    for row in rows:
        state = "works" if row["works"] else "unavailable"
        click.echo(f"{row['solver']:9s} {state:12s} {row['detail']}")
    click.echo(f"auto -> {auto}")
