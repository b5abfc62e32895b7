"""What the command-line entry points (``rag``, ``rag eval``, the ``python -m eval.*`` scripts)
share: logging set-up and argument types. Library code never configures logging."""

from __future__ import annotations

import argparse
import logging

NOISY_LOGGERS = ("bm25s", "sentence_transformers", "transformers", "httpx")
PARSER_LOGGERS = ("pypdf",)
"""Parsers that warn about every quirk of a damaged file ("EOF marker not found"): a file they
cannot read fails with an error that becomes the file's one skip line, so their warnings go."""


LOG_FORMAT = "%(levelname)s: %(message)s"


def configure_logging(level: int = logging.WARNING, fmt: str = LOG_FORMAT) -> None:
    """Log ``level`` and above to stderr.

    The level is set on the handler, not only on the root logger: bm25s sets its own logger to
    DEBUG when it is imported (after this runs, as it is imported lazily), and a handler with no
    level would print its debug lines.
    """
    handler = logging.StreamHandler()
    handler.setLevel(level)
    handler.setFormatter(logging.Formatter(fmt))
    logging.basicConfig(level=level, handlers=[handler])
    for name in NOISY_LOGGERS:
        logging.getLogger(name).setLevel(max(level, logging.WARNING))
    for name in PARSER_LOGGERS:
        logging.getLogger(name).setLevel(max(level, logging.ERROR))


def positive_int(text: str) -> int:
    """An argparse type: a positive integer, with a message saying what was wrong."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {value}")
    return value
