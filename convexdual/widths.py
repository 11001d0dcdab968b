"""Step 7: critical widths from the optimal polytope.

m* = the fewest nonzeros of an irreducible solution (a vertex of P*); M* = the most.
A point of P* with minimal support has linearly independent features, so it is a vertex: m* is
the minimum over vertices, or, when the vertices are too many to list, found over the ends of the
series classes (coefficients tied along P*; in generic data antipodal pairs, whose P* is a box cut
by a few equations) when they are few enough to list, else by a MILP; the classes bound it from
below whatever the MILP's time limit.
A vertex's features are independent, so M* <= rank(A); when the vertices are not listed, M* is
reported as bounds [largest cardinality seen at an LP vertex, rank(A)]: the LP vertices are the
coefficient maxima and, while none has rank(A) nonzeros, up to K maxima of random objectives.

See docs/theory.md §5.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations
from math import comb

import numpy as np

from .optimal_set import (ClassForm, Polytope, _clean_vertices, cardinalities, class_form, min_cardinality_milp,
                          random_lp_vertices, resolve_on_support)

ZERO_RULE = 1e-9  # a coefficient at most this times sum(c) counts as zero (as everywhere for supports)
FIT_ROUNDOFF = 100.0  # a combination of class ends within this many times P*'s round-off is a point of P*
FIT_MARGIN = 10.0  # one within FIT_MARGIN times that leaves its count undecided; beyond, it is no point
FIT_COARSEST = 1e-7  # the search declines when that margin passes this times max(1, ||target||)
ENDS_BUDGET = 2**25  # partial sums the search over class ends may list, in all
NEAR_PAIRS = 10_000  # combinations within the margin examined for each set of free classes


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


@dataclass(frozen=True)
class EndSearch:
    """m* from the ends of the series classes: exact when lower == upper."""

    bounds: tuple[int, int]
    witness: np.ndarray  # a point of P* with bounds[1] entries above the zero rule


def min_support_by_ends(poly: Polytope) -> EndSearch | None:
    """m* of a box slice: every feature in a series class that loses exactly one member at either
    end of its interval (in generic data: antipodal pairs), the classes tied by q equations.

    A point of P* has (fixed features) + sum (|C| - 1) + (classes strictly inside their interval)
    nonzeros, and a vertex has at most q classes inside. f < q inside needs the other classes'
    ends to put the fit residual into the span of the f free ones: a subset sum in q - f
    dimensions, listed exhaustively by meeting in the middle. The fit residual of a combination is
    compared with P*'s round-off eps (the residual of c0, what the classes' moves leave outside
    their q dimensions, and the round-off of the sums): within FIT_ROUNDOFF eps, with the free
    classes inside their intervals, it is an exact coincidence and a witness (m* = that support);
    none within FIT_MARGIN times that proves f impossible, exactly; one in between (by chance,
    among so many sums, or an inexact P*) leaves m* a bracket from that f on, as do more than
    NEAR_PAIRS combinations within the margin. None when the structure does not hold, the margin
    would pass FIT_COARSEST max(1, ||target||), or the listing would pass ENDS_BUDGET."""
    form = class_form(poly.c0, poly.N)
    if form is None or not (np.isfinite(form.lo).all() and np.isfinite(form.hi).all()):
        return None
    c0, A, t = poly.c0, poly.A, poly.target
    zero = ZERO_RULE * max(1.0, float(c0.sum()))
    G, q = form.lo.size, form.W.shape[0]
    for g in range(G):
        members = form.label == g
        for end in (form.lo[g], form.hi[g]):
            if int((c0[members] + form.mu[members] * end <= zero).sum()) != 1:
                return None
    base = int((c0[form.label < 0] > zero).sum()) + int((form.label >= 0).sum()) - G
    if q == 0:  # a box: every class at its lower end is a vertex
        return EndSearch((base, base), form.point(c0, form.lo))
    if sum(comb(G, f) * 2 * 2 ** ((G - f + 1) // 2) for f in range(q)) > ENDS_BUDGET:
        return None
    moves = np.column_stack([A[:, form.label == g] @ form.mu[form.label == g] for g in range(G)])  # fit per unit s_g
    Q, sv, _ = np.linalg.svd(moves, full_matrices=False)
    if int((sv > sv[0] * 1e-9).sum()) != q:
        return None
    Z, z0 = Q[:, :q].T @ moves, Q[:, :q].T @ (A @ c0 - t)  # fit residual at s: Q (z0 + Z s), up to c0's own
    reach = float(np.abs(np.concatenate([form.lo, form.hi])).max())
    eps = max(poly.residual, float(sv[q:].max(initial=0.0)) * reach, np.finfo(float).eps * G * sv[0] * reach)
    level = FIT_ROUNDOFF * eps
    if FIT_MARGIN * level > FIT_COARSEST * max(1.0, float(np.linalg.norm(t))):
        return None
    lowest = None  # the fewest free classes not proven impossible
    for f in range(q):
        found = _free_classes(Z, z0, form, f, level)
        if isinstance(found, np.ndarray):
            point = form.point(c0, found)
            point[point <= zero] = 0.0
            upper = int((point > 0).sum())
            return EndSearch((min(upper, base + (f if lowest is None else lowest)), upper), point)
        if found and lowest is None:
            lowest = f
    vertices = poly.sample_vertices
    best = vertices[int(np.argmin((vertices > zero).sum(axis=1)))]
    return EndSearch((base + (q if lowest is None else lowest), base + q), best)


def _free_classes(Z: np.ndarray, z0: np.ndarray, form: ClassForm, f: int, level: float) -> np.ndarray | bool:
    """Whether some f classes inside their intervals and the others at an end make a point of P*
    (fit residual ||z0 + Z s|| <= level): the s of one (a witness), else True when some came
    within FIT_MARGIN level or too many did to examine them all (undecided), False when none did."""
    G = Z.shape[1]
    undecided = False
    for free in combinations(range(G), f):
        F = list(free)
        ends = np.setdiff1d(np.arange(G), F)
        U, _, _ = np.linalg.svd(Z[:, F], full_matrices=True)
        B = U[:, f:]  # the directions the free classes cannot move the residual in
        width = form.hi[ends] - form.lo[ends]
        items = (B.T @ Z[:, ends]) * width  # (q - f, m): x_g = 1 moves class g from lo to hi
        target = -B.T @ (z0 + Z[:, ends] @ form.lo[ends])
        near, left_out = _near_sums(items.T, target, FIT_MARGIN * level)
        undecided |= left_out
        for x in near:
            s = form.lo.copy()
            s[ends] += x * width
            if f:
                s[F] = np.linalg.lstsq(Z[:, F], -(z0 + Z[:, ends] @ s[ends]), rcond=None)[0]
            if not (np.all(s[F] > form.lo[F]) and np.all(s[F] < form.hi[F])):
                continue
            if np.linalg.norm(z0 + Z @ s) <= level:
                return s
            undecided = True
    return undecided


def _near_sums(items: np.ndarray, target: np.ndarray, radius: float) -> tuple[list[np.ndarray], bool]:
    """The x in {0,1}^m with ||x @ items - target|| <= radius (items (m, D)), by meeting in the
    middle: the sums of each half listed, the close pairs found by sorting (D = 1) or a k-d tree.
    At most NEAR_PAIRS of them, the closest first, and whether some were left out."""
    from scipy.spatial import cKDTree

    m, D = items.shape
    h = m // 2
    S1, S2 = _subset_sums(items[:h]), _subset_sums(items[h:])
    need = target[None, :] - S1
    if D == 1:
        order = np.argsort(S2[:, 0])
        sorted2 = S2[order, 0]
        lo = np.searchsorted(sorted2, need[:, 0] - radius, side="left")
        count = np.searchsorted(sorted2, need[:, 0] + radius, side="right") - lo
        i = np.repeat(np.arange(len(S1)), count)
        j = order[np.repeat(lo, count) + np.arange(len(i)) - np.repeat(np.cumsum(count) - count, count)]
    else:
        hits = cKDTree(S2).query_ball_point(need, radius)
        i = np.repeat(np.arange(len(S1)), [len(hh) for hh in hits])
        j = np.array([k for hh in hits for k in hh], dtype=int)
    dist = np.linalg.norm(S1[i] + S2[j] - target[None, :], axis=1)
    keep = np.argsort(dist)[:NEAR_PAIRS]
    xs = [np.concatenate([_index_bits(a, h), _index_bits(b, m - h)]) for a, b in zip(i[keep], j[keep])]
    return xs, len(i) > NEAR_PAIRS


def _subset_sums(items: np.ndarray) -> np.ndarray:
    """(2^m, D): row i is the sum of the items whose bit is set in i (item k <-> bit k)."""
    sums = np.zeros((1, items.shape[1]))
    for item in items:
        sums = np.vstack([sums, sums + item])
    return sums


def _index_bits(i: int, m: int) -> np.ndarray:
    return ((int(i) >> np.arange(m)) & 1).astype(float)


def critical_widths(poly: Polytope, milp_time_limit_s: float = 60.0) -> CriticalWidths:
    """m*, M* exactly when vertices are listed; otherwise m* over the class ends or by MILP
    (:func:`_min_support`) and M* bounds."""
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
    (m_low, m_high), c, how = _min_support(poly, milp_time_limit_s)
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
        degenerate=True if m_high < poly.rank else (False if m_low == poly.rank else None),
        m_star_vertex=np.where(c > ZERO_RULE * c.sum(), c, 0.0),
        method=f"{how} for m*, LP vertices and rank for M* bounds",
    )


def _min_support(poly: Polytope, milp_time_limit_s: float) -> tuple[tuple[int, int], np.ndarray, str]:
    """m* bounds, a point of P* with the upper bound's support, and how: the search over class ends
    when it applies and decides, else the MILP (with the ends' bracket, when there is one)."""
    ends = min_support_by_ends(poly)
    if ends is not None and ends.bounds[0] == ends.bounds[1]:
        return ends.bounds, ends.witness, "series-class ends"
    (low, high), c = min_cardinality_milp(poly, milp_time_limit_s)
    if ends is None:
        return (low, high), c, "MILP"
    if ends.bounds[1] < high:
        high, c = ends.bounds[1], ends.witness
    return (max(low, ends.bounds[0]), high), c, "series-class ends and MILP"


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
