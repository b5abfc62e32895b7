"""Calibrate the abstention threshold on the operator's own probe questions, with a guarantee.

Each probe question is asked once with the threshold at zero, which gives its best candidate
answer and that answer's confidence; whether the candidate is right is known from the probe
(the expected text inside the quote, or no answer at all for an unanswerable question). A
threshold then answers exactly the probes whose confidence reaches it.

The threshold is chosen by fixed-sequence testing (as in "Learn then Test", Angelopoulos et al.,
2021): thresholds are tried from the strictest down, starting at the first that answers enough
probes for the bound to be reachable at all (``probes_needed``: 29 for the defaults), and each
must keep the one-sided Clopper–Pearson upper bound on the wrong-answer rate among answered
probes at or below ``alpha`` at confidence ``1 - delta``; the first that fails stops the search,
and the last that passed is kept. Stopping at the first failure, instead of taking the laxest
threshold that happens to pass, keeps the guarantee close to holding for the threshold chosen and
not only for one fixed in advance (the starting point depends on the confidences, not on which
answers are right). The guarantee covers questions drawn like the probes.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from rag.errors import DatasetError, IndexCorruptError
from rag.types import Answer

CALIBRATION_FILE = "calibration.json"
DEFAULT_ALPHA = 0.1
DEFAULT_DELTA = 0.05


@dataclass(frozen=True)
class Probe:
    """One probe line: a question and its expected answer text, or None when unanswerable."""

    question: str
    expected: str | None


@dataclass(frozen=True)
class Outcome:
    """A probe's best candidate: its confidence and whether answering with it is right."""

    probe: Probe
    confidence: float
    has_candidate: bool
    correct: bool


@dataclass(frozen=True)
class Row:
    """One threshold: how many probes it answers, how many of those wrongly, and the bound."""

    threshold: float
    answered: int
    wrong: int
    upper_bound: float

    def coverage(self, total: int) -> float:
        return self.answered / total if total else 0.0


@dataclass(frozen=True)
class Calibration:
    """A chosen threshold and the evidence for it, as stored with the index."""

    method: str
    threshold: float
    alpha: float
    delta: float
    probes: int
    answered: int
    wrong: int
    upper_bound: float
    probes_sha256: str
    created: str

    def guarantee(self) -> str:
        """The guarantee in words."""
        return (
            f"With {1 - self.delta:.0%} confidence, at most {self.alpha:.0%} of the answers "
            f"given at threshold {self.threshold:.3f} are wrong, for questions like the "
            f"{self.probes} probes ({self.wrong} of {self.answered} answered probes were "
            f"wrong; upper bound {self.upper_bound:.3f})."
        )


def read_probes(path: Path) -> list[Probe]:
    """Probe lines: ``{"question": ..., "answer": "expected text"}`` or
    ``{"question": ..., "answerable": false}``.

    Raises:
        DatasetError: The file is missing or a line is not a probe; the message names the line.
    """
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise DatasetError(f"cannot read probe questions from {path}: {e}") from e
    probes = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as e:
            raise DatasetError(f"{path}:{number}: not JSON ({e.msg})") from e
        question = data.get("question") if isinstance(data, dict) else None
        if not isinstance(question, str) or not question.strip():
            raise DatasetError(f'{path}:{number}: needs a "question" string')
        answer = data.get("answer")
        if data.get("answerable") is False and answer is None:
            probes.append(Probe(question, None))
        elif isinstance(answer, str) and answer.strip():
            probes.append(Probe(question, answer))
        else:
            raise DatasetError(
                f'{path}:{number}: needs "answer" (the expected text) or "answerable": false'
            )
    if not probes:
        raise DatasetError(f"{path} holds no probe questions")
    return probes


def evaluate(ask: Callable[[str], Answer], probes: Sequence[Probe]) -> list[Outcome]:
    """Each probe's best candidate, from ``ask(question)`` run with the threshold at zero."""
    outcomes = []
    for probe in probes:
        answer = ask(probe.question)
        candidate = not answer.abstained
        outcomes.append(
            Outcome(
                probe, answer.confidence, candidate, candidate and is_correct(probe, answer.answer)
            )
        )
    return outcomes


def is_correct(probe: Probe, quote: str | None) -> bool:
    """An answer is right when the probe expects one and the quote holds the expected text
    (case and spacing aside); any answer to an unanswerable probe is wrong."""
    if quote is None or probe.expected is None:
        return False
    return _normal(probe.expected) in _normal(quote)


def upper_bound(wrong: int, answered: int, delta: float) -> float:
    """One-sided Clopper–Pearson upper confidence bound (level ``1 - delta``) on a rate."""
    if answered == 0 or wrong >= answered:
        return 1.0
    from scipy.stats import beta

    return float(beta.ppf(1 - delta, wrong + 1, answered - wrong))


def probes_needed(alpha: float, delta: float) -> int:
    """Answered probes needed for the bound to reach ``alpha`` even with no wrong answer."""
    return math.ceil(math.log(delta) / math.log(1 - alpha))


def table(outcomes: Sequence[Outcome], delta: float) -> list[Row]:
    """One row per distinct candidate confidence, strictest first."""
    candidates = [o for o in outcomes if o.has_candidate]
    rows = []
    for threshold in sorted({o.confidence for o in candidates}, reverse=True):
        answered = [o for o in candidates if o.confidence >= threshold]
        wrong = sum(not o.correct for o in answered)
        rows.append(Row(threshold, len(answered), wrong, upper_bound(wrong, len(answered), delta)))
    return rows


def choose(rows: Sequence[Row], alpha: float, delta: float) -> Row | None:
    """The lowest threshold reached, going down from the strictest that answers enough probes
    to possibly meet the bound, before the bound first exceeds ``alpha``."""
    chosen = None
    for row in rows:
        if row.answered < probes_needed(alpha, delta):
            continue  # cannot meet the bound even with no wrong answer: not a test yet
        if row.upper_bound > alpha:
            break
        chosen = row
    return chosen


def calibration_path(index_dir: Path) -> Path:
    return Path(index_dir) / CALIBRATION_FILE


def load_thresholds(index_dir: Path) -> dict[str, Calibration]:
    """The calibrations stored with an index, by answering method (empty when none). Read again
    only when the file changed: ``ask`` looks here for every question.

    Raises:
        IndexCorruptError: The file exists but cannot be read.
    """
    path = calibration_path(index_dir)
    try:
        stat = path.stat()
    except FileNotFoundError:
        return {}
    except OSError as e:
        raise IndexCorruptError(f"cannot read {path} ({e.strerror or e})") from e
    return dict(_parsed(path, stat.st_mtime_ns, stat.st_size))


@functools.lru_cache(maxsize=16)
def _parsed(path: Path, mtime_ns: int, size: int) -> tuple[tuple[str, Calibration], ...]:
    """The file's calibrations; the cache key holds its stat, so a changed file is read again."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return tuple((method, Calibration(**entry)) for method, entry in data.items())
    except (OSError, ValueError, TypeError, AttributeError) as e:
        raise IndexCorruptError(
            f"{path} is damaged ({e}); delete it or run `rag calibrate` again"
        ) from e


def store(index_dir: Path, calibration: Calibration) -> Path:
    """Keep ``calibration`` with the index (atomically), beside any of the other method."""
    path = calibration_path(index_dir)
    entries = {m: asdict(c) for m, c in load_thresholds(index_dir).items()}
    entries[calibration.method] = asdict(calibration)
    temporary = path.with_name(f".{CALIBRATION_FILE}.{os.getpid()}")
    temporary.write_text(json.dumps(entries, indent=2) + "\n", encoding="utf-8")
    os.replace(temporary, path)
    return path


def make(method: str, row: Row, alpha: float, delta: float, probes: Sequence[Probe]) -> Calibration:
    digest = hashlib.sha256(
        "\n".join(json.dumps(asdict(p), sort_keys=True) for p in probes).encode("utf-8")
    ).hexdigest()
    return Calibration(
        method=method,
        threshold=row.threshold,
        alpha=alpha,
        delta=delta,
        probes=len(probes),
        answered=row.answered,
        wrong=row.wrong,
        upper_bound=row.upper_bound,
        probes_sha256=digest,
        created=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    )


def as_json(rows: Sequence[Row], total: int) -> list[dict[str, Any]]:
    return [
        {
            **asdict(r),
            "coverage": round(r.coverage(total), 4),
            "upper_bound": round(r.upper_bound, 4),
        }
        for r in rows
    ]


def refusal(outcomes: Sequence[Outcome], rows: Sequence[Row], alpha: float, delta: float) -> str:
    """Why no threshold can be guaranteed, and what would make one possible."""
    needed = probes_needed(alpha, delta)
    right = sum(o.correct for o in outcomes)
    if right < needed:
        return (
            f"too few probe questions for the guarantee: at level {1 - delta:.0%}, the bound "
            f"reaches {alpha:.0%} only with at least {needed} answered probes and none wrong, "
            f"and only {right} of your {len(outcomes)} probes were answered right; add at least "
            f"{needed - right} more answerable probes. Nothing was changed."
        )
    first = next((r for r in rows if r.answered >= needed), None)  # the first one tested
    wrong = (
        f" (at threshold {first.threshold:.3f}, {first.wrong} of {first.answered} answered were "
        f"wrong: bound {first.upper_bound:.3f})"
        if first
        else ""
    )
    return (
        f"no threshold keeps wrong answers under {alpha:.0%} at level {1 - delta:.0%} on these "
        f"probes{wrong}: the documents or the questions need work, or choose a larger --alpha. "
        "Nothing was changed."
    )


def _normal(text: str) -> str:
    return " ".join(text.casefold().split())
