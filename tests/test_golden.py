"""Every shipped single-solve config gives the results recorded in tests/golden/results.json (p*,
optimal directions, vertices, m*, M*, staircase, certificates): restructuring the code must not move
them. Regenerate the file with ``python -m tests.golden_results`` only when a result is meant to change.

Tolerance: floats agree to 1e-8 relative to max(1, |value|). The certified quantities are computed
to machine precision (refined duals, exact vertex arithmetic), so a real change of p*, a vertex or a
direction is many orders larger; the margin covers summation-order differences between BLAS builds.
Integers, strings, booleans and nulls must be equal; keys may be added to a result, never dropped.
"""

from __future__ import annotations

import json
import math
from typing import Any

import pytest

from tests.golden_results import GOLDEN, ROOT, result_of

RTOL = 1e-8

GOLDEN_RESULTS: dict[str, Any] = json.loads(GOLDEN.read_text())


def mismatches(expected: Any, actual: Any, where: str = "") -> list[str]:
    """Where ``actual`` departs from ``expected`` (keys of ``actual`` not in ``expected`` are allowed)."""
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{where}: expected an object, got {type(actual).__name__}"]
        out = []
        for key, value in expected.items():
            if key not in actual:
                out.append(f"{where}.{key}: missing")
            else:
                out += mismatches(value, actual[key], f"{where}.{key}")
        return out
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) != len(expected):
            return [f"{where}: expected a list of {len(expected)}, got {actual!r:.80}"]
        return [m for i, (e, a) in enumerate(zip(expected, actual)) for m in mismatches(e, a, f"{where}[{i}]")]
    if isinstance(expected, float) and isinstance(actual, (int, float)) and not isinstance(actual, bool):
        if math.isnan(expected) and math.isnan(actual):
            return []
        if abs(expected - actual) <= RTOL * max(1.0, abs(expected), abs(actual)):
            return []
        return [f"{where}: expected {expected!r}, got {actual!r}"]
    if expected != actual or type(expected) is not type(actual):
        return [f"{where}: expected {expected!r:.80}, got {actual!r:.80}"]
    return []


def test_the_comparison_sees_a_changed_value() -> None:
    base = {"p_star": 0.19, "m_star": 1, "vertices": [[0.5, 0.0]], "name": "x"}
    assert mismatches(base, {**base, "extra": 1}) == []
    assert mismatches(base, {**base, "p_star": 0.19 + 1e-6})
    assert mismatches(base, {**base, "m_star": 2})
    assert mismatches(base, {**base, "vertices": [[0.5, 1e-3]]})
    assert mismatches(base, {k: v for k, v in base.items() if k != "name"})


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(GOLDEN_RESULTS))
def test_shipped_config_results_unchanged(name: str) -> None:
    assert (ROOT / name).exists(), f"{name} is in the golden file but no longer shipped"
    found = mismatches(GOLDEN_RESULTS[name], result_of(ROOT / name))
    assert not found, f"{name}: {len(found)} differences, first: " + "; ".join(found[:5])


def test_every_shipped_config_is_recorded() -> None:
    from tests.golden_results import golden_configs

    assert {str(p.relative_to(ROOT)) for p in golden_configs()} == set(GOLDEN_RESULTS)
