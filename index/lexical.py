"""BM25 as sparse vectors, for stores that search by sparse inner product (``index.milvus``).

Lucene's BM25 (what ``index.bm25`` computes with bm25s) splits into a passage side and a query
side whose inner product is the score:

    score(q, d) = sum over t in q of  [count(t, q) * idf(t)] * [tf / (tf + k1 * N(d))]
                                       query side                 passage side
    N(d) = 1 - b + b * |d| / avgdl

so a passage is stored with its passage-side weights and a query is searched with its idf-weighted
counts, and the store's sparse inner product gives bm25s's scores exactly, as long as ``avgdl``
is the collection's average passage length when the weights were computed (a collection that
grows afterwards drifts slowly from it; ``index.milvus`` records the value used).

Terms become sparse dimensions by a 32-bit hash: two terms that collide share a dimension (about
one pair in a vocabulary of 77,000 terms), a small, stable error instead of a shared vocabulary
every writer would have to agree on.
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

NO_TERMS = 2**32 - 2
"""The highest sparse dimension Milvus accepts; no term maps to it. A passage without BM25 terms
is stored with a negligible weight there (Milvus refuses an empty sparse vector), which no
query ever asks for."""
NO_TERMS_WEIGHT = 1e-30


def term_id(term: str) -> int:
    """The sparse dimension of a term: a stable 32-bit hash, below ``NO_TERMS``."""
    digest = hashlib.blake2b(term.encode("utf-8"), digest_size=4).digest()
    return int.from_bytes(digest, "little") % NO_TERMS


def lucene_idf(df: int, n_docs: int) -> float:
    """Lucene's inverse document frequency, ``log(1 + (N - df + 0.5) / (df + 0.5))``."""
    return math.log(1 + (n_docs - df + 0.5) / (df + 0.5))


def passage_weights(terms: Sequence[str], avgdl: float, *, k1: float, b: float) -> dict[int, float]:
    """The passage side of BM25 for a passage's terms (its length is ``len(terms)``)."""
    norm = k1 * (1 - b + b * len(terms) / avgdl) if avgdl > 0 else k1
    weights: dict[int, float] = {}
    for term, tf in Counter(terms).items():
        dimension = term_id(term)
        weights[dimension] = weights.get(dimension, 0.0) + tf / (tf + norm)
    return weights


def query_weights(
    terms: Iterable[str], document_frequency: Mapping[str, int], n_docs: int
) -> dict[int, float]:
    """The query side: each term's count in the query times its idf; terms no passage holds
    are left out (they score nothing, as in bm25s)."""
    weights: dict[int, float] = {}
    for term, count in Counter(terms).items():
        df = document_frequency.get(term, 0)
        if df > 0:
            dimension = term_id(term)
            weights[dimension] = weights.get(dimension, 0.0) + count * lucene_idf(df, n_docs)
    return weights


def sparse_dot(a: Mapping[int, float], b: Mapping[int, float]) -> float:
    """The inner product of two sparse vectors."""
    if len(a) > len(b):
        a, b = b, a
    return sum(w * b[k] for k, w in a.items() if k in b)
