"""Questions asked at the same moment, encoded in one model call (``QueryBatcher``)."""

from __future__ import annotations

import threading
from collections.abc import Callable

import numpy as np


class _Slot:
    """One caller's text in the batcher, and what became of it."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.done = False
        self.vector: np.ndarray | None = None
        self.error: BaseException | None = None


class QueryBatcher:
    """Encodes one-text requests from concurrent callers (the chat's questions) together.

    The first caller encodes what is queued, its own text included, in one model call; callers
    arriving meanwhile wait and are encoded together in the next call, by one of them. Nobody
    waits on purpose: alone, a question is encoded alone, as before. A batch of short questions
    costs little more than one on these cores, so under load more questions get through.
    """

    def __init__(self, encode: Callable[[list[str]], np.ndarray], max_batch: int = 32) -> None:
        self._encode = encode
        self._max_batch = max_batch
        self._changed = threading.Condition()
        self._queue: list[_Slot] = []
        self._encoding = False

    def encode(self, text: str) -> np.ndarray:
        slot = _Slot(text)
        with self._changed:
            self._queue.append(slot)
            while self._encoding and not slot.done:
                self._changed.wait()
            leading = not slot.done
            self._encoding = self._encoding or leading
        try:
            while not slot.done:
                with self._changed:
                    batch = self._queue[: self._max_batch]
                    del self._queue[: self._max_batch]
                try:
                    vectors = self._encode([s.text for s in batch])
                    for s, vector in zip(batch, vectors, strict=True):
                        s.vector = vector
                except BaseException as e:  # every caller of the batch gets the error
                    for s in batch:
                        s.error = e
                with self._changed:
                    for s in batch:
                        s.done = True
                    self._changed.notify_all()
        finally:
            if leading:
                with self._changed:
                    self._encoding = False  # one of the waiting callers takes over
                    self._changed.notify_all()
        if slot.error is not None:
            raise slot.error
        assert slot.vector is not None
        return slot.vector
