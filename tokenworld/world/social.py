"""Social ties: a sparse, undirected, weighted graph of who has dealt with whom.

Edges are kept as sorted 64-bit keys (low id << 32 | high id) with a weight
each, so a batch of interactions merges in with one `np.unique`, with no
Python object per agent or per edge.
"""

from __future__ import annotations

import numpy as np

MAX_GRAPH_FOR_CLUSTERING = 200_000  # edges; larger graphs skip clustering and communities


class SocialGraph:
    """Affinity between pairs of agents; grows with trades, talks and help."""

    def __init__(self, n: int):
        self.n = n
        self.keys = np.zeros(0, np.int64)
        self.weight = np.zeros(0, np.float32)

    def strengthen(self, a: np.ndarray, b: np.ndarray, amount: float | np.ndarray) -> None:
        """Add `amount` to the ties between a[i] and b[i] (created if new)."""
        a, b = np.asarray(a, np.int64), np.asarray(b, np.int64)
        keep = a != b
        if not keep.any():
            return
        a, b = a[keep], b[keep]
        amount = np.broadcast_to(np.asarray(amount, np.float32), keep.shape)[keep]
        keys = np.minimum(a, b) << 32 | np.maximum(a, b)
        all_keys = np.concatenate([self.keys, keys])
        all_w = np.concatenate([self.weight, amount])
        self.keys, inverse = np.unique(all_keys, return_inverse=True)
        self.weight = np.bincount(inverse, weights=all_w, minlength=len(self.keys)).astype(np.float32)

    @property
    def edges(self) -> int:
        return len(self.keys)

    def pairs(self) -> tuple[np.ndarray, np.ndarray]:
        """Both endpoints of every edge (low id, high id)."""
        return (self.keys >> 32).astype(np.int32), (self.keys & 0xFFFFFFFF).astype(np.int32)

    def degree(self) -> np.ndarray:
        """Number of ties of every agent."""
        lo, hi = self.pairs()
        return np.bincount(np.concatenate([lo, hi]), minlength=self.n)

    def ties_of(self, agent: int) -> tuple[np.ndarray, np.ndarray]:
        """The agents `agent` is tied to and the weights, strongest first."""
        lo, hi = self.pairs()
        mine = (lo == agent) | (hi == agent)
        other = np.where(lo[mine] == agent, hi[mine], lo[mine])
        w = self.weight[mine]
        order = np.argsort(-w, kind="stable")
        return other[order], w[order]

    def summary(self, *, seed: int = 0) -> dict:
        """Mean degree, edges, and (for graphs up to a size) clustering and community count."""
        out = {"edges": self.edges, "mean_degree": round(2 * self.edges / max(self.n, 1), 6)}
        if self.edges == 0 or self.edges > MAX_GRAPH_FOR_CLUSTERING:
            out.update(clustering=None, communities=None)
            return out
        import networkx as nx

        g = nx.Graph()
        lo, hi = self.pairs()
        keep = self.weight > 0  # communities need positive weights
        g.add_weighted_edges_from(zip(lo[keep].tolist(), hi[keep].tolist(), self.weight[keep].tolist(), strict=False))
        if g.number_of_edges() == 0:
            out.update(clustering=0.0, communities=None)
            return out
        out["clustering"] = round(float(nx.average_clustering(g)) * g.number_of_nodes() / max(self.n, 1), 6)
        out["communities"] = len(nx.community.louvain_communities(g, seed=seed))
        return out

    def state(self) -> dict[str, np.ndarray]:
        """Arrays for a checkpoint."""
        return {"social_keys": self.keys, "social_weight": self.weight}

    def restore(self, state: dict[str, np.ndarray]) -> None:
        self.keys = np.asarray(state["social_keys"], np.int64)
        self.weight = np.asarray(state["social_weight"], np.float32)
