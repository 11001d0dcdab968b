"""Small linear-algebra helpers shared by the core modules."""

from __future__ import annotations

import numpy as np


def null_basis(A: np.ndarray) -> np.ndarray:
    """Orthonormal basis (d, r) of {u : A u = 0} (singular values below 1e-12 of the largest, or of 1,
    count as zero)."""
    d = A.shape[1]
    if A.shape[0] == 0:
        return np.eye(d)
    _, s, Vt = np.linalg.svd(A)
    rank = int(np.sum(s > 1e-12 * max(1.0, s[0] if len(s) else 0.0)))
    return Vt[rank:].T
