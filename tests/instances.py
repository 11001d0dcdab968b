"""Small constructed instances shared by the tests."""

from __future__ import annotations


def circle(angles: list[float], y: list[float], beta: float) -> dict:
    """Unit vectors at ``angles`` (degrees) with targets y, no bias."""
    return {"beta": beta, "data": {"kind": "circle", "angles_deg": angles, "y": y}}


def line(x: list[float], y: list[float], beta: float) -> dict:
    """One-dimensional inputs with a penalized bias."""
    return {"beta": beta, "data": {"kind": "points", "X": [[v] for v in x], "y": y, "bias": True}}
