"""Step 7: critical widths from the optimal polytope.

m* = the fewest nonzeros of an irreducible solution (a vertex of P*); M* = the most.
A point of P* with minimal support has linearly independent features, so it is a vertex: m* is
the minimum over vertices, or the optimum of a MILP when the vertices are too many to list; series
classes of features (coefficients tied along P*) bound it from below whatever the MILP's time limit.
A vertex's features are independent, so M* <= rank(A); when the vertices are not listed, M* is
reported as bounds [largest cardinality seen at an LP vertex, rank(A)]: the LP vertices are the
coefficient maxima and, while none has rank(A) nonzeros, up to K maxima of random objectives.

See docs/theory.md §5.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .optimal_set import (Polytope, _clean_vertices, cardinalities, min_cardinality_milp, random_lp_vertices,
                          resolve_on_support)


@dataclass(frozen=True)
class CriticalWidths:
    """m*, M* with how they were obtained."""

    m_star: int | None  # None when only bounds are known (MILP time limit)
    m_star_bounds: tuple[int, int]
    M_star: int | None  # None when only bounds are known
    M_star_bounds: tuple[int, int]
    n_vertices: int | None
    vertex_cardinalities: list[int] | None
    degenerate: bool | None  # some vertex has fewer than rank(A) nonzeros
    m_star_vertex: np.ndarray  # coefficients of an irreducible solution with m* nonzeros
    method: str


def critical_widths(poly: Polytope, milp_time_limit_s: float = 60.0) -> CriticalWidths:
    """m*, M* exactly when vertices are listed; m* by MILP and M* bounds otherwise."""
    if poly.vertices is not None:
        cards = cardinalities(poly.vertices)
        per_vertex = (poly.vertices > 0).sum(axis=1)
        best = poly.vertices[int(np.argmin(per_vertex))]
        return CriticalWidths(
            m_star=cards[0],
            m_star_bounds=(cards[0], cards[0]),
            M_star=cards[-1],
            M_star_bounds=(cards[-1], cards[-1]),
            n_vertices=len(cards),
            vertex_cardinalities=cards,
            degenerate=cards[0] < poly.rank,
            m_star_vertex=best,
            method="vertex enumeration",
        )
    (m_low, m_high), c = min_cardinality_milp(poly, milp_time_limit_s)
    # LP optima are vertices, and M* >= any vertex's support; a vertex's support is at most rank(A),
    # so a larger count is round-off left in zeros of a degenerate vertex, and that sample is skipped
    seen = [c for c in cardinalities(poly.sample_vertices) if c <= poly.rank] or [0]
    lower = max(seen[-1], m_low)
    if lower < poly.rank:  # more vertices, from random objectives, until one has rank(A) nonzeros
        extra = random_lp_vertices(poly.c0, poly.N, poly.A.shape[1], stop_support=poly.rank)
        more = resolve_on_support(poly.A, poly.target, _clean_vertices(extra))
        lower = max([lower] + [c for c in cardinalities(more) if c <= poly.rank])
    return CriticalWidths(
        m_star=m_low if m_low == m_high else None,
        m_star_bounds=(m_low, m_high),
        M_star=lower if lower == poly.rank else None,
        M_star_bounds=(lower, poly.rank),
        n_vertices=None,
        vertex_cardinalities=None,
        degenerate=True if m_high < poly.rank else None,
        m_star_vertex=np.where(c > 1e-9 * c.sum(), c, 0.0),
        method="MILP for m*, LP vertices and rank for M* bounds",
    )


@dataclass(frozen=True)
class Phase:
    """The optimal set of the width-m network, counted up to permutations of neurons."""

    m: int
    optimal: bool  # a width-m network attains p*
    isolated_points: int  # optimal points that are a component by themselves
    continuum_components: int  # components that are not single points
    connected: bool  # exactly one component in total

    def as_dict(self) -> dict[str, object]:
        return {"m": self.m, "optimal": self.optimal, "isolated_points": self.isolated_points,
                "continuum_components": self.continuum_components, "connected": self.connected,
                "regime": phase_regime(self.optimal, self.isolated_points, self.continuum_components,
                                       self.connected)}


REGIMES = ("none", "isolated", "isolated+continua", "continua", "connected")
UNDECIDED = "undecided"


def phase_regime(optimal: bool, isolated_points: int, continuum_components: int, connected: bool) -> str:
    """The regime of Theta*_m: no optimal network; isolated points only (finitely many, also when
    there is one); isolated points and continua; several continua only; one continuum (connected)."""
    if not optimal:
        return "none"
    if continuum_components == 0:
        return "isolated"
    if isolated_points:
        return "isolated+continua"
    return "connected" if connected else "continua"


def bounds_regime(facts: dict[str, object]) -> str:
    """The regime the facts of ``phase_bounds`` decide, else ``UNDECIDED`` (never a guess)."""
    if facts["optimal"] is False:
        return "none"
    if facts["all_isolated"] is True:
        return "isolated"
    if facts["connected"] is True:
        return "connected"
    if facts["some_continuum"] is True and facts["some_isolated"] is True:
        return "isolated+continua"
    if facts["some_continuum"] is True and facts["some_isolated"] is False and facts["connected"] is False:
        return "continua"
    return UNDECIDED


def phase_at_width(cards: np.ndarray, union: np.ndarray, m: int) -> Phase:
    """Topology of Theta*_m from the vertex support sizes ``cards`` and the pairwise sizes of
    support unions ``union`` (V x V).

    A point of Theta*_m aggregates to a point of P* with at most m nonzeros; neurons sharing a
    direction split its coefficient continuously and a spare neuron lets neurons be permuted
    continuously. Hence: isolated points = vertices with exactly m nonzeros;
    the other components = connected components of the graph on vertices with at most m - 1
    nonzeros, joined when their supports' union has at most m elements.
    """
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import connected_components

    if cards.max() == 0:  # P* = {0}: the zero network, a single point at every width
        return Phase(m=m, optimal=True, isolated_points=1, continuum_components=0, connected=True)
    isolated = int((cards == m).sum())
    small = np.flatnonzero(cards <= m - 1)
    continuum = 0
    if len(small):
        adjacency = union[np.ix_(small, small)] <= m
        continuum = 1 if adjacency.all() else int(connected_components(csr_matrix(adjacency), directed=False)[0])
    total = isolated + continuum
    return Phase(m=m, optimal=bool((cards <= m).any()), isolated_points=isolated,
                 continuum_components=continuum, connected=total == 1)


def staircase(vertices: np.ndarray, widths: list[int]) -> list[Phase]:
    """The phase at every width, from one optimal polytope (no re-solve per width)."""
    supports = (vertices > 0).astype(np.float32)
    cards = supports.sum(axis=1).astype(np.int32)
    union = (cards[:, None] + cards[None, :] - np.rint(supports @ supports.T)).astype(np.int16)
    out, settled = [], None
    for m in sorted(widths):
        if settled is not None:
            # Every vertex is a node from width settled on, and edges only grow with m: still one component.
            out.append(Phase(m=m, optimal=True, isolated_points=0, continuum_components=1, connected=True))
            continue
        phase = phase_at_width(cards, union, m)
        if cards.max() <= m - 1 and phase.continuum_components == 1:
            settled = m
        out.append(phase)
    return out


def phase_bounds(m_bounds: tuple[int, int], M_bounds: tuple[int, int], n: int) -> list[dict[str, object]]:
    """What the paper's Theorem 2 guarantees at each width 1..n+1 when only bounds
    m* in [m_lo, m_hi] and M* in [M_lo, M_hi] are known (the vertices could not be listed):
    m < m_lo: p* not attained (empty set); m = m* (when exact): finitely many points, all isolated;
    m >= m_hi + 1: some component is not a single point; m = M* (when exact): some component is a
    single point; m >= M_hi + 1: none is; m >= min(m_hi + M_hi, n + 1): connected. None means not
    decided by the bounds. Consecutive widths with the same facts are one row {from_m, to_m, ...}."""
    (m_lo, m_hi), (M_lo, M_hi) = m_bounds, M_bounds
    settled = min(m_hi + M_hi, n + 1)

    def facts(m: int) -> dict[str, object]:
        if m < m_lo:  # no width-m network attains p*: the optimal set is empty
            return {"optimal": False, "all_isolated": False, "some_continuum": False, "some_isolated": False,
                    "connected": False}
        at_m_star = m_lo == m_hi == m
        return {
            "optimal": True if m >= m_hi else None,
            "all_isolated": True if at_m_star else (False if m >= m_hi + 1 else None),
            "some_continuum": False if at_m_star else (True if m >= m_hi + 1 else None),
            "some_isolated": True if at_m_star or M_lo == M_hi == m else (False if m >= M_hi + 1 else None),
            "connected": True if m >= settled else None,
        }

    rows: list[dict[str, object]] = []
    for m in range(1, n + 2):
        f = facts(m)
        f["regime"] = bounds_regime(f)
        if rows and all(rows[-1][k] == v for k, v in f.items()):
            rows[-1]["to_m"] = m
        else:
            rows.append({"from_m": m, "to_m": m, **f})
    return rows
