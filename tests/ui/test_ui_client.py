"""The ``/ask`` API through a real ``gradio_client`` against the app served on loopback."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from gradio_client import Client

# Questions about the bundled interview, each with text its cited quote must hold.
QUESTIONS = {
    "When was the interview taken?": "March 27, 2008",
    "How many people do Russian NGOs comprise?": "eight million",
    "Who presented the draft treaty on weapons in outer space?": "Russia and China",
    "When will the START Treaty restrictions expire?": "2009",
    "How many NGOs got consultative status with ECOSOC?": "40 NGOs",
    "What forum was organized during Russia's G-8 presidency?": "Civil G8",
    "What is the core element of the contemporary system of international security?": "NPT",
    "Where did Putin set forth proposals in October 2007?": "Mafra",
}


def client_for(url: str) -> Client:
    return Client(url, verbose=False, download_files=False)


def check_cited(result: dict, gold: str, rag) -> None:  # noqa: ANN001
    assert result["abstained"] is False and result["answer"]
    assert any(gold in c["quote"] for c in result["citations"]), result["citations"]
    for c in result["citations"]:  # every quote is the document's own text at its offsets
        document = next(d for d in rag.documents() if d.source == c["source"])
        assert document.text[c["start"] : c["end"]] == c["quote"]


def test_ask_endpoint_returns_the_cli_json(live_app) -> None:  # noqa: ANN001
    client = client_for(live_app.url)
    result = client.predict("When was the interview taken?", api_name="/ask")
    assert isinstance(result, dict)
    check_cited(result, "March 27, 2008", live_app.rag)
    assert result["short_answer"] == "March 27, 2008"
    expected = live_app.rag.ask("When was the interview taken?").to_dict()
    assert result.keys() == expected.keys()
    assert {k: v for k, v in result.items() if k != "timings_ms"} == {
        k: v for k, v in expected.items() if k != "timings_ms"
    }


def test_ask_endpoint_takes_optional_k_and_mode(live_app) -> None:  # noqa: ANN001
    client = client_for(live_app.url)
    result = client.predict("When was the interview taken?", 2, "bm25", api_name="/ask")
    check_cited(result, "March 27, 2008", live_app.rag)
    assert len(result["passages"]) >= 2


def test_only_ask_is_public(live_app) -> None:  # noqa: ANN001
    api = client_for(live_app.url).view_api(print_info=False, return_format="dict")
    assert list(api["named_endpoints"]) == ["/ask"]
    assert list(api["unnamed_endpoints"]) == []


def test_bad_input_is_a_clear_error_not_a_traceback(live_app) -> None:  # noqa: ANN001
    client = client_for(live_app.url)
    with pytest.raises(Exception, match="the question is empty"):
        client.predict("   ", api_name="/ask")
    with pytest.raises(Exception, match="mode must be one of hybrid, dense, bm25"):
        client.predict("When?", 5, "fuzzy", api_name="/ask")


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ('"\\ud800 treaty", 5', "not valid UTF-8"),  # a lone surrogate, as JSON allows
        ('"When?", "abc"', "k must be a positive integer, got 'abc'"),
        ('"When?", null', "k must be a positive integer, got None"),
        ('"When?", 2.7', "k must be a positive integer, got 2.7"),
    ],
)
def test_raw_http_bad_values_get_their_message_and_no_server_traceback(
    live_app,
    values: str,
    message: str,
    capfd: pytest.CaptureFixture[str],  # noqa: ANN001
) -> None:
    """What a script posting JSON by hand sees (gradio_client cannot even send a surrogate)."""
    import httpx

    call = f"{live_app.url}gradio_api/call/ask"
    body = f'{{"data": [{values}, "hybrid", null, false]}}'
    event = httpx.post(call, content=body, headers={"content-type": "application/json"}).json()
    stream = httpx.get(f"{call}/{event['event_id']}", timeout=60).text

    assert "event: error" in stream and message in stream, stream
    assert "Traceback" not in capfd.readouterr().err


def test_gibberish_abstains(live_app) -> None:  # noqa: ANN001
    result = client_for(live_app.url).predict("zxqv blorf wuggle?", api_name="/ask")
    assert result["abstained"] is True and result["answer"] is None
    assert result["citations"] == [] and result["passages"]


def test_eight_clients_at_once_all_get_cited_answers(live_app) -> None:  # noqa: ANN001
    def ask(question: str) -> dict:
        return client_for(live_app.url).predict(question, api_name="/ask")

    with ThreadPoolExecutor(max_workers=len(QUESTIONS)) as pool:
        results = dict(zip(QUESTIONS, pool.map(ask, QUESTIONS)))
    for question, gold in QUESTIONS.items():
        assert results[question]["question"] == question
        check_cited(results[question], gold, live_app.rag)
