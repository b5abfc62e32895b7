"""Two ``rag eval`` outputs side by side: the largest metric difference, the prediction rows
that differ (latency aside), field by field, and each run's AUROC of the confidence between
answerable and unanswerable questions, per mode (how well it tells them apart at any threshold).

    python -m eval.compare_runs OUT_A OUT_B

Used for docs/scale-out.md (the same dataset over a directory index and over Milvus) and
docs/quality.md (the answer weights refitted).
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
    for name, rows in (("a", a), ("b", b)):
        print(f"AUROC of the confidence, answerable vs not, {name}: {_auroc(rows)}")


def _auroc(rows: dict[tuple[str, str], dict[str, Any]]) -> str:
    from sklearn.metrics import roc_auc_score

    out = []
    for mode in sorted({m for m, _ in rows}):
        chosen = [r for (m, _), r in rows.items() if m == mode]
        labels = [bool(r["answerable"]) for r in chosen]
        if len(set(labels)) == 2:
            scores = [r["confidence"] or 0.0 for r in chosen]
            out.append(f"{mode} {roc_auc_score(labels, scores):.3f}")
    return ", ".join(out) or "(needs answerable and unanswerable questions)"


if __name__ == "__main__":
    main()
