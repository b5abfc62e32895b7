"""Parsing helpers shared by the dataset readers (SQuAD JSON, BEIR directory, qa-jsonl).

Reading a file as UTF-8 with its bytes for the checksum, pulling checked string fields and
answer texts out of JSON objects, iterating the objects of a JSONL file, and checking that a
dataset's questions are present and unique. Every problem is a ``DatasetError`` naming the file
(and the line or record) and what is wrong.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from eval.dataset_types import EvalQuestion
from rag.errors import DatasetError


def read_file(path: Path) -> tuple[bytes, str]:
    """The file's bytes (for the checksum) and its text."""
    if not path.is_file():
        raise DatasetError(f"{path}: no such file")
    try:
        data = path.read_bytes()
        return data, data.decode("utf-8-sig")
    except (OSError, UnicodeDecodeError) as e:
        raise DatasetError(f"{path}: cannot read as UTF-8 text: {e}") from e


def check_questions(path: Path, questions: list[EvalQuestion]) -> None:
    if not questions:
        raise DatasetError(f"{path}: the dataset holds no questions")
    seen: set[str] = set()
    for q in questions:
        if q.id in seen:
            raise DatasetError(f"{path}: question id {q.id!r} appears more than once")
        seen.add(q.id)


def str_field(obj: Any, key: str, where: str, *, allow_empty: bool = False) -> str:
    value = obj.get(key) if isinstance(obj, dict) else None
    if not isinstance(value, str) or (not allow_empty and not value.strip()):
        kind = "a string" if allow_empty else "a non-empty string"
        raise DatasetError(f"{where}: '{key}' must be {kind}")
    return value


def answer_texts(raw: Any, where: str) -> tuple[str, ...]:
    if not isinstance(raw, list):
        raise DatasetError(f"{where}: 'answers' must be a list")
    texts: list[str] = []
    for a in raw:
        text = a.get("text") if isinstance(a, dict) else a
        if not isinstance(text, str):
            raise DatasetError(f"{where}: each answer must be a string or have a 'text' string")
        if text not in texts:
            texts.append(text)
    return tuple(texts)


def json_lines(path: Path, text: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) of each non-blank, non-comment line; bad lines raise."""
    for lineno, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        try:
            obj = json.loads(stripped)
        except json.JSONDecodeError as e:
            raise DatasetError(f"{path}:{lineno}: invalid JSON: {e.msg}") from e
        if not isinstance(obj, dict):
            raise DatasetError(f"{path}:{lineno}: expected a JSON object")
        yield lineno, obj
