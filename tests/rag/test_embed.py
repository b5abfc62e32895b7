"""The bundled all-MiniLM-L6-v2: loads offline from its package, checks its weights."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest

import rag.embed
from rag.embed import (
    MODEL_NAME,
    MODEL_SHA256,
    MiniLMEmbedder,
    bundled_model_dir,
    default_embedder,
    file_sha256,
)
from rag.errors import ModelError
from rag.query_batch import QueryBatcher


def test_the_constructor_loads_nothing() -> None:
    embedder = MiniLMEmbedder()
    assert embedder._model is None
    assert (embedder.name, embedder.sha256, embedder.dimension) == (MODEL_NAME, MODEL_SHA256, 384)


@pytest.mark.model
def test_loads_from_the_package_without_network() -> None:
    # The autouse block_network fixture makes any outside connection fail; a fresh load (not the
    # session fixture, which may load before that fixture is active) proves none is needed.
    embedder = MiniLMEmbedder().load()
    vectors = embedder.encode(["Sergey Lavrov is the Russian foreign minister."])
    assert vectors.shape == (1, 384)
    assert embedder.load() is embedder  # loading twice is a no-op


def test_the_bundled_weights_have_the_expected_checksum() -> None:
    assert file_sha256(bundled_model_dir() / "model.safetensors") == MODEL_SHA256


@pytest.mark.model
def test_wrong_weights_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rag.embed, "MODEL_SHA256", "0" * 64)
    embedder = MiniLMEmbedder()
    with pytest.raises(ModelError, match="expected 0000"):
        embedder.load()
    assert embedder._model is None


@pytest.mark.model
def test_missing_weights_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="reinstall"):
        MiniLMEmbedder(tmp_path).load()


def test_vectors_are_unit_norm_float32(real_embedder) -> None:
    texts = ["The NPT is the core of international security.", "Doomsday Clock"]
    vectors = real_embedder.encode(texts)
    assert vectors.shape == (2, real_embedder.dimension) == (2, 384)
    assert vectors.dtype == np.float32 and vectors.flags["C_CONTIGUOUS"]
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(real_embedder.encode(texts[:1])[0], vectors[0], atol=1e-5)


def test_no_texts_give_an_empty_matrix(real_embedder) -> None:
    assert real_embedder.encode([]).shape == (0, 384)


def test_similar_meanings_are_closer(real_embedder) -> None:
    question, answer, other = real_embedder.encode(
        [
            "Who is the foreign minister of Russia?",
            "Sergey Lavrov is Minister of Foreign Affairs of the Russian Federation.",
            "Please allow six to eight weeks for delivery of your first issue.",
        ]
    )
    assert question @ answer > question @ other + 0.2


def test_token_counting_and_limit(real_embedder) -> None:
    assert real_embedder.max_tokens == real_embedder.model.max_seq_length - 2 > 100
    assert real_embedder.count_tokens("disarmament") >= 1
    assert real_embedder.count_tokens("the treaty " * 50) == 100


def test_one_shared_default_embedder() -> None:
    assert default_embedder() is default_embedder()
    assert isinstance(default_embedder(), MiniLMEmbedder)


def test_the_default_index_records_the_real_model(default_rag) -> None:
    import json

    snapshot = (default_rag.index_dir / "CURRENT").read_text().strip()
    manifest = json.loads((default_rag.index_dir / snapshot / "manifest.json").read_text())
    assert manifest["model_name"] == MODEL_NAME
    assert manifest["model_sha256"] == MODEL_SHA256
    assert manifest["dimension"] == 384


# ------------------------------------------------------------------------- the batcher
class SlowModel:
    """Encodes a text to a row holding its length; the first call waits for the others."""

    def __init__(self, callers: int) -> None:
        self.calls: list[list[str]] = []
        self.arrived = threading.Barrier(callers)
        self.fail_on: str | None = None

    def encode(self, texts: list[str]) -> np.ndarray:
        self.calls.append(list(texts))
        if len(self.calls) == 1:
            time.sleep(0.3)  # the others queue up meanwhile
        if self.fail_on in texts:
            raise RuntimeError(f"cannot encode {self.fail_on}")
        return np.asarray([[len(t), 1.0] for t in texts], dtype=np.float32)


def _ask_all(batcher: QueryBatcher, model: SlowModel, texts: list[str]) -> dict[str, object]:
    results: dict[str, object] = {}

    def ask(text: str) -> None:
        model.arrived.wait()
        if text != texts[0]:
            time.sleep(0.05)  # the first text is encoded alone, the rest while it is
        try:
            results[text] = batcher.encode(text)
        except RuntimeError as e:
            results[text] = e

    threads = [threading.Thread(target=ask, args=(t,)) for t in texts]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert not any(t.is_alive() for t in threads), "a caller never got its row"
    return results


def test_concurrent_questions_share_model_calls_and_each_gets_its_own_row() -> None:
    texts = ["a", "bb", "ccc", "dddd", "eeeee", "ffffff", "ggggggg", "hhhhhhhh"]
    model = SlowModel(len(texts))
    results = _ask_all(QueryBatcher(model.encode), model, texts)
    assert model.calls[0] == ["a"] and len(model.calls) == 2  # the rest in one call
    assert sorted(model.calls[1]) == sorted(texts[1:])
    for text in texts:
        np.testing.assert_array_equal(results[text], [len(text), 1.0])


def test_a_failed_call_fails_its_callers_and_the_next_caller_is_served() -> None:
    texts = ["a", "bb", "ccc", "dddd"]
    model = SlowModel(len(texts))
    model.fail_on = "ccc"
    batcher = QueryBatcher(model.encode, max_batch=2)
    results = _ask_all(batcher, model, texts)
    failed = [t for t in texts if isinstance(results[t], RuntimeError)]
    assert "ccc" in failed and len(failed) <= 2 and "a" not in failed
    model.fail_on = None
    np.testing.assert_array_equal(batcher.encode("zz"), [2, 1.0])


def test_one_question_alone_is_encoded_alone(real_embedder) -> None:
    question = "When was the interview taken?"
    alone = real_embedder.encode([question])
    np.testing.assert_array_equal(alone, real_embedder._encode([question]))


def test_one_pass_gives_the_passage_vectors_and_sentence_vectors_in_context(real_embedder) -> None:
    texts = [
        "The treaty was signed in Moscow. It limits missiles to 1,550 warheads.",
        "Paris is the capital of France.",
        "",
    ]
    spans = [[(0, 32), (33, len(texts[0]))], [(0, len(texts[1]))], []]
    passages, sentences = real_embedder.encode_passages(texts, spans)
    np.testing.assert_allclose(passages[:2], real_embedder.encode(texts[:2]), atol=1e-5)
    assert sentences.shape == (3, 384) and sentences.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(sentences, axis=1), 1.0, atol=1e-5)
    # each sentence's vector is nearest its own text read alone, not its neighbour's
    alone = real_embedder.encode([texts[0][s:e] for s, e in spans[0]])
    assert np.argmax(sentences[:2] @ alone.T, axis=1).tolist() == [0, 1]
    # a one-sentence passage: the sentence is the passage, bar the [CLS] and [SEP] tokens
    assert float(sentences[2] @ passages[1]) > 0.95


def test_a_sentence_past_the_models_window_gets_its_passages_vector(real_embedder) -> None:
    text = "word " * 400 + "The end."
    passages, sentences = real_embedder.encode_passages([text], [[(0, 10), (2000, len(text))]])
    np.testing.assert_allclose(sentences[1], passages[0], atol=1e-6)
    assert not np.allclose(sentences[0], passages[0], atol=1e-3)
