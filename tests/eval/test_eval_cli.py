"""`rag eval` end to end with the fake embedder: outputs, --compare, --sample, gates, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from eval_fixtures import planets_text, write_beir, write_qa_jsonl, write_squad

from eval.cli import check_gates, main, parse_gates
from eval.scoring import METRIC_KEYS
from rag.errors import InvalidInputError
from rag.pipeline import RAG

REPORT_KEYS = {
    "metrics",
    "runs",
    "counts",
    "subsets",
    "config",
    "dataset",
    "index",
    "model",
    "version",
    "git_commit",
    "created",
    "timings_s",
    "curves",
    "operating_points",
}


def _eval(args: list[str], embedder, out_dir: Path, capsys) -> tuple[int, str, str]:  # noqa: ANN001
    code = main([*args, "--out", str(out_dir), "--no-progress"], embedder=embedder)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _report(out_dir: Path) -> dict:
    return json.loads((out_dir / "report.json").read_text(encoding="utf-8"))


def test_squad_report(tmp_path: Path, fake_embedder, capsys) -> None:  # noqa: ANN001
    squad = write_squad(tmp_path / "tiny.json")
    code, out, err = _eval(["--dataset", str(squad)], fake_embedder, tmp_path / "out", capsys)
    assert code == 0, err
    report = _report(tmp_path / "out")
    assert REPORT_KEYS <= set(report)
    assert set(report["metrics"]) == set(METRIC_KEYS)
    assert report["metrics"]["quote_validity"] == 1.0
    assert list(report["runs"]) == ["hybrid"]
    cfg = report["config"]
    assert cfg["mode"] == "hybrid" and cfg["k"] == 5 and cfg["sample"] is None
    assert {"fusion", "answering", "chunking"} <= set(cfg)
    assert "abstention" in cfg["answering"] and "alpha" in cfg["fusion"]
    import hashlib

    import rag

    assert report["dataset"]["sha256"] == hashlib.sha256(squad.read_bytes()).hexdigest()
    assert report["dataset"]["format"] == "squad" and report["dataset"]["questions_evaluated"] == 8
    assert report["model"]["sha256"] == fake_embedder.sha256
    assert report["version"] == rag.__version__
    assert report["git_commit"] is None or len(report["git_commit"]) == 40
    assert len(report["curves"]["recall_at_k"]["hybrid"]) == 100
    # The console table lists the metrics with the mode as column.
    assert out.splitlines()[0].split() == ["metric", "hybrid"]
    assert any(line.startswith("quote_validity") and "1.000" in line for line in out.splitlines())
    predictions = (tmp_path / "out" / "predictions.jsonl").read_text().splitlines()
    assert len(predictions) == 8 and json.loads(predictions[0])["mode"] == "hybrid"


def test_compare_runs_three_modes(tmp_path: Path, fake_embedder, capsys) -> None:  # noqa: ANN001
    squad = write_squad(tmp_path / "tiny.json")
    args = ["--dataset", str(squad), "--compare", "--mode", "dense"]
    code, out, _ = _eval(args, fake_embedder, tmp_path / "out", capsys)
    assert code == 0
    report = _report(tmp_path / "out")
    assert list(report["runs"]) == ["bm25", "dense", "hybrid"]
    assert report["metrics"] == report["runs"]["dense"]  # the --mode run is the headline
    assert out.splitlines()[0].split() == ["metric", "bm25", "dense", "hybrid"]
    assert set(report["curves"]["recall_at_k"]) == {"bm25", "dense", "hybrid"}


def test_sample_is_seeded(tmp_path: Path, fake_embedder, capsys) -> None:  # noqa: ANN001
    squad = str(write_squad(tmp_path / "tiny.json"))
    ids = []
    for n, seed in enumerate((7, 7, 8)):
        args = ["--dataset", squad, "--sample", "4", "--seed", str(seed)]
        assert _eval(args, fake_embedder, tmp_path / f"o{n}", capsys)[0] == 0
        rows = (tmp_path / f"o{n}" / "predictions.jsonl").read_text().splitlines()
        ids.append([json.loads(r)["id"] for r in rows])
        assert _report(tmp_path / f"o{n}")["dataset"]["questions_evaluated"] == 4
    assert ids[0] == ids[1] != ids[2]


def test_beir(tmp_path: Path, fake_embedder, capsys) -> None:  # noqa: ANN001
    beir = write_beir(tmp_path / "beir")
    code, out, _ = _eval(["--dataset", str(beir)], fake_embedder, tmp_path / "out", capsys)
    assert code == 0
    report = _report(tmp_path / "out")
    assert report["metrics"]["ndcg@10"] is not None and report["metrics"]["em"] is None
    assert report["index"]["skipped_documents"] == ["d4"]
    assert "em" not in out and "ndcg@10" in out  # metrics that do not apply are not shown
    assert (tmp_path / "out" / "recall_at_k.png").is_file()
    assert not (tmp_path / "out" / "accuracy_coverage.png").exists()


def test_qa_jsonl_over_index_dir(tmp_path: Path, fake_embedder, capsys) -> None:  # noqa: ANN001
    RAG(tmp_path / "index", embedder=fake_embedder).index_texts({"planets.txt": planets_text()})
    questions = write_qa_jsonl(tmp_path / "q.jsonl")
    args = ["--dataset", str(questions), "--index-dir", str(tmp_path / "index")]
    code, _, err = _eval(args, fake_embedder, tmp_path / "out", capsys)
    assert code == 0, err
    report = _report(tmp_path / "out")
    assert report["dataset"]["format"] == "qa-jsonl"
    assert report["metrics"]["recall@5"] is None
    assert report["counts"]["hybrid"]["unanswerable"] == 1
    assert report["config"]["index_dir"] == str(tmp_path / "index")


# --- --fail-under ----------------------------------------------------------------------------


def test_fail_under_passes_and_fails(tmp_path: Path, fake_embedder, capsys) -> None:  # noqa: ANN001
    squad = str(write_squad(tmp_path / "tiny.json"))
    args = ["--dataset", squad, "--fail-under", "recall@100=0.99", "quote_validity=1"]
    code, _, err = _eval(args, fake_embedder, tmp_path / "ok", capsys)
    assert code == 0 and "FAIL" not in err
    args = ["--dataset", squad, "--fail-under", "recall@100=0.5", "f1=1.01", "em=1.5"]
    code, _, err = _eval(args, fake_embedder, tmp_path / "bad", capsys)
    assert code == 1
    fails = [line for line in err.splitlines() if line.startswith("FAIL")]
    assert len(fails) == 2 and fails[0].startswith("FAIL f1 = ") and "< 1.01" in fails[0]
    assert (tmp_path / "bad" / "report.json").is_file()  # the report is written either way


def test_fail_under_on_a_metric_the_dataset_lacks(tmp_path: Path, fake_embedder, capsys) -> None:  # noqa: ANN001
    beir = str(write_beir(tmp_path / "beir"))
    code, _, err = _eval(
        ["--dataset", beir, "--fail-under", "f1=0.1"], fake_embedder, tmp_path / "o", capsys
    )
    assert code == 1 and "FAIL f1: not measured on this dataset" in err


def test_parse_gates() -> None:
    assert parse_gates(["recall@5=0.8", "f1=0.3"]) == {"recall@5": 0.8, "f1": 0.3}
    with pytest.raises(InvalidInputError, match="unknown metric 'recall@3'"):
        parse_gates(["recall@3=0.5"])
    with pytest.raises(InvalidInputError, match="METRIC=VALUE"):
        parse_gates(["f1"])
    with pytest.raises(InvalidInputError, match="not a number"):
        parse_gates(["f1=high"])
    with pytest.raises(InvalidInputError, match="lower-is-better"):
        parse_gates(["latency_ms_p95=100"])
    assert check_gates({"f1": 0.5, "em": None}, {"f1": 0.5}) == []
    assert len(check_gates({"f1": 0.49, "em": None}, {"f1": 0.5, "em": 0.1})) == 2


# --- bad input: one clear line, exit 1, no traceback -----------------------------------------


@pytest.mark.parametrize(
    ("make", "extra", "message"),
    [
        (lambda d: d / "missing.json", [], "no such file or directory"),
        (lambda d: write_squad(d / "s.json"), ["--format", "csv"], "unknown dataset format"),
        (lambda d: _write(d / "e.jsonl", "# nothing\n"), [], "holds no questions"),
        (
            lambda d: _write(d / "bad.jsonl", '{"id": 1, "question": "q", "answers": []}\n{oops\n'),
            [],
            "bad.jsonl:2: invalid JSON",
        ),
        (lambda d: _write(d / "x.txt", "hello"), [], "cannot tell the dataset format"),
        (lambda d: write_squad(d / "s.json"), ["--fail-under", "nope=1"], "unknown metric"),
        (lambda d: write_squad(d / "s.json"), ["--mode", "fuzzy"], "invalid choice"),
        (lambda d: write_squad(d / "s.json"), ["--sample", "0"], "positive integer"),
        (
            lambda d: write_squad(d / "s.json"),
            ["--index-dir", "some-index"],
            "--index-dir is for qa-jsonl",
        ),
    ],
)
def test_bad_input(tmp_path: Path, fake_embedder, capsys, make, extra, message) -> None:  # noqa: ANN001
    path = make(tmp_path)
    code, _, err = _eval(["--dataset", str(path), *extra], fake_embedder, tmp_path / "o", capsys)
    assert code == 1
    assert err.startswith("error: ") and message in err
    assert "Traceback" not in err


def test_unwritable_out_fails_before_the_run(tmp_path: Path, fake_embedder, capsys) -> None:  # noqa: ANN001
    blocker = tmp_path / "file"
    blocker.write_text("x")
    squad = write_squad(tmp_path / "s.json")
    code, _, err = _eval(["--dataset", str(squad)], fake_embedder, blocker / "out", capsys)
    assert code == 1 and "cannot create the output directory" in err


def test_missing_dataset_argument(capsys) -> None:  # noqa: ANN001
    assert main([]) == 1
    assert "--dataset" in capsys.readouterr().err


def test_help_exits_zero(capsys) -> None:  # noqa: ANN001
    assert main(["--help"]) == 0
    assert "--fail-under" in capsys.readouterr().out


def test_rag_eval_reaches_the_harness(tmp_path: Path, capsys) -> None:  # noqa: ANN001
    from rag.cli import main as rag_main

    for prefix in ([], ["--"]):
        code = rag_main(["eval", *prefix, "--dataset", str(tmp_path / "missing.json")])
        assert code == 1 and "no such file" in capsys.readouterr().err


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_a_milvus_store_gives_the_directory_stores_figures(
    tmp_path: Path,
    fake_embedder,
    capsys,  # noqa: ANN001
) -> None:
    squad = write_squad(tmp_path / "tiny.json")
    args = ["--dataset", str(squad), "--compare"]
    assert _eval(args, fake_embedder, tmp_path / "dir", capsys)[0] == 0
    store = f"milvus://{tmp_path}/eval.db"
    code, _, err = _eval([*args, "--store", store], fake_embedder, tmp_path / "milvus", capsys)
    assert code == 0, err
    directory, milvus = _report(tmp_path / "dir"), _report(tmp_path / "milvus")
    assert milvus["config"]["store"] == store
    for mode, run in directory["runs"].items():
        found = {k: v for k, v in milvus["runs"][mode].items() if not k.startswith("latency")}
        assert found == {k: v for k, v in run.items() if not k.startswith("latency")}, mode
    again = _eval([*args, "--store", store], fake_embedder, tmp_path / "again", capsys)
    assert again[0] == 0 and _report(tmp_path / "again")["index"] == milvus["index"]  # replaced
    code, _, err = _eval(
        [*args, "--store", str(tmp_path / "x")], fake_embedder, tmp_path / "o", capsys
    )
    assert code == 1 and "milvus://" in err


def test_compare_runs_plots_both_runs_curves_in_one_figure(
    tmp_path: Path,
    fake_embedder,  # noqa: ANN001
    capsys,  # noqa: ANN001
) -> None:
    from eval import compare_runs

    squad = str(write_squad(tmp_path / "tiny.json"))
    for name, mode in (("a", "hybrid"), ("b", "bm25")):
        assert (
            _eval(["--dataset", squad, "--mode", mode], fake_embedder, tmp_path / name, capsys)[0]
            == 0
        )
    reports = [_report(tmp_path / name) for name in ("a", "b")]
    curves = compare_runs._curves(reports, ("scorer", "other"))
    assert list(curves) == ["scorer (hybrid)", "other (bm25)"]
    for (label, run), report in zip(curves.items(), reports):
        mode = label.split("(")[1].rstrip(")")
        assert run.abstention_curve == [
            tuple(p) for p in report["curves"]["accuracy_coverage"][mode]
        ]
        assert run.operating_point == report["operating_points"][mode]

    plot = tmp_path / "both.png"
    compare_runs.main([str(tmp_path / "a"), str(tmp_path / "b"), "--plot", str(plot)])
    out = capsys.readouterr().out
    assert plot.read_bytes().startswith(b"\x89PNG") and f"wrote {plot}" in out
    assert "AUROC of the confidence, answerable vs not, a: hybrid" in out

    rows = [json.loads(line) for line in (tmp_path / "a" / "predictions.jsonl").open()]
    confidences = sorted({r["confidence"] for r in rows})
    assert len(confidences) > 2
    middle = round(
        (confidences[len(confidences) // 2 - 1] + confidences[len(confidences) // 2]) / 2, 2
    )
    has = [r["confidence"] >= middle for r in rows if r["answerable"]]
    no = [r["confidence"] < middle for r in rows if not r["answerable"]]
    compare_runs.main(
        [str(tmp_path / "a"), str(tmp_path / "b"), "--at", str(middle), "--labels", "A", "B"]
    )
    lines = capsys.readouterr().out.splitlines()
    expected = (
        f"  at {middle:.2f}: hybrid answerable answered {sum(has) / len(has):.3f}, "
        f"unanswerable abstained {sum(no) / len(no):.3f}"
    )
    assert (
        lines[lines.index(next(x for x in lines if x.startswith("AUROC") and " A: " in x)) + 1]
        == expected
    )
    from sklearn.metrics import roc_auc_score

    auroc = roc_auc_score([r["answerable"] for r in rows], [r["confidence"] for r in rows])
    assert f"AUROC of the confidence, answerable vs not, A: hybrid {auroc:.3f}" in lines
