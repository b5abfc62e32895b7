"""A writer or a reader process on one Milvus collection, for tests/index/test_milvus.py.

    python -m tests.index.milvus_worker write ADDRESS ROUNDS
    python -m tests.index.milvus_worker read ADDRESS ROUNDS

The writer replaces and removes documents of its own; a reader asks about documents nobody
changes and prints, as one JSON line, every answer's cited passages and any failure.
"""

from __future__ import annotations

import json
import sys

from rag.pipeline import RAG
from tests.conftest import FakeEmbedder

STABLE_QUESTION = "What did Russia and China present about weapons in outer space?"


def write(address: str, rounds: int) -> None:
    rag = RAG(address, embedder=FakeEmbedder())
    for i in range(rounds):
        rag.index_texts({"churn.txt": f"Lorem ipsum dolor, round {i}, sit amet consectetur."})
        rag.index_texts({f"extra-{i}.txt": f"Adipiscing elit sed do eiusmod, number {i}."})
        if i % 2:
            rag.remove([f"extra-{i - 1}.txt"])


def read(address: str, rounds: int) -> dict[str, object]:
    rag = RAG(address, embedder=FakeEmbedder())
    cited: set[tuple[str, ...]] = set()
    failures: list[str] = []
    for _ in range(rounds):
        try:
            answer = rag.ask(STABLE_QUESTION, strictness=0.0)
            for c in answer.citations:
                document = rag.store.document(rag.store.passage(c.passage_id).doc_id)
                if document is None or document.text[c.start : c.end] != c.quote:
                    failures.append(f"citation not verbatim: {c}")
            cited.add(tuple(c.passage_id for c in answer.citations))
            rag.search("lorem ipsum adipiscing", 3)
        except Exception as e:  # noqa: BLE001 - reported to the test
            failures.append(f"{type(e).__name__}: {e}")
    return {"cited": sorted(cited), "failures": failures}


if __name__ == "__main__":
    role, address, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
    if role == "write":
        write(address, rounds)
    else:
        print(json.dumps(read(address, rounds)))
