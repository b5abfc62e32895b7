"""Tiny datasets in each supported format, written into a test's temporary directory."""

from __future__ import annotations

import json
from pathlib import Path

# The Planets text has a double space and a zero-width space, which indexing cleans away, so the
# gold paragraph spans must be carried over by alignment rather than found by equality.
ARTICLES = {
    "Rivers": [
        "The Amazon River flows through Brazil and Peru. It carries more water than any other "
        "river in the world.",
        "The Nile is the longest river in Africa. Its waters were vital to ancient Egypt for "
        "farming along the banks.",
    ],
    "Planets": [
        "Mars is the fourth planet from the Sun.  It is often called the Red Planet because of "
        "iron oxide on its surface.",
        "Jupiter is the largest planet in the Solar System.\u200b It has a giant storm known as "
        "the Great Red Spot.",
        "Saturn is famous for its bright rings made of ice and rock. Saturn has more than eighty "
        "moons orbiting it.",
    ],
}
# (article, paragraph, question, answers); no answers means unanswerable.
QUESTIONS = [
    ("Rivers", 0, "Which river carries more water than any other river?", ["The Amazon River"]),
    ("Rivers", 1, "Which ancient land relied on the Nile waters for farming?", ["ancient Egypt"]),
    (
        "Planets",
        0,
        "Why is Mars called the Red Planet?",
        ["iron oxide", "iron oxide on its surface"],
    ),
    ("Planets", 1, "What giant storm does Jupiter have?", ["the Great Red Spot"]),
    ("Planets", 2, "What are the bright rings of Saturn made of?", ["ice and rock"]),
    ("Planets", 2, "How many moons orbit Saturn?", ["more than eighty"]),
    ("Planets", 0, "What is the population of the colony on Mars?", []),
    ("Rivers", 0, "Which bridge crosses the Amazon River in Peru?", []),
]


def write_squad(path: Path) -> Path:
    """A SQuAD v2.0 file with the articles and questions above."""
    data = []
    n = 0
    for title, contexts in ARTICLES.items():
        paragraphs = []
        for j, context in enumerate(contexts):
            qas = []
            for article, para, question, answers in QUESTIONS:
                if article != title or para != j:
                    continue
                n += 1
                qas.append(
                    {
                        "id": f"q{n}",
                        "question": question,
                        "answers": [{"text": a, "answer_start": context.index(a)} for a in answers],
                        "is_impossible": not answers,
                    }
                )
            paragraphs.append({"context": context, "qas": qas})
        data.append({"title": title, "paragraphs": paragraphs})
    path.write_text(json.dumps({"version": "v2.0", "data": data}), encoding="utf-8")
    return path


BEIR_CORPUS = [
    {"_id": "d1", "title": "Wing flutter", "text": "Flutter of a swept wing at high speed."},
    {"_id": "d2", "title": "Heat transfer", "text": "Heat conduction in composite slabs."},
    {"_id": "d3", "title": "boundary layer", "text": "boundary layer separation on a flat plate."},
    {"_id": "d4", "title": "", "text": "  "},
    {"_id": "d5", "title": "", "text": "Shock waves ahead of a blunt body in supersonic flow."},
]
BEIR_QUERIES = [
    {"_id": "1", "text": "what causes flutter of a swept wing"},
    {"_id": "2", "text": "heat conduction in composite slabs"},
    {"_id": "3", "text": "shock waves in supersonic flow ahead of blunt bodies"},
]
BEIR_QRELS = [("1", "d1", 2), ("2", "d2", 1), ("2", "d3", 0), ("3", "d5", 1), ("3", "d1", 1)]


def write_beir(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    lines = "\n".join(json.dumps(d) for d in BEIR_CORPUS) + "\n"
    (directory / "corpus.jsonl").write_text(lines, encoding="utf-8")
    lines = "\n".join(json.dumps(q) for q in BEIR_QUERIES) + "\n"
    (directory / "queries.jsonl").write_text(lines, encoding="utf-8")
    rows = ["query-id\tcorpus-id\tscore"] + [f"{q}\t{d}\t{s}" for q, d, s in BEIR_QRELS]
    (directory / "qrels.tsv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return directory


def planets_text() -> str:
    return "\n\n".join(ARTICLES["Planets"])


def write_qa_jsonl(path: Path) -> Path:
    """Questions over an index of the Planets article; the last must be abstained."""
    rows = [
        {
            "id": "a",
            "question": "What giant storm does Jupiter have?",
            "answers": ["Great Red Spot"],
        },
        {
            "id": "b",
            "question": "What are the rings of Saturn made of?",
            "answers": ["ice and rock"],
        },
        {"id": 3, "question": "Who painted the Mona Lisa?", "answers": []},
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return path
