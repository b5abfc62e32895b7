"""The ``rag`` command line's arguments: one parser, every subcommand and its options (the
commands themselves are ``rag.cli``). Usage errors print as one ``error:`` line and exit 2."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import NoReturn

from rag import calibration
from rag.answering.reader import READ_BY_DEFAULT
from rag.entrypoints import positive_int
from rag.types import RETRIEVAL_MODES

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    """Usage errors print like every other error: one ``error:`` line on stderr, no usage dump."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"error: {message} (see `{self.prog} --help`)\n")


def _directory(text: str) -> Path:
    if text.startswith("milvus:"):
        raise argparse.ArgumentTypeError(f"{text!r} is a Milvus address: pass it with --store")
    return Path(text)


def _milvus(text: str) -> str:
    if not text.startswith("milvus:"):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a milvus:// address (an index directory goes with --index-dir)"
        )
    return text


def _add_index_dir(p: argparse.ArgumentParser) -> None:
    where = p.add_mutually_exclusive_group()
    where.add_argument(
        "--index-dir",
        type=_directory,
        help="index directory (default: the index over the bundled corpus, built on first use)",
    )
    where.add_argument(
        "--store",
        dest="index_dir",
        type=_milvus,
        metavar="URI",
        help="an index in Milvus instead: milvus:///abs/path/rag.db (Milvus Lite) or "
        "milvus://host:19530/NAME (a server); see docs/scale-out.md",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="rag", description="Answers with verbatim, cited quotes from your own documents."
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("index", help="index files and folders (incremental)")
    p.add_argument("paths", nargs="+", type=Path)
    _add_index_dir(p)
    p.add_argument("--strict", action="store_true", help="exit 1 if any file was skipped")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bars")

    p = sub.add_parser("remove", help="drop indexed files (a folder drops all under it)")
    p.add_argument("paths", nargs="+")
    _add_index_dir(p)

    p = sub.add_parser("documents", help="list the indexed documents")
    _add_index_dir(p)
    p.add_argument("--json", action="store_true")

    for name, helptext, arg in (
        ("search", "print the passages that best match a query", "query"),
        ("ask", "answer a question with cited quotes (or abstain)", "question"),
    ):
        p = sub.add_parser(name, help=helptext)
        p.add_argument(arg, nargs="?", help="omit to read one per line from stdin (JSON lines out)")
        p.add_argument("-k", type=positive_int, default=5, help="passages to return (default 5)")
        p.add_argument("--mode", choices=RETRIEVAL_MODES, default="hybrid")
        _add_index_dir(p)
        p.add_argument("--json", action="store_true", help="print JSON")
        if name == "ask":
            p.add_argument(
                "--conversation",
                action="store_true",
                help="stdin mode: each line may follow up on the one before (see docs/quality.md)",
            )
            p.add_argument(
                "--reader",
                action=argparse.BooleanOptionalAction,
                help="answer with the learned reader, or not (default: "
                f"{'on' if READ_BY_DEFAULT else 'off'}; see docs/reader.md)",
            )
            p.add_argument(
                "--explain",
                action="store_true",
                help="also show why: every candidate's scores, matched and missing question "
                'words, and the stage that decided ("explain" in JSON; see docs/trust.md)',
            )

    p = sub.add_parser(
        "calibrate",
        help="fit the abstention threshold on your own probe questions, with a guarantee",
    )
    p.add_argument(
        "--questions",
        type=Path,
        required=True,
        help='JSON lines: {"question": ..., "answer": "expected text"} or '
        '{"question": ..., "answerable": false}',
    )
    p.add_argument("--alpha", type=_rate, default=calibration.DEFAULT_ALPHA,
                   help="most wrong answers among those given (default 0.1)")  # fmt: skip
    p.add_argument("--delta", type=_rate, default=calibration.DEFAULT_DELTA,
                   help="chance the guarantee fails (default 0.05: 95%% confidence)")  # fmt: skip
    p.add_argument("-k", type=positive_int, default=5, help="passages per question (default 5)")
    p.add_argument("--mode", choices=RETRIEVAL_MODES, default="hybrid")
    p.add_argument(
        "--reader",
        action=argparse.BooleanOptionalAction,
        help="calibrate the learned reader's threshold (default: the default method)",
    )
    p.add_argument("--json", action="store_true", help="print the table and the result as JSON")
    _add_index_dir(p)

    p = sub.add_parser(
        "migrate", help="copy an index to another place, e.g. a directory into Milvus"
    )
    p.add_argument("source", help="an index directory or a milvus:// address")
    p.add_argument("target", help="where the copy goes (what it holds is replaced)")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")

    p = sub.add_parser("serve", help="start the web chat")
    _add_index_dir(p)
    p.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=7860)

    p = sub.add_parser("eval", help="evaluate on SQuAD, BEIR or question sets", add_help=False)
    p.add_argument("eval_args", nargs=argparse.REMAINDER)
    return parser


def _rate(text: str) -> float:
    """An argparse type: a rate strictly between 0 and 1."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {value}")
    return value
