"""Rendering the report: report.json content, report.md, the console table and the PNG plots."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from eval_fixtures import write_squad

from eval.corpus import build_corpus
from eval.datasets import load_dataset
from eval.report import (
    COVERAGE_PLOT,
    CURVE_POINTS,
    RECALL_PLOT,
    REPORT_JSON,
    REPORT_MD,
    _thin,
    build_report,
    format_table,
    git_commit,
    write_outputs,
)
from eval.run import COMPARE_MODES, RunConfig, evaluate
from rag.errors import InvalidInputError

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def runs(tmp_path: Path, fake_embedder):  # noqa: ANN001, ANN201
    dataset = load_dataset(write_squad(tmp_path / "tiny.json"))
    corpus = build_corpus(dataset, tmp_path / "index", embedder=fake_embedder)
    return evaluate(dataset, corpus, RunConfig(modes=COMPARE_MODES))


def test_outputs_are_written(tmp_path: Path, runs) -> None:  # noqa: ANN001
    report = build_report(runs, "hybrid", context={"dataset": {"format": "squad", "name": "t"}})
    written = write_outputs(report, runs, tmp_path / "out")
    names = {p.name for p in written}
    assert {REPORT_JSON, REPORT_MD, RECALL_PLOT, COVERAGE_PLOT, "predictions.jsonl"} == names
    for plot in (RECALL_PLOT, COVERAGE_PLOT):
        data = (tmp_path / "out" / plot).read_bytes()
        assert data.startswith(PNG_MAGIC) and len(data) > 10_000
    saved = json.loads((tmp_path / "out" / REPORT_JSON).read_text(encoding="utf-8"))
    assert saved["metrics"] == saved["runs"]["hybrid"]
    assert set(saved["runs"]) == set(COMPARE_MODES)
    assert saved["dataset"] == {"format": "squad", "name": "t"}
    points = saved["curves"]["accuracy_coverage"]["hybrid"]
    assert 1 <= len(points) <= CURVE_POINTS and points[-1][1] == 1.0
    assert set(saved["operating_points"]["bm25"]) == {
        "coverage",
        "answered_accuracy",
        "overall_accuracy",
    }
    md = (tmp_path / "out" / REPORT_MD).read_text(encoding="utf-8")
    assert "| metric | bm25 | dense | hybrid |" in md
    assert "| quote_validity | 1.000 | 1.000 | 1.000 |" in md
    assert f"![{RECALL_PLOT}]({RECALL_PLOT})" in md
    assert "`quote_f1`: answerable questions" in md


def test_table_leaves_out_metrics_no_mode_measured() -> None:
    runs = {"bm25": {"recall@1": 0.5, "em": None, "latency_ms_p50": 3.14159}}
    table = format_table(runs)
    lines = table.splitlines()
    assert lines[0].split() == ["metric", "bm25"]
    assert any(line.split() == ["recall@1", "0.500"] for line in lines)
    assert any(line.split() == ["latency_ms_p50", "3.1"] for line in lines)
    assert "em" not in table.split()
    md = format_table({"a": {"f1": 0.25}, "b": {"f1": None}}, markdown=True)
    assert md.splitlines() == ["| metric | a | b |", "|---|---|---|", "| f1 | 0.250 | - |"]


def test_thin_keeps_ends() -> None:
    points = list(range(1000))
    thinned = _thin(points, 101)
    assert len(thinned) == 101 and thinned[0] == 0 and thinned[-1] == 999
    assert _thin(points[:5], 101) == points[:5] and _thin(None, 10) == []


def test_git_commit_outside_a_repository(tmp_path: Path) -> None:
    assert git_commit(tmp_path) is None


def test_unwritable_out_dir(tmp_path: Path, runs) -> None:  # noqa: ANN001
    blocker = tmp_path / "file"
    blocker.write_text("x")
    report = build_report(runs, "hybrid", context={})
    with pytest.raises(InvalidInputError, match="cannot write the report"):
        write_outputs(report, runs, blocker / "out")
