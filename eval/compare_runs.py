"""Two ``rag eval`` outputs side by side: the largest metric difference and the prediction rows
that differ (latency aside), field by field.

    python -m eval.compare_runs OUT_A OUT_B

Used for docs/scale-out.md: the same dataset evaluated over a directory index and over Milvus.
"""

from __future__ import annotations

import argparse
import json
import statistics
from collections import Counter
from pathlib import Path
from typing import Any


def _rows(out: Path) -> dict[tuple[str, str], dict[str, Any]]:
    with (out / "predictions.jsonl").open(encoding="utf-8") as f:
        rows = [json.loads(line) for line in f]
    return {(r["mode"], r["id"]): {k: v for k, v in r.items() if "latency" not in k} for r in rows}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("a", type=Path)
    parser.add_argument("b", type=Path)
    args = parser.parse_args(argv)
    runs = [json.loads((out / "report.json").read_text())["runs"] for out in (args.a, args.b)]
    largest = max(
        (abs(value - runs[1][mode][name]), mode, name)
        for mode, metrics in runs[0].items()
        for name, value in metrics.items()
        if "latency" not in name and value is not None and runs[1][mode][name] is not None
    )
    print(f"largest metric difference: {largest[0]:.5f} ({largest[2]}, {largest[1]})")
    a, b = _rows(args.a), _rows(args.b)
    fields: Counter[str] = Counter()
    confidence = []
    differing = 0
    for key, row in a.items():
        other = b.get(key, {})
        changed = [name for name in row if row[name] != other.get(name)]
        differing += bool(changed)
        fields.update(changed)
        if "confidence" in changed and other.get("confidence") is not None:
            confidence.append(abs(row["confidence"] - other["confidence"]))
    print(f"prediction rows: {len(a)} and {len(b)}; {len(a) - differing} identical")
    for name, count in fields.most_common():
        print(f"  {name}: differs in {count} rows")
    if confidence:
        print(f"  confidence difference: median {statistics.median(confidence):.4f}, "
              f"at most {max(confidence):.4f}")  # fmt: skip


if __name__ == "__main__":
    main()
