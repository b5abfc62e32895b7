"""How the bytes of a plain-text file become text.

UTF-8 first (a byte-order mark is dropped). A file that is UTF-8 but for a few bad bytes stays
UTF-8, the bad bytes replaced by U+FFFD: decoding it as another charset would garble every
accented letter to save those few bytes. Anything else goes to charset detection
(charset-normalizer), preferring cp1252 among near ties, as old Windows files are the usual case.
Bytes that no text file holds (NUL, many control bytes) are refused as binary.
"""

from __future__ import annotations

import logging
from pathlib import Path

from rag.errors import UnreadableDocumentError

logger = logging.getLogger(__name__)

# Western Windows text is the commonest legacy encoding, and charset_normalizer cannot tell the
# Windows code pages apart on short text (it reads "crème" in cp1252 as cp1250 "crčme"), so cp1252
# wins whenever it decodes about as cleanly as the best guess.
_FALLBACK_ENCODING = "cp1252"
_PREFERRED_CHAOS_MARGIN = 0.1
BINARY_CONTROL_SHARE = 0.01
"""Most control bytes (other than tab, line breaks, form feed) a text file may have, as a share."""


def decode_text(path: Path, data: bytes) -> str:
    """The text of a plain-text file (see the module docstring).

    Raises:
        UnreadableDocumentError: The bytes are not text.
    """
    if _looks_binary(data):
        raise UnreadableDocumentError(
            path, "looks like a binary file, not text (NUL bytes or control characters)"
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    text = data.decode("utf-8-sig", errors="replace")
    bad = text.count("\ufffd")
    if sum(ord(ch) > 0x7F for ch in text) - bad >= bad:
        # More valid UTF-8 sequences than broken ones: a UTF-8 file with a few bad bytes. Decoding
        # it as another charset would garble every accented letter to save those few bytes.
        logger.warning("%s: %d invalid UTF-8 bytes replaced with U+FFFD", path, bad)
        return text
    from charset_normalizer import from_bytes

    matches = from_bytes(data)
    best = matches.best()
    preferred = [m for m in matches if _FALLBACK_ENCODING in m.could_be_from_charset]
    if (
        best is not None
        and preferred
        and preferred[0].chaos <= best.chaos + _PREFERRED_CHAOS_MARGIN
    ):
        best = preferred[0]
    if best is not None:
        text, encoding = str(best), best.encoding
    else:
        text, encoding = data.decode(_FALLBACK_ENCODING, errors="replace"), _FALLBACK_ENCODING
    logger.warning("%s is not UTF-8; decoded it as %s", path, encoding)
    return text


def _looks_binary(data: bytes) -> bool:
    """NUL bytes, or more than ``BINARY_CONTROL_SHARE`` control bytes (other than tab, line
    breaks and form feeds) in the first 64 KB: no text file of any charset looks like that."""
    head = data[: 1 << 16]
    if b"\x00" in head:
        return True
    controls = sum(b < 32 and b not in (9, 10, 12, 13) for b in head)
    return controls > BINARY_CONTROL_SHARE * max(1, len(head))
