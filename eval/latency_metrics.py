"""Latency metrics: the median and 95th percentile of per-question latencies.

A pure function on a plain sequence of milliseconds; with no latencies both figures are
``None``, never NaN.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def latency_percentiles(latencies_ms: Sequence[float]) -> dict[str, float | None]:
    """Median and 95th percentile latency (linear interpolation).

    Args:
        latencies_ms: Per-question latencies in milliseconds.

    Returns:
        ``latency_ms_p50`` and ``latency_ms_p95``; both ``None`` when there are no latencies.
    """
    if len(latencies_ms) == 0:
        return {"latency_ms_p50": None, "latency_ms_p95": None}
    values = np.asarray(latencies_ms, dtype=float)
    return {
        "latency_ms_p50": float(np.percentile(values, 50)),
        "latency_ms_p95": float(np.percentile(values, 95)),
    }
