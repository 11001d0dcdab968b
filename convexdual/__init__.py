"""convexdual: exact loss landscapes of regularized two-layer ReLU networks via convex duality.

Objective convention (used everywhere): for a width-m network
f(X) = sum_j (X w_j)_+ a_j the regression objective is

    1/2 ||f(X) - y||^2 + beta/2 * sum_j (||w_j||^2 + a_j^2),

and minimum-norm interpolation minimizes 1/2 * sum_j (||w_j||^2 + a_j^2) subject to f(X) = y.
No 1/n factor is used anywhere.
"""

__version__ = "0.1.0"


def shipped_configs() -> "Path":
    """The example, figure and launcher-preset configs shipped inside the package (``configs/`` of
    the repository; an installed copy carries them too)."""
    from pathlib import Path

    return Path(__file__).resolve().parent / "configs"
