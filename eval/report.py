"""The report of an evaluation: ``report.json``, ``report.md``, ``predictions.jsonl``, PNG plots
and the console table. Rendering only; every figure comes from ``eval.run``.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from eval.scoring import METRIC_KEYS, RETRIEVAL_DEPTH, SUBSETS, ModeRun
from rag.errors import InvalidInputError

REPORT_JSON = "report.json"
REPORT_MD = "report.md"
PREDICTIONS = "predictions.jsonl"
RECALL_PLOT = "recall_at_k.png"
COVERAGE_PLOT = "accuracy_coverage.png"
CURVE_POINTS = 101
"""Points kept of each accuracy-coverage curve in report.json (the plot uses them all)."""
_PLOT_DPI = 120
_GIT_TIMEOUT_S = 5
_PERCENT_KEYS = frozenset(k for k in METRIC_KEYS if not k.startswith("latency"))


def git_commit(directory: Path) -> str | None:
    """``git rev-parse HEAD`` in ``directory``; None when git or a repository is missing."""
    try:
        done = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=directory,
            capture_output=True,
            text=True,
            timeout=_GIT_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    commit = done.stdout.strip()
    return commit if done.returncode == 0 and commit else None


def build_report(
    runs: Mapping[str, ModeRun], default_mode: str, *, context: Mapping[str, Any]
) -> dict[str, Any]:
    """The content of ``report.json``.

    Args:
        runs: Mode -> run, in display order.
        default_mode: The mode whose metrics become the top-level ``"metrics"``.
        context: Configuration, dataset, model, version and timing entries to record as given.

    Returns:
        A JSON-ready dictionary: ``metrics``, ``runs``, ``counts``, ``subsets``, ``curves``,
        ``operating_points`` and the ``context`` entries.
    """
    return {
        "metrics": dict(runs[default_mode].metrics),
        "runs": {mode: dict(run.metrics) for mode, run in runs.items()},
        "counts": {mode: dict(run.counts) for mode, run in runs.items()},
        "subsets": dict(SUBSETS),
        **context,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "curves": {
            "recall_at_k": {
                mode: run.recall_curve for mode, run in runs.items() if run.recall_curve
            },
            "accuracy_coverage": {
                mode: [list(p) for p in _thin(run.abstention_curve, CURVE_POINTS)]
                for mode, run in runs.items()
                if run.abstention_curve
            },
        },
        "operating_points": {
            mode: run.operating_point for mode, run in runs.items() if run.operating_point
        },
    }


def _thin(points: Sequence[Any] | None, n: int) -> list[Any]:
    if not points:
        return []
    if len(points) <= n:
        return list(points)
    step = (len(points) - 1) / (n - 1)
    return [points[round(i * step)] for i in range(n)]


def format_value(key: str, value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if key in _PERCENT_KEYS:
        return f"{value:.3f}"
    return f"{value:.1f}"


def format_table(runs: Mapping[str, Mapping[str, float | None]], *, markdown: bool = False) -> str:
    """Metrics as a table: one row per metric, one column per mode.

    Metrics that are ``None`` in every mode are left out.
    """
    modes = list(runs)
    keys = [k for k in METRIC_KEYS if any(runs[m].get(k) is not None for m in modes)]
    rows = [["metric", *modes]] + [
        [k, *(format_value(k, runs[m].get(k)) for m in modes)] for k in keys
    ]
    if markdown:
        lines = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(rows[0])]
        lines += ["| " + " | ".join(r) + " |" for r in rows[1:]]
        return "\n".join(lines)
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    out = []
    for n, row in enumerate(rows):
        cells = [row[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(row[1:], widths[1:])]
        out.append("  ".join(cells))
        if n == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


def write_outputs(report: dict[str, Any], runs: Mapping[str, ModeRun], out_dir: Path) -> list[Path]:
    """Write report.json, report.md, predictions.jsonl and the plots into ``out_dir``.

    Returns:
        The files written.

    Raises:
        InvalidInputError: If the directory cannot be written.
    """
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        written = [out_dir / REPORT_JSON, out_dir / PREDICTIONS]
        written[0].write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", "utf-8")
        with written[1].open("w", encoding="utf-8") as f:
            for mode, run in runs.items():
                for r in run.results:
                    f.write(json.dumps(_prediction_row(mode, r), ensure_ascii=False) + "\n")
        plots = []
        if report["curves"]["recall_at_k"]:
            unit = (
                "paragraphs" if report.get("dataset", {}).get("format") == "squad" else "documents"
            )
            curves = report["curves"]["recall_at_k"]
            plots.append(plot_recall(curves, out_dir / RECALL_PLOT, unit))
        if any(run.abstention_curve for run in runs.values()):
            plots.append(plot_coverage(runs, out_dir / COVERAGE_PLOT))
        (out_dir / REPORT_MD).write_text(render_markdown(report, [p.name for p in plots]), "utf-8")
    except OSError as e:
        raise InvalidInputError(f"cannot write the report to {out_dir}: {e}") from e
    return [*written, out_dir / REPORT_MD, *plots]


def _prediction_row(mode: str, r: Any) -> dict[str, Any]:
    a = r.answer
    row: dict[str, Any] = {
        "id": r.question.id,
        "mode": mode,
        "answerable": r.question.answerable,
        "gold": list(r.question.answers),
        "gold_ids": list(r.question.gold_doc_ids),
        "gold_rank": next(
            (i for i, g in enumerate(r.ranked, 1) if g in r.question.gold_doc_ids), None
        ),
        "latency_ms": round(r.latency_ms, 3),
    }
    if a is not None:
        row |= {
            "abstained": a.abstained,
            "confidence": round(float(a.confidence), 4),
            "short_answer": a.short_answer,
            "answer": a.answer,
            "citations": [[c.source, c.start, c.end] for c in a.citations],
        }
    return row


def render_markdown(report: Mapping[str, Any], plots: Sequence[str]) -> str:
    ds, cfg = report.get("dataset", {}), report.get("config", {})
    lines = [
        f"# Evaluation: {ds.get('name', '?')}",
        "",
        f"- dataset: `{ds.get('path')}` ({ds.get('format')}, sha256 `{ds.get('sha256')}`)",
        f"- questions: {ds.get('questions_evaluated')} of {ds.get('questions_total')}"
        + (f" (seeded sample, seed {cfg.get('seed')})" if cfg.get("sample") else ""),
        f"- modes: {', '.join(report['runs'])}; default `{cfg.get('mode')}`; k = {cfg.get('k')}",
        f"- model: {report.get('model', {}).get('name')} "
        f"(sha256 `{report.get('model', {}).get('sha256')}`)",
        f"- version {report.get('version')}, commit `{report.get('git_commit')}`, "
        f"created {report.get('created')}",
        "",
        "## Metrics",
        "",
        format_table(report["runs"], markdown=True),
        "",
        "A dash marks a metric that does not apply to this dataset. Latencies are milliseconds.",
        "",
        "## Counts",
        "",
    ]
    count_keys = sorted({k for c in report["counts"].values() for k in c})
    lines.append("| count | " + " | ".join(report["counts"]) + " |")
    lines.append("|---|" + "---|" * len(report["counts"]))
    for key in count_keys:
        cells = [str(c.get(key, "-")) for c in report["counts"].values()]
        lines.append(f"| {key} | " + " | ".join(cells) + " |")
    lines += ["", "## What each metric is computed over", ""]
    lines += [f"- `{k}`: {v}" for k, v in report["subsets"].items()]
    if plots:
        lines += ["", "## Plots", ""] + [f"![{p}]({p})" for p in plots]
    return "\n".join(lines) + "\n"


def _figure(ncols: int = 1) -> tuple[Any, Any]:
    # The object API with no pyplot: no global state and no display backend, so this works
    # headless and from threads.
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.0 * ncols, 4.2), layout="constrained")
    return fig, fig.subplots(1, ncols, squeeze=False)[0]


def plot_recall(curves: Mapping[str, Sequence[float]], path: Path, unit: str = "documents") -> Path:
    """recall@k for k = 1..100, one line per mode; ``unit`` names what is ranked."""
    fig, (ax,) = _figure()
    for mode, curve in curves.items():
        ax.plot(range(1, len(curve) + 1), curve, label=mode)
    ax.set_xscale("log")
    ticks = [k for k in (1, 2, 5, 10, 20, 50, 100) if k <= RETRIEVAL_DEPTH]
    ax.set_xticks(ticks, [str(k) for k in ticks])
    ax.set(xlabel=f"k (top-k {unit})", ylabel="recall@k", ylim=(0, 1.02), title="Recall@k")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    fig.savefig(path, dpi=_PLOT_DPI)
    return path


def plot_coverage(runs: Mapping[str, ModeRun], path: Path) -> Path:
    """Accuracy against coverage as the abstention threshold moves; dots mark the shipped one."""
    fig, axes = _figure(2)
    titles = ("Accuracy of the answers given", "Overall: right answers + right abstentions")
    for col, (ax, title) in enumerate(zip(axes, titles)):
        for mode, run in runs.items():
            if not run.abstention_curve or not run.operating_point:
                continue
            xs = [p[1] for p in run.abstention_curve]
            ys = [p[2 + col] for p in run.abstention_curve]
            (line,) = ax.plot(xs, ys, label=mode)
            op = run.operating_point
            y = op["answered_accuracy"] if col == 0 else op["overall_accuracy"]
            ax.plot([op["coverage"]], [y], "o", color=line.get_color())
        ax.set(xlabel="coverage (share of questions answered)", ylabel="accuracy", title=title)
        ax.set(xlim=(0, 1.0), ylim=(0, 1.02))
        ax.grid(alpha=0.3)
        ax.legend(title="dot: shipped threshold", fontsize="small")
    fig.savefig(path, dpi=_PLOT_DPI)
    return path
