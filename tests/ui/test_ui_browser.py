"""The chat in headless Chromium: ask, read the source, upload, remove, and hostile documents.

Screenshots go to ``artifacts/screenshots/``. Every request the page makes is recorded, and each
test checks that none left loopback: the page must work with no network at all.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from gradio import utils as gradio_utils

CHROMIUM = Path("/usr/bin/chromium")
REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "artifacts" / "screenshots"
# A 1366x768 laptop screen less the browser's tabs, address bar and the OS task bar.
LAPTOP = {"width": 1366, "height": 657}
TIMEOUT_MS = 30_000
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}
INERT_SCHEMES = {"data", "blob", "about"}

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason=f"{CHROMIUM} not found: install Debian's chromium (apt-get install chromium)",
    ),
]

HOSTILE = (
    "Quibble project notes\n\n"
    # One paragraph, so the passage the answer cites (and the source viewer shows) holds all three.
    "The Quibble project launch code is 4471 <script>window.__pwned=1</script> and it was set by "
    'Dr. Mallory Quince. A picture of the Quibble rocket <img src=x onerror="window.__pwned=1"> '
    "was taken in Reykjavik. The Quibble manual [click](javascript:window.__pwned=1) is kept at "
    "the Quibble library.\n"
)


class Session:
    """A page on the live app that records every request it makes."""

    def __init__(self, page, url: str) -> None:  # noqa: ANN001
        self.page = page
        self.requests: list[str] = []
        page.on("request", lambda request: self.requests.append(request.url))
        page.set_default_timeout(TIMEOUT_MS)
        page.goto(url)
        page.wait_for_selector(".rq-scroll")

    def ask(self, question: str) -> None:
        turns = self.page.locator(".rq-turn").count()
        box = self.page.locator("#rq-question textarea")
        box.fill(question)
        box.press("Enter")
        self.page.wait_for_function(
            f"document.querySelectorAll('.rq-turn').length > {turns}", timeout=TIMEOUT_MS
        )
        self.settle()

    def settle(self) -> None:
        """Wait until no event is pending: Gradio hides every output's status tracker then."""
        self.page.wait_for_function(
            "![...document.querySelectorAll('[data-testid=status-tracker]')]"
            ".some(e => !e.classList.contains('hide'))"
        )

    def latest(self):  # noqa: ANN201
        """The newest turn, pinned by position (a ``.last`` locator would follow later turns)."""
        turns = self.page.locator(".rq-turn")
        return turns.nth(turns.count() - 1)

    def upload(self, path: Path) -> str:
        self.page.get_by_role("tab", name="Documents").click()
        self.page.set_input_files("#rq-upload input[type=file]", str(path))
        report = self.page.locator(".rq-upload-report", has_text=path.name)
        report.wait_for()
        self.settle()
        return report.inner_text()

    def screenshot(self, name: str) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))

    def assert_local_only(self) -> None:
        assert self.requests, "no request was recorded"
        for url in self.requests:
            parts = urlsplit(url)
            if parts.scheme in INERT_SCHEMES:
                continue
            assert parts.hostname in LOCAL_HOSTS, f"the page requested {url}"


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def session(browser, live_app) -> Iterator[Session]:  # noqa: ANN001
    context = browser.new_context(viewport=LAPTOP)
    try:
        yield Session(context.new_page(), live_app.url)
    finally:
        context.close()


MARKED_JS = (
    "() => [...document.querySelectorAll('#rq-source mark')].map(m => m.textContent).join('')"
)


def marked_source(page) -> str:  # noqa: ANN001
    """The text marked as the quote in the source viewer (the short answer splits the marks)."""
    return page.evaluate(MARKED_JS)


def assert_in_view(page, locator) -> None:  # noqa: ANN001
    """Visible on screen without scrolling the page or the transcript."""
    box = locator.bounding_box()
    scroller = page.locator(".rq-scroll").bounding_box()
    assert box is not None and scroller is not None
    assert 0 <= box["y"] and box["y"] + box["height"] <= LAPTOP["height"], box
    assert scroller["y"] <= box["y"] and box["y"] + box["height"] <= (
        scroller["y"] + scroller["height"] + 1
    ), (box, scroller)
    assert page.evaluate("window.scrollY") == 0


def test_ask_see_cited_answer_and_open_its_source(session: Session) -> None:
    page = session.page
    examples = page.locator("button.rq-example")
    assert examples.count() >= 3
    session.screenshot("01-empty-state")

    page.locator("#rq-ask").click()  # an empty question: a message, not a traceback
    toast = page.locator(".toast-body", has_text="The question is empty")
    toast.wait_for()
    assert "Traceback" not in page.inner_text("body")
    page.locator(".toast-close").first.click()
    toast.wait_for(state="detached")

    examples.filter(has_text="When was the interview taken?").click()
    page.wait_for_selector(".rq-turn .rq-quote")
    session.settle()
    first = session.latest()
    assert "March 27, 2008" in first.locator(".rq-quote").inner_text()
    assert first.locator("strong.rq-short").inner_text() == "March 27, 2008"
    assert re.search(r"\[1\] security-index-2008-lavrov-interview\.txt:82, p\.\s2",
                     first.locator(".rq-sources").inner_text())  # fmt: skip
    assert "Confidence" in first.inner_text()
    assert_in_view(page, first.locator(".rq-quote"))
    session.screenshot("02-cited-answer")

    session.ask("Who presented the draft treaty on weapons in outer space?")
    second = session.latest()
    assert "Russia and China" in second.locator(".rq-quote").inner_text()
    assert_in_view(page, second.locator(".rq-quote"))
    assert "Russia and China jointly presented" in marked_source(page)

    # Going back to the first answer's citation shows its quote, marked, with file and page.
    first.locator("button.rq-cite", has_text="[1]").click()
    page.wait_for_function(f"({MARKED_JS})().includes('March 27, 2008')")
    assert marked_source(page) == first.locator(".rq-quote").inner_text().strip("“”[1] ")
    head = page.locator("#rq-source .rq-source-head").inner_text()
    assert "security-index-2008-lavrov-interview.txt" in head and "page 2" in head
    assert page.locator("#rq-source mark strong.rq-short").inner_text() == "March 27, 2008"
    session.screenshot("03-source-viewer")

    session.ask("When was that?")  # a follow-up leaning on the previous turn
    assert "February 12" in session.latest().locator(".rq-quote").inner_text()

    # Another language: nothing in the English interview can answer it (see issue 3, bad input).
    session.ask("Qui a gagné la coupe du monde de football en 1998 ?")
    abstained = session.latest()
    assert "The documents don't answer this question." in abstained.inner_text()
    related = abstained.locator(".rq-related button")
    assert related.count() >= 1
    assert_in_view(page, abstained.locator(".rq-abstain-head"))
    assert "No quote to show" in page.locator("#rq-source").inner_text()
    session.screenshot("04-abstention")
    related.first.click()
    page.locator("#rq-source .rq-focus").wait_for()

    page.locator("#rq-new").click()
    page.locator(".rq-empty button.rq-example").first.wait_for()
    assert page.locator(".rq-turn").count() == 0
    session.assert_local_only()


def test_settings_change_retrieval(session: Session) -> None:
    page = session.page
    page.get_by_role("tab", name="Settings").click()
    page.get_by_label("BM25", exact=True).check()
    page.get_by_label("Show retrieval scores").check()
    session.screenshot("05-settings")
    session.ask("When will the START Treaty restrictions expire?")
    latest = session.latest()
    assert "2009" in latest.locator(".rq-quote").inner_text()
    assert latest.locator("details.rq-scores").count() == 1
    session.assert_local_only()


def test_upload_a_file_ask_about_it_and_remove_it(session: Session, tmp_path: Path) -> None:
    page = session.page
    notes = tmp_path / "zorblat festival notes.txt"
    notes.write_text(
        "Village notes\n\nThe Zorblat festival is held every year in Kirunavaara on 14 August. "
        "About 300 people attend it.\n",
        encoding="utf-8",
    )
    cache = Path(gradio_utils.get_upload_folder())
    before = set(cache.rglob("*")) if cache.exists() else set()
    report = session.upload(notes)
    assert "zorblat festival notes.txt: indexed" in report
    # Gradio's temporary copy is gone (it stayed downloadable), and no empty file was left.
    left = {p for p in cache.rglob("*") if p.is_file()} - before
    assert not left, left
    table = page.locator("#rq-docs").inner_text()
    assert "zorblat festival notes.txt" in table
    session.screenshot("06-uploaded")

    session.ask("When is the Zorblat festival held?")
    latest = session.latest()
    assert "14 August" in latest.locator(".rq-quote").inner_text()
    assert "zorblat festival notes.txt" in latest.locator(".rq-sources").inner_text()

    bad = tmp_path / "tool.exe"
    bad.write_bytes(b"MZ")
    page.get_by_role("tab", name="Documents").click()
    page.set_input_files("#rq-upload input[type=file]", str(bad))
    # Gradio's own type check or ours: either way the user reads a message naming the file.
    page.locator(".toast-body", has_text=re.compile(r"tool\.exe|[Ii]nvalid file type")).wait_for()

    page.locator("#rq-remove-choice input").click()
    page.get_by_role("option", name="zorblat festival notes.txt").click()
    page.locator("#rq-remove").click()
    page.locator(".rq-upload-report", has_text="removed zorblat festival notes.txt").wait_for()
    assert "zorblat festival notes.txt" not in page.locator("#rq-docs").inner_text()
    session.assert_local_only()


def test_hostile_document_renders_inert(session: Session, tmp_path: Path, live_app) -> None:  # noqa: ANN001
    page = session.page
    hostile = tmp_path / "hostile.txt"
    hostile.write_text(HOSTILE, encoding="utf-8")
    try:
        assert "hostile.txt: indexed" in session.upload(hostile)
        session.ask("What is the Quibble project launch code?")
        quote = session.latest().locator(".rq-quote").inner_text()
        assert "<script>window.__pwned=1</script>" in quote
        source = page.locator("#rq-source .rq-source-text").inner_text()
        assert "[click](javascript:window.__pwned=1)" in source
        assert '<img src=x onerror="window.__pwned=1">' in source
        page.get_by_text("<script>window.__pwned=1</script>").first.wait_for()
        session.screenshot("07-hostile-document")

        assert page.evaluate("typeof window.__pwned") == "undefined"
        assert page.locator("#rq-transcript img, #rq-source img").count() == 0
        assert page.locator("#rq-transcript script, #rq-source script").count() == 0
        assert page.locator("a[href^='javascript']").count() == 0
        session.assert_local_only()
    finally:
        live_app.rag.remove([str(live_app.upload_dir / hostile.name)])


def test_export_the_conversation_as_markdown_and_open_why(session: Session) -> None:
    page = session.page
    session.ask("When was the interview taken?")
    why = session.latest().locator(".rq-why")
    why.locator("summary").click()
    assert "Answered." in why.inner_text() and "Question words: interview" in why.inner_text()
    session.ask("What does the zorblat festival celebrate?")
    assert "Not retrieved." in session.latest().locator(".rq-why").text_content()

    button = page.locator("#rq-export")
    button.wait_for()
    for _ in range(20):  # the button gets the new turn just after it shows (slower under load)
        with page.expect_download() as download_info:
            button.click()
        download = download_info.value
        text = Path(download.path()).read_text(encoding="utf-8")
        if "## 2." in text:
            break
        page.wait_for_timeout(250)
    assert download.suggested_filename.endswith(".md")
    assert "## 1. When was the interview taken?" in text
    assert "**Short answer:** March 27, 2008" in text
    assert "> ¹ The interview with the minister was taken on March 27, 2008. [1]" in text
    assert re.search(r"- \[1\] .*lavrov-interview\.txt, p\. 2, line 82, characters \d+–\d+", text)
    assert "## 2. What does the zorblat festival celebrate?" in text
    assert "do not answer this question" in text
    session.screenshot("08-why-and-export")
    session.assert_local_only()
