"""Page furniture: running heads and footers, page numbers and words hyphenated across lines are
gone before chunking, while every citation still names its page; fragments such as a back-page
advertisement's list of cities are never offered as an answer or as related reading."""

from __future__ import annotations

import pytest

from rag.clean import clean_text
from rag.ingest import read_document
from rag.pipeline import RAG

try:  # tests/rag is on sys.path when it is not a package
    from pdf_fixtures import text_pdf
except ImportError:  # pragma: no cover - tests laid out as packages
    from tests.rag.pdf_fixtures import text_pdf

HEADER = "ACME Orchard Society - Annual Report 2024"
BODY = [
    ["The society met four times this year. Its members planted sixty new trees along the",
     "river and restored the old cider press, which had not been used since the war."],
    ["The pear harvest reached nine tonnes, the largest since the founding of the",
     "society. Most of it was sold at the autumn market in the town square."],
    ["The apple harvest was smaller: three tonnes, after a late frost in April dam-",
     "aged the blossom. The committee decided to plant frost-resistant varieties."],
    ["Next year the society will open a small museum of orchard tools in the old",
     "barn. Volunteers are welcome every Saturday morning."],
]  # fmt: skip
FURNITURE = (HEADER, "Page", "Confidential - for members only")


def report_pages() -> list[list[str]]:
    return [
        [HEADER, "", *body, "", "Confidential - for members only", f"Page {n} of {len(BODY)}"]
        for n, body in enumerate(BODY, start=1)
    ]


def test_running_heads_footers_and_page_numbers_are_removed() -> None:
    raw = "\f".join("\n".join(page) for page in report_pages())
    cleaned = clean_text(raw, markdown=False)
    for furniture in FURNITURE:
        assert furniture not in cleaned.text
    assert "damaged the blossom" in cleaned.text  # joined across the line, hyphen gone
    assert "frost-resistant" in cleaned.text  # a compound within a line is left alone
    assert len(cleaned.page_starts) == 4


def test_lone_page_numbers_at_a_page_edge_go_but_numbers_in_the_text_stay() -> None:
    raw = "12\nThe treaty has 12 articles.\n\f- 13 -\nIt was signed in 1998.\nxiv"
    cleaned = clean_text(raw)
    assert cleaned.text == "The treaty has 12 articles.\n\nIt was signed in 1998."


def test_a_line_repeated_on_few_pages_is_not_furniture() -> None:
    pages = [["Introduction", f"Text of page {n}."] for n in range(6)]
    pages[0][0] = pages[1][0] = "Summary"  # on 2 of 6 pages: a heading, not a running head
    cleaned = clean_text("\f".join("\n\n".join(p) for p in pages))
    assert cleaned.text.count("Summary") == 2
    assert "Introduction" not in cleaned.text  # on 4 of 6 pages: a running head


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory, real_embedder):  # noqa: ANN001, ANN201
    folder = tmp_path_factory.mktemp("report")
    path = folder / "report.pdf"
    path.write_bytes(text_pdf(report_pages(), compress=True))
    rag = RAG(folder / "index", embedder=real_embedder)
    rag.index_paths([path])
    return rag, path


def test_a_real_pdf_is_indexed_without_furniture_and_cited_on_the_right_pages(report) -> None:  # noqa: ANN001
    rag, path = report
    document = read_document(path)
    assert document.page_count == 4
    for passage in rag.passages():
        for furniture in FURNITURE:
            assert furniture not in passage.text

    for question, page, expected in [
        ("How large was the pear harvest?", 2, "nine tonnes"),
        ("Why was the apple harvest smaller?", 3, "damaged the blossom"),
        ("When are volunteers welcome?", 4, "Saturday morning"),
    ]:
        answer = rag.ask(question)
        assert not answer.abstained, question
        first = answer.citations[0]
        assert expected in answer.answer and first.page == page, (question, first)


def test_city_list_fragments_are_never_quoted_or_offered(default_rag) -> None:  # noqa: ANN001
    """The bundled interview's back page holds an advertisement's list of cities."""
    for question in [
        "Which cities are listed?",
        "What happens in London, Tehran and Moscow?",
        "Tokyo Shanghai New York Mexico City",
        "What does the zorblat festival celebrate?",
    ]:
        for reader in (False, True):
            answer = default_rag.ask(question, reader=reader)
            shown = [c.quote for c in answer.citations] + [h.passage.text for h in answer.passages]
            for text in shown:
                assert "TEHRAN" not in text and "SHANGHAI" not in text, (question, text)
