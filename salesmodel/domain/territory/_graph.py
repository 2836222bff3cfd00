"""The contiguity graph of the basic units."""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.sparse import csgraph
from scipy.spatial import Delaunay

from salesmodel.domain.constraints import param_error
from salesmodel.domain.territory._units import Units, prepare_units
from salesmodel.errors import InputError, short_list


@dataclass(frozen=True, eq=False)
class Graph:
    """Which units touch which: the contiguity graph a territory must stay connected in.

    Attributes
    ----------
    units : numpy.ndarray
        Unit ids, in the order of the units table; node ``i`` is ``units[i]``.
    edges : numpy.ndarray
        ``(m, 2)`` int array of node pairs ``i < j``, sorted.
    neighbours : list of numpy.ndarray
        Neighbour nodes of each node.
    matrix : scipy.sparse.csr_array
        Symmetric 0/1 adjacency matrix.
    components : list of list
        Unit ids of each connected component, largest first (one entry when connected).
    method : str
        ``"delaunay"`` or ``"given"``.
    pruned, readded : int
        Delaunay edges dropped as too long, and dropped edges put back to keep the
        graph connected.
    """

    units: np.ndarray
    edges: np.ndarray
    neighbours: list = field(repr=False)
    matrix: Any = field(repr=False)
    components: list = field(repr=False)
    method: str = "given"
    pruned: int = 0
    readded: int = 0

    @property
    def n_components(self) -> int:
        return len(self.components)

    @property
    def connected(self) -> bool:
        return len(self.components) == 1

    def to_frame(self) -> pd.DataFrame:
        """The edges as a table ``unit_a, unit_b``."""
        return pd.DataFrame({"unit_a": self.units[self.edges[:, 0]], "unit_b": self.units[self.edges[:, 1]]})

    def __repr__(self) -> str:
        return (
            f"Graph(units={len(self.units)}, edges={len(self.edges)}, components={self.n_components}, "
            f"method={self.method!r})"
        )


def _make_graph(ids: np.ndarray, edges: np.ndarray, method: str, pruned: int = 0, readded: int = 0) -> Graph:
    n = len(ids)
    if len(edges):
        edges = np.unique(np.sort(edges, axis=1), axis=0)
    else:
        edges = np.zeros((0, 2), dtype=np.int64)
    edges = edges.astype(np.int64)
    data = np.ones(2 * len(edges))
    rows = np.concatenate([edges[:, 0], edges[:, 1]])
    cols = np.concatenate([edges[:, 1], edges[:, 0]])
    matrix = sparse.csr_array((data, (rows, cols)), shape=(n, n))
    neighbours = [matrix.indices[matrix.indptr[i] : matrix.indptr[i + 1]].copy() for i in range(n)]
    n_comp, comp = csgraph.connected_components(matrix, directed=False)
    groups = [np.flatnonzero(comp == c) for c in range(n_comp)]
    groups.sort(key=lambda g: (-len(g), g[0]))
    components = [ids[g].tolist() for g in groups]
    return Graph(ids, edges, neighbours, matrix, components, method, pruned, readded)


def _delaunay_edges(plane: np.ndarray) -> np.ndarray:
    n = len(plane)
    if n < 2:
        return np.zeros((0, 2), dtype=np.int64)
    if n == 2:
        return np.array([[0, 1]])
    centred = plane - plane.mean(axis=0)
    try:
        # Joggle (QJ) keeps every point a vertex, even repeated or collinear ones.
        tri = Delaunay(centred, qhull_options="QJ Qbb")
    except Exception:  # noqa: BLE001 - qhull fails on degenerate inputs: fall back to a chain
        order = np.lexsort((centred[:, 1], centred[:, 0]))
        return np.column_stack([order[:-1], order[1:]])
    simplices = tri.simplices
    pairs = np.vstack([simplices[:, [0, 1]], simplices[:, [1, 2]], simplices[:, [0, 2]]])
    return np.unique(np.sort(pairs, axis=1), axis=0)


def _prune(plane: np.ndarray, edges: np.ndarray, prune_factor: float | None) -> tuple[np.ndarray, int, int]:
    """Drop edges longer than ``prune_factor`` x the median edge, then put back, for every
    pair of components that the dropped edges joined, the shortest such edge.

    That keeps the graph as connected as the triangulation was (clusters of customers
    stay linked to the clusters around them) while removing the long, thin triangles
    along the hull and across empty land.
    """
    if prune_factor is None or len(edges) == 0:
        return edges, 0, 0
    length = np.linalg.norm(plane[edges[:, 0]] - plane[edges[:, 1]], axis=1)
    limit = prune_factor * np.median(length)
    keep = length <= limit
    if keep.all():
        return edges, 0, 0
    kept = edges[keep]
    n = len(plane)
    m = sparse.csr_array((np.ones(len(kept)), (kept[:, 0], kept[:, 1])), shape=(n, n))
    _, comp = csgraph.connected_components(m, directed=False)
    dropped = edges[~keep]
    dropped_len = length[~keep]
    ca, cb = comp[dropped[:, 0]], comp[dropped[:, 1]]
    between = ca != cb
    cand = np.flatnonzero(between)
    pair = np.sort(np.column_stack([ca[cand], cb[cand]]), axis=1)
    order = np.lexsort((dropped_len[cand], pair[:, 1], pair[:, 0]))
    pair, cand = pair[order], cand[order]
    first = np.ones(len(cand), dtype=bool)
    first[1:] = np.any(pair[1:] != pair[:-1], axis=1)
    back = dropped[cand[first]]
    return np.vstack([kept, back]), int((~keep).sum() - len(back)), len(back)


def _edges_from(edges: Any, units: Units) -> np.ndarray:
    if isinstance(edges, pd.DataFrame):
        if edges.shape[1] < 2:
            raise InputError(
                f"edges: expected two columns of unit ids (e.g. 'unit_a', 'unit_b'); "
                f"got columns {short_list(edges.columns)}"
            )
        pairs = edges.iloc[:, :2].to_numpy(dtype=object)
    else:
        try:
            pairs = np.asarray(list(edges), dtype=object)
        except TypeError:
            raise param_error("edges", "adjacency", "a table or a list of unit id pairs", shown=f"{type(edges).__name__}") from None
        if pairs.size == 0:
            pairs = pairs.reshape(0, 2)
        if pairs.ndim != 2 or pairs.shape[1] != 2:
            raise param_error("edges", "adjacency", "a table or a list of unit id pairs", shown=f"an array of shape {pairs.shape}")
    pos = units.position
    unknown = sorted({str(u) for u in pairs.ravel() if u not in pos})
    if unknown:
        raise InputError(f"edges: unit ids not among the units: {short_list(unknown)}; every edge must join two units")
    idx = np.array([[pos[a], pos[b]] for a, b in pairs], dtype=np.int64).reshape(-1, 2)
    return idx[idx[:, 0] != idx[:, 1]]


def _knn_edges(plane: np.ndarray, neighbours: int) -> np.ndarray:
    from scipy.spatial import cKDTree

    n = len(plane)
    q = min(neighbours, n - 1)
    if q < 1:
        return np.zeros((0, 2), dtype=np.int64)
    _, idx = cKDTree(plane).query(plane, q + 1)
    pairs = np.column_stack([np.repeat(np.arange(n), q), idx[:, 1:].ravel()])
    pairs = pairs[pairs[:, 0] != pairs[:, 1]]
    return np.unique(np.sort(pairs, axis=1), axis=0)


def build_graph(
    units: Units, method: str, edges: Any, prune_factor: float | None, func: str, neighbours: int = 15
) -> Graph:
    if method not in ("delaunay", "knn", "given"):
        raise param_error("method", func, "'delaunay', 'knn' or 'given'", method)
    if isinstance(neighbours, bool) or not isinstance(neighbours, (int, np.integer)) or neighbours < 1:
        raise param_error("neighbours", func, "a whole number >= 1", neighbours)
    if prune_factor is not None and (isinstance(prune_factor, bool) or not prune_factor > 0):
        raise param_error("prune_factor", func, "a number > 0 or None", prune_factor)
    if method == "knn":
        if edges is not None:
            raise param_error("edges", func, "None when method='knn'", shown="a value")
        # Delaunay edges plus each unit's nearest neighbours: a looser contiguity that
        # lets territories share a town (a unit touches its territory within its
        # nearest accounts), still connected by construction.
        tri = _delaunay_edges(units.plane)
        kept, pruned, readded = _prune(units.plane, tri, prune_factor)
        graph = _make_graph(units.ids, np.vstack([kept, _knn_edges(units.plane, int(neighbours))]), "knn", pruned, readded)
    elif method == "given":
        if edges is None:
            raise param_error("edges", func, "given when method='given'", shown="None")
        graph = _make_graph(units.ids, _edges_from(edges, units), "given")
    else:
        if edges is not None:
            raise param_error("edges", func, "None when method='delaunay' (pass method='given' to use your own edges)", shown="a value")
        tri = _delaunay_edges(units.plane)
        kept, pruned, readded = _prune(units.plane, tri, prune_factor)
        graph = _make_graph(units.ids, kept, "delaunay", pruned, readded)
    if graph.n_components > 1:
        sizes = [len(c) for c in graph.components]
        isolated = [c[0] for c in graph.components if len(c) == 1]
        warnings.warn(
            f"the contiguity graph has {graph.n_components} disconnected parts (sizes "
            f"{short_list(sizes)}); isolated units: {short_list(isolated) or 'none'}. Contiguous "
            f"territories cannot span parts; see Graph.components",
            stacklevel=3,
        )
    return graph


def adjacency(
    units: pd.DataFrame,
    *,
    method: str = "delaunay",
    edges: Any = None,
    prune_factor: float | None = 3.0,
    neighbours: int = 15,
) -> Graph:
    """The contiguity graph of the basic units.

    Parameters
    ----------
    units : DataFrame
        One row per unit: ``unit_id`` and ``lat``/``lon`` (degrees) or ``x``/``y``.
    method : {"delaunay", "knn", "given"}, default="delaunay"
        ``"delaunay"`` triangulates the coordinates (lat/lon are first projected to a
        local equirectangular plane in km): territories are contiguous areas on the map.
        ``"knn"`` adds to the triangulation each unit's ``neighbours`` nearest units: a
        looser contiguity (a unit reaches its territory through its nearest accounts, so
        territories may share a town) that leaves far more room to balance clustered
        customers. ``"given"`` uses ``edges``.
    edges : DataFrame or list of pairs, optional
        Pairs of unit ids that touch (first two columns of a table, e.g. the province
        adjacency ``province_a, province_b``). Only with ``method="given"``.
    prune_factor : float or None, default=3.0
        Delaunay only: edges longer than this multiple of the median edge length are
        dropped, then for every pair of parts the dropped edges used to join, the
        shortest dropped edge is put back, so pruning never disconnects the graph.
        ``None`` keeps every triangulation edge.
    neighbours : int, default=15
        ``"knn"`` only: nearest units each unit is joined to.

    Returns
    -------
    Graph
        With ``components`` listing the disconnected parts (a warning is issued when
        there is more than one).

    Examples
    --------
    >>> import pandas as pd
    >>> units = pd.DataFrame({"unit_id": list("abcd"), "x": [0, 1, 0, 1], "y": [0, 0, 1, 1]})
    >>> g = adjacency(units)
    >>> g.connected, len(g.edges)
    (True, 5)
    """
    checked = prepare_units(units, None, func="adjacency")
    return build_graph(checked, method, edges, prune_factor, "adjacency", neighbours)


def graph_for(units: Units, graph: Graph | None, func: str) -> Graph:
    """The graph to use for ``units``: the given one (checked to match) or a Delaunay one."""
    if graph is None:
        return build_graph(units, "delaunay", None, 3.0, func)
    if not isinstance(graph, Graph):
        raise param_error("adjacency", func, "a Graph made by territory.adjacency(...) or None", shown=f"{type(graph).__name__}")
    if len(graph.units) != units.n or not all(a == b for a, b in zip(graph.units, units.ids)):
        have, want = set(graph.units.tolist()), set(units.ids.tolist())
        extra, missing = sorted(map(str, have - want)), sorted(map(str, want - have))
        if not extra and not missing:
            # Same units in another order: carry the edges over to this order.
            pos = units.position
            remap = np.array([pos[u] for u in graph.units], dtype=np.int64)
            return _make_graph(units.ids, remap[graph.edges], graph.method, graph.pruned, graph.readded)
        raise InputError(
            f"adjacency: the graph was built for other units (not in units: {short_list(extra) or 'none'}; "
            f"missing from the graph: {short_list(missing) or 'none'}); build it from the same table"
        )
    return graph


def cut_pieces(graph: Graph, measures: np.ndarray) -> list[tuple[int, int, np.ndarray, int]]:
    """The pieces a single unit cuts off: for every cut vertex ``v`` (a unit whose removal
    disconnects its part of the graph) and every piece of the graph that hangs on ``v``
    alone, ``(v, first unit of the piece, its measure totals, its size)``.

    Tarjan's low-link search, iterative, in O(units + edges); the piece of a DFS child ``u``
    of ``v`` with ``low[u] >= disc[v]`` is ``u``'s subtree, whose totals are summed on the
    way back. (The other side, the rest of ``v``'s part, is left out: it is the large one.)
    """
    n = len(graph.units)
    disc = np.full(n, -1, dtype=np.int64)
    low = np.zeros(n, dtype=np.int64)
    sums = np.asarray(measures, dtype=float).copy()
    size = np.ones(n, dtype=np.int64)
    nb = graph.neighbours
    out: list[tuple[int, int, np.ndarray, int]] = []
    clock = 0
    for root in range(n):
        if disc[root] >= 0:
            continue
        disc[root] = low[root] = clock
        clock += 1
        stack = [(root, -1, 0)]  # (node, parent, index of the next neighbour to visit)
        while stack:
            v, parent, i = stack[-1]
            if i < len(nb[v]):
                stack[-1] = (v, parent, i + 1)
                w = int(nb[v][i])
                if disc[w] < 0:
                    disc[w] = low[w] = clock
                    clock += 1
                    stack.append((w, v, 0))
                elif w != parent:
                    low[v] = min(low[v], disc[w])
                continue
            stack.pop()
            if parent >= 0:
                low[parent] = min(low[parent], low[v])
                sums[parent] += sums[v]
                size[parent] += size[v]
                if low[v] >= disc[parent] and stack[-1][1] >= 0:  # parent is not its part's root
                    out.append((parent, v, sums[v].copy(), int(size[v])))
    return out
