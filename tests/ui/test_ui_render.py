"""The HTML helpers: escaping, offset highlighting, answers, abstentions and the source viewer."""

from __future__ import annotations

import html
import re

from hypothesis import given
from hypothesis import strategies as st

from rag.types import Answer, Citation, Document, Explanation, Hit, Passage, PassageTrace
from ui import render, render_documents
from ui.render import Exchange, Span, escape_text, highlight

HOSTILE = (
    '<script>window.__pwned=1</script> <img src=x onerror="window.__pwned=1"> '
    "[click](javascript:window.__pwned=1) ${alert(1)} {{constructor}} `code` *bold* $$x$$"
)
# What must never appear raw in rendered document text: markup, Markdown link syntax, templates.
RAW_ACTIVE = re.compile(r"[<>\"'\[\]()`$*{}]|javascript:")


def doc(text: str, *, title: str = "notes.txt", pages: tuple[int, ...] = (0,)) -> Document:
    return Document(id="d1", source=f"/tmp/{title}", title=title, text=text, page_starts=pages)


def passage(document: Document, start: int, end: int, pid: str) -> Passage:
    return Passage(
        id=pid,
        doc_id=document.id,
        source=document.source,
        title=document.title,
        text=document.text[start:end],
        start=start,
        end=end,
        page=document.page_at(start),
    )


def cite(document: Document, n: int, start: int, end: int, pid: str) -> Citation:
    return Citation(
        n=n,
        source=document.source,
        title=document.title,
        page=document.page_at(start),
        passage_id=pid,
        start=start,
        end=end,
        quote=document.text[start:end],
    )


TEXT = (
    "The interview was taken on March 27, 2008. It lasted an hour.\n\n"
    "Russia and China presented the draft treaty. " + HOSTILE + "\n\nLast paragraph."
)
DOC = doc(TEXT, pages=(0, TEXT.index("Russia")))  # the second paragraph opens page 2
P1 = passage(DOC, 0, 61, "p1")
P2 = passage(DOC, 63, TEXT.index("\n\nLast"), "p2")
P3 = passage(DOC, TEXT.index("Last"), len(TEXT), "p3")


def answered(**changes: object) -> Answer:
    c1 = cite(DOC, 1, 0, 42, "p1")
    c2 = cite(DOC, 2, P2.start, P2.end, "p2")
    date = TEXT.index("March 27, 2008")
    fields = dict(
        question="When was the interview taken?",
        answer=c1.quote + " " + c2.quote,
        short_answer="March 27, 2008",
        abstained=False,
        confidence=0.9731,
        citations=(c1, c2),
        passages=(Hit(P1, 1.0, 1), Hit(P2, 0.5, 2)),
        short_answer_span=(date, date + len("March 27, 2008")),
    )
    fields.update(changes)
    return Answer(**fields)  # type: ignore[arg-type]


def visible_text(fragment: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", fragment))


# ----------------------------------------------------------------------------- escaping
def test_escape_text_makes_hostile_text_inert_and_reads_the_same() -> None:
    out = escape_text(HOSTILE)
    assert not RAW_ACTIVE.search(out)
    assert html.unescape(out) == HOSTILE


@given(st.text())
def test_escape_text_round_trips_any_text(text: str) -> None:
    out = escape_text(text)
    assert html.unescape(out) == text
    assert not RAW_ACTIVE.search(out)


# --------------------------------------------------------------------------- highlighting
def test_highlight_wraps_absolute_offsets_with_nesting() -> None:
    # "abcdef" starts at document offset 10: mark 12..15 ("cde"), bold 13..14 ("d") inside it.
    out = highlight("abcdef", 10, [Span(12, 15), Span(13, 14, tag="strong")])
    assert out == "ab<mark>c</mark><mark><strong>d</strong></mark><mark>e</mark>f"


def test_highlight_clips_spans_to_the_text_and_drops_empty_ones() -> None:
    assert highlight("abc", 10, [Span(0, 11), Span(12, 99), Span(11, 11)]) == (
        "<mark>a</mark>b<mark>c</mark>"
    )
    assert highlight("abc", 10, [Span(20, 30)]) == "abc"


def test_highlight_escapes_the_text_inside_and_outside_spans() -> None:
    out = highlight("<b>x</b>", 0, [Span(3, 4)])
    assert out == "&#60;b&#62;<mark>x</mark>&#60;/b&#62;"


# ------------------------------------------------------------------------------- answers
def test_answer_shows_quotes_markers_short_answer_confidence_and_citations() -> None:
    out = render.render_answer(answered(), 3, threshold=0.5)
    assert 'data-turn="3" data-cite="1"' in out and 'data-cite="2"' in out
    assert ">[1]</button>" in out and ">[2]</button>" in out
    assert '<strong class="rq-short">March 27, 2008</strong>' in out
    quote = re.search(r'<blockquote class="rq-quote">(.*?)</blockquote>', out).group(1)
    assert "The interview was taken on" in visible_text(quote)
    assert "Confidence 0.97" in out
    assert "[1] notes.txt, p.\xa01" in visible_text(out)
    assert "[2] notes.txt, p.\xa02" in visible_text(out)


def test_answer_renders_hostile_quotes_as_text() -> None:
    out = render.render_answer(answered(), 0, threshold=0.5)
    assert "<script" not in out and "<img" not in out and "javascript:" not in out
    assert HOSTILE in visible_text(out)


def test_answer_shows_scores_only_when_asked() -> None:
    assert "Retrieval scores" not in render.render_answer(answered(), 0, threshold=0.5)
    scored = render.render_answer(answered(), 0, threshold=0.5, show_scores=True)
    assert "Retrieval scores" in scored and "1.000" in scored and "0.500" in scored


def test_answer_shows_the_librarys_warnings() -> None:
    out = render.render_answer(answered(warnings=("only the first 1,000 were used",)), 0,
                               threshold=0.5)  # fmt: skip
    assert "only the first 1,000 were used" in out


def test_abstention_says_so_and_offers_related_passages() -> None:
    abstained = answered(
        answer=None, short_answer=None, abstained=True, confidence=0.12, citations=(),
        short_answer_span=None,
    )  # fmt: skip
    out = render.render_answer(abstained, 1, threshold=0.5)
    text = visible_text(out)
    assert "The documents don't answer this question." in text
    assert "0.12 is below the threshold 0.50" in text
    assert 'data-turn="1" data-passage="p1"' in out and 'data-passage="p2"' in out
    assert "data-cite" not in out and "rq-quote" not in out
    assert "<script" not in out and "javascript:" not in out


def test_transcript_empty_state_offers_clickable_examples() -> None:
    out = render.render_transcript([], ["When was it?", "Who <b>?"])
    assert 'data-example="0"' in out and 'data-example="1"' in out
    assert "Who &#60;b&#62;?" in out
    assert "rq-turn" not in out


def test_transcript_numbers_turns_and_escapes_questions() -> None:
    first = answered(question="<i>first</i>")
    out = render.render_transcript([Exchange(first, 0.5), Exchange(answered(), 0.5)])
    assert out.count('class="rq-turn"') == 2
    assert 'data-turn="1" data-cite="1"' in out
    assert "&#60;i&#62;first&#60;/i&#62;" in out


def test_a_stale_citation_is_flagged_and_its_warning_is_a_banner() -> None:
    import dataclasses

    fresh = answered()
    c1 = dataclasses.replace(fresh.citations[0], line_start=3, line_end=4)
    c2 = dataclasses.replace(fresh.citations[1], stale=True)
    warning = "notes.txt changed since it was indexed: run `rag index notes.txt` <b>now</b>"
    out = render.render_answer(answered(citations=(c1, c2), warnings=(warning,)), 1, threshold=0.5)
    assert '<p class="rq-note" role="alert">' in out and "&#60;b&#62;now" in out
    sources = visible_text(out[out.index('<ol class="rq-sources">') :])
    assert "[1] notes.txt:3–4, p.\xa01" in sources
    assert "[2] notes.txt, p.\xa02 changed since indexed" in sources


def test_why_panel_shows_the_verdict_gaps_and_scores_escaped() -> None:
    trace = Explanation(
        method="reader",
        question_terms=("interview", "zorblat"),
        coverage_gaps=("zorblat",),
        passages=(
            PassageTrace("p1", HOSTILE, 2, 1, 0.0328, 0.61, 5.2, ("interview",), HOSTILE, 7.1, 2.3),
        ),
        sentences=(),
        confidence=0.42,
        threshold=0.37,
        verdict="answered",
        reason="Answered: " + HOSTILE,
    )
    out = render.render_answer(answered(explanation=trace), 1, threshold=0.37)
    why = out[out.index('<details class="rq-why">') :]
    assert "Why this answer?" in why and "<strong>Answered.</strong>" in why
    assert '<span class="rq-gap" title="occurs nowhere in the documents">zorblat</span>' in why
    assert "0.0328" in why and "0.610" in why and "5.20" in why and "span 7.10" in why
    assert "<script" not in why and visible_text(why).count(HOSTILE) == 3
    assert "rq-why" not in render.render_answer(answered(), 1, threshold=0.37)


# ---------------------------------------------------------------------------- source viewer
def test_source_marks_the_quote_inside_its_neighbours() -> None:
    c2 = cite(DOC, 2, TEXT.index("Russia"), TEXT.index("treaty.") + 7, "p2")
    short = (TEXT.index("Russia and China"), TEXT.index(" presented"))
    out = render.render_source(DOC, [P1, P2, P3], quote=(c2.start, c2.end), short=short,
                               label="[2]")  # fmt: skip
    marked = re.findall(r"<mark>(.*?)</mark>", out)
    assert visible_text("".join(marked)) == c2.quote
    assert '<strong class="rq-short">Russia and China</strong>' in out
    assert "It lasted an hour." in out and "Last paragraph." in out  # the neighbours
    assert "notes.txt" in out and "page 2" in out and "pages 1–2" in out
    assert "<script" not in out and HOSTILE in visible_text(out)


def test_source_of_a_related_passage_marks_the_passage() -> None:
    out = render.render_source(DOC, [P1, P2], focus=P1, label="Related passage")
    assert re.search(r'<span class="rq-focus">(.*?)</span>', out).group(1) == escape_text(P1.text)
    assert "<mark>" not in out


def test_documents_table_and_upload_report_escape_names() -> None:
    out = render_documents.render_documents([doc("x", title="<img src=x onerror=alert(1)>.txt")])
    assert "<img" not in out and "&#60;img" in out
    report = render_documents.render_upload_report(
        [(True, "a.txt: indexed"), (False, "<b>.exe: no")]
    )
    assert "<b>" not in report
    assert "✓ a.txt: indexed" in visible_text(report) and "✗ <b>.exe: no" in visible_text(report)


def test_real_answer_renders_with_its_short_answer_in_the_quote(default_rag) -> None:  # noqa: ANN001
    answer = default_rag.ask("When was the interview taken?")
    out = render.render_answer(answer, 0, threshold=0.5)
    assert '<strong class="rq-short">March 27, 2008</strong>' in out
    assert visible_text(out).count(answer.citations[0].quote) == 1


def test_a_long_document_list_shows_its_head_and_says_how_many_more() -> None:
    many = [
        doc(f"d{i}", title=f"file-{i:04d}.txt") for i in range(render_documents.DOCUMENTS_SHOWN + 7)
    ]
    out = render_documents.render_documents(many)
    assert out.count("<tr><td") == render_documents.DOCUMENTS_SHOWN
    assert f"Document ({render_documents.DOCUMENTS_SHOWN + 7:,})" in out
    assert "… and 7 more" in out and "rag documents" in out
    assert "file-0000.txt" in out and f"file-{render_documents.DOCUMENTS_SHOWN:04d}.txt" not in out
