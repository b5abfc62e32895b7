"""``rag calibrate``: the bound, the choice of threshold, the refusal when there are too few
probes, and a run on a generated probe set whose threshold ask, serve and the library then use."""

from __future__ import annotations

import io
import json
import random
from pathlib import Path

import pytest

from rag import calibration
from rag.calibration import Probe, Row, choose, probes_needed, read_probes, upper_bound
from rag.cli import main
from rag.errors import DatasetError
from rag.pipeline import RAG


def test_the_clopper_pearson_bound() -> None:
    assert upper_bound(0, 29, 0.05) == pytest.approx(1 - 0.05 ** (1 / 29))  # no error: closed form
    assert upper_bound(0, 28, 0.05) > 0.1 > upper_bound(0, 29, 0.05)
    assert upper_bound(3, 100, 0.05) == pytest.approx(0.0757, abs=1e-3)  # binomial tables
    assert upper_bound(0, 0, 0.05) == 1.0 and upper_bound(5, 5, 0.05) == 1.0
    assert probes_needed(0.1, 0.05) == 29


def test_the_search_stops_at_the_first_threshold_over_the_bound() -> None:
    def row(t: float, answered: int, wrong: int) -> Row:
        return Row(t, answered, wrong, upper_bound(wrong, answered, 0.05))

    rows = [row(0.9, 10, 0), row(0.8, 40, 0), row(0.7, 60, 1), row(0.5, 70, 12), row(0.3, 400, 5)]
    chosen = choose(rows, 0.1, 0.05)
    assert chosen is not None and chosen.threshold == 0.7  # 0.3 passes too, but after a failure
    assert choose(rows[:1], 0.1, 0.05) is None  # too few answered to test at all


def test_probe_lines_are_checked_with_their_line_number(tmp_path: Path) -> None:
    path = tmp_path / "probe.jsonl"
    path.write_text(
        '{"question": "Q?", "answer": "A"}\n\n{"question": "R?", "answerable": false}\n'
    )
    assert read_probes(path) == [Probe("Q?", "A"), Probe("R?", None)]
    path.write_text('{"question": "Q?", "answer": "A"}\n{"question": "R?"}\n')
    with pytest.raises(DatasetError, match=r"probe.jsonl:2: needs \"answer\""):
        read_probes(path)
    path.write_text("not json\n")
    with pytest.raises(DatasetError, match=r"probe.jsonl:1: not JSON"):
        read_probes(path)


SYLLABLES = "ka lo mi ra ven tor sel dun bri zo pha quel mor tis gal ner".split()
MONTHS = "January March May July September November".split()


@pytest.fixture(scope="module")
def festivals(tmp_path_factory: pytest.TempPathFactory, real_embedder):  # noqa: ANN001, ANN201
    """45 made-up festivals, each in its own file; 45 answerable and 20 unanswerable probes."""
    rng = random.Random(5)
    names: set[str] = set()

    def name() -> str:
        while (made := "".join(rng.choice(SYLLABLES) for _ in range(3)).capitalize()) in names:
            pass
        names.add(made)
        return made

    root = tmp_path_factory.mktemp("festivals")
    (root / "docs").mkdir()
    probes = []
    for _ in range(45):
        festival, town = name(), name() + "by"
        (root / "docs" / f"{festival.lower()}.txt").write_text(
            f"The {festival} festival is held every year in {town} on {rng.randint(1, 28)} "
            f"{rng.choice(MONTHS)}. It draws about {rng.randint(2, 90) * 100} visitors.\n"
        )
        probes.append({"question": f"Where is the {festival} festival held?", "answer": town})
    for _ in range(20):
        probes.append({"question": f"Where is the {name()} festival held?", "answerable": False})
    rng.shuffle(probes)
    (root / "probes.jsonl").write_text("".join(json.dumps(p) + "\n" for p in probes))
    rag_ = RAG(root / "index", embedder=real_embedder)
    rag_.index_paths([root / "docs"])
    return rag_, root / "probes.jsonl"


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(list(argv), out=out), out.getvalue()


def test_calibrating_on_probes_stores_a_threshold_that_ask_then_uses(
    festivals,
    monkeypatch: pytest.MonkeyPatch,  # noqa: ANN001
) -> None:
    rag_, probes = festivals
    monkeypatch.setattr("rag.cli.open_index", lambda *a, **k: rag_)
    fitted = rag_.threshold(reader=False)
    assert rag_.calibrated_threshold(reader=False) is None

    code, out = run("calibrate", "--questions", str(probes), "--no-reader")

    assert code == 0, out
    assert "<- chosen" in out and "With 95% confidence, at most 10% of the answers" in out
    stored = calibration.load_thresholds(rag_.index_dir)["sentence scorer"]
    assert stored.probes == 65 and stored.upper_bound <= 0.1 and stored.answered >= 29
    assert rag_.calibrated_threshold(reader=False) == stored.threshold != fitted
    assert rag_.threshold(reader=False) == stored.threshold
    assert rag_.calibrated_threshold(reader=True) is None  # the reader was not calibrated
    answer = rag_.ask("Where is the Kaloven festival held?", reader=False, explain=True)
    assert answer.explanation.threshold == stored.threshold  # ask uses it by default
    # Every probe answered at the stored threshold is right at the promised rate, or better.
    lines = [json.loads(line) for line in probes.read_text().splitlines()]
    answered = [p for p in lines if not rag_.ask(p["question"], reader=False).abstained]
    wrong = [p for p in answered if "answer" not in p]
    assert len(answered) == stored.answered and len(wrong) == stored.wrong


def test_too_few_probes_are_refused_and_change_nothing(
    festivals,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys,  # noqa: ANN001
) -> None:
    rag_, probes = festivals
    monkeypatch.setattr("rag.cli.open_index", lambda *a, **k: rag_)
    few = tmp_path / "few.jsonl"
    few.write_text("".join(probes.read_text().splitlines(keepends=True)[:8]))
    before = calibration.calibration_path(rag_.index_dir)
    saved = before.read_bytes() if before.exists() else None

    code, _ = run("calibrate", "--questions", str(few), "--reader")

    assert code == 1
    err = capsys.readouterr().err
    assert "too few probe questions" in err and "at least 29 answered probes" in err
    assert "Nothing was changed" in err
    assert (before.read_bytes() if before.exists() else None) == saved
