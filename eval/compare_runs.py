"""Two ``rag eval`` outputs side by side: the largest metric difference, the prediction rows
that differ (latency aside), field by field, and each run's AUROC of the confidence between
answerable and unanswerable questions, per mode (how well it tells them apart at any threshold).

    python -m eval.compare_runs OUT_A OUT_B [--plot PNG --labels A B] [--at T ...]

``--plot`` draws both runs' accuracy-coverage curves in one figure (each mode of each run a line,
named by its label); ``--at`` prints, for each run, the share of answerable questions answered and
of unanswerable ones abstained had the threshold been each T (what the strictness setting trades).
Used for docs/scale-out.md (the same dataset over a directory index and over Milvus),
docs/quality.md (the answer weights refitted) and docs/reader.md (the sentence scorer against the
reader).
"""

from __future__ import annotations

import argparse
import json
import statistics
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from eval.abstention_metrics import abstention_accuracy
from eval.report import plot_coverage
from eval.scoring import ModeRun


def _rows(out: Path) -> dict[tuple[str, str], dict[str, Any]]:
    with (out / "predictions.jsonl").open(encoding="utf-8") as f:
        rows = [json.loads(line) for line in f]
    return {(r["mode"], r["id"]): {k: v for k, v in r.items() if "latency" not in k} for r in rows}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("a", type=Path)
    parser.add_argument("b", type=Path)
    parser.add_argument("--plot", type=Path, help="write both accuracy-coverage curves here")
    parser.add_argument("--labels", nargs=2, default=("a", "b"), help="the runs' names in the plot")
    parser.add_argument("--at", nargs="+", type=float, default=(), help="thresholds to report")
    args = parser.parse_args(argv)
    reports = [json.loads((out / "report.json").read_text()) for out in (args.a, args.b)]
    runs = [report["runs"] for report in reports]
    largest = max(
        (
            (abs(value - runs[1][mode][name]), mode, name)
            for mode, metrics in runs[0].items()
            if mode in runs[1]
            for name, value in metrics.items()
            if "latency" not in name and value is not None and runs[1][mode][name] is not None
        ),
        default=None,
    )
    if largest is None:
        print("largest metric difference: none (no mode in both runs)")
    else:
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
    for name, rows in zip(args.labels, (a, b), strict=True):
        print(f"AUROC of the confidence, answerable vs not, {name}: {_auroc(rows)}")
        for threshold in args.at:
            print(f"  at {threshold:.2f}: {_at(rows, threshold)}")
    if args.plot:
        plot_coverage(_curves(reports, args.labels), args.plot)
        print(f"wrote {args.plot}")


def _curves(reports: list[dict[str, Any]], labels: Sequence[str]) -> dict[str, ModeRun]:
    """Each run's accuracy-coverage curves as ``plot_coverage`` draws them, keyed "label mode"."""
    curves = {}
    for label, report in zip(labels, reports, strict=True):
        for mode, curve in report["curves"]["accuracy_coverage"].items():
            curves[f"{label} ({mode})"] = ModeRun(
                mode,
                [],
                abstention_curve=[tuple(p) for p in curve],
                operating_point=report["operating_points"].get(mode),
            )
    return curves


def _by_mode(rows: dict[tuple[str, str], dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """The prediction rows of each mode, modes in name order."""
    return {
        mode: [r for (m, _), r in rows.items() if m == mode]
        for mode in sorted({m for m, _ in rows})
    }


def _at(rows: dict[tuple[str, str], dict[str, Any]], threshold: float) -> str:
    """Per mode, answerable questions answered and unanswerable ones abstained at ``threshold``."""
    out = []
    for mode, chosen in _by_mode(rows).items():
        shares = abstention_accuracy(
            [(r["confidence"] or 0.0) < threshold for r in chosen],
            [bool(r["answerable"]) for r in chosen],
        )
        has, no = (shares[k] for k in ("hasans_accuracy", "noans_accuracy"))
        share = [f"{v:.3f}" if v is not None else "-" for v in (has, no)]
        out.append(f"{mode} answerable answered {share[0]}, unanswerable abstained {share[1]}")
    return "; ".join(out)


def _auroc(rows: dict[tuple[str, str], dict[str, Any]]) -> str:
    from sklearn.metrics import roc_auc_score

    out = []
    for mode, chosen in _by_mode(rows).items():
        labels = [bool(r["answerable"]) for r in chosen]
        if len(set(labels)) == 2:
            scores = [r["confidence"] or 0.0 for r in chosen]
            out.append(f"{mode} {roc_auc_score(labels, scores):.3f}")
    return ", ".join(out) or "(needs answerable and unanswerable questions)"


if __name__ == "__main__":
    main()
