"""``rag``: index documents, search them, ask questions, serve the chat, run the evaluation.

Thin by design: parse arguments, call the library, print. A ``RagError`` prints as one line on
stderr and exits 1, never as a traceback.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable, Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any, NoReturn, TextIO

from rag import calibration
from rag.answering.reader import READ_BY_DEFAULT
from rag.entrypoints import configure_logging, positive_int
from rag.errors import InvalidInputError, RagError
from rag.opening import open_index
from rag.pipeline import RAG
from rag.render import terminal_safe
from rag.types import RETRIEVAL_MODES, Answer, Turn

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


def cmd_index(args: argparse.Namespace, out: TextIO) -> int:
    rag = open_index(args.index_dir, create=True)
    report = rag.index_paths(args.paths, show_progress=not args.no_progress)
    for err in report.skipped:
        print(f"skipped: {terminal_safe(str(err))}", file=sys.stderr)
    print(f"{terminal_safe(str(rag.location))}: {report.summary()}", file=out)
    nothing_indexed = report.skipped and not (report.added or report.updated or report.unchanged)
    return EXIT_ERROR if nothing_indexed or (args.strict and report.skipped) else EXIT_OK


def cmd_remove(args: argparse.Namespace, out: TextIO) -> int:
    rag = open_index(args.index_dir)
    report = rag.remove(args.paths)
    for source in report.removed:
        print(f"removed {terminal_safe(source)}", file=out)
    return EXIT_OK


def cmd_documents(args: argparse.Namespace, out: TextIO) -> int:
    docs = open_index(args.index_dir).documents()
    rows = [
        {"source": d.source, "title": d.title, "pages": d.page_count, "chars": len(d.text)}
        for d in docs
    ]
    if args.json:
        print(json.dumps(rows, ensure_ascii=False), file=out)
    else:
        for r in rows:
            source = terminal_safe(str(r["source"]))
            print(f"{source}  ({r['pages']} pages, {r['chars']} chars)", file=out)
    return EXIT_OK


def _lines(stream: TextIO) -> Iterator[str]:
    """Lines of stdin; bytes that are not UTF-8 are kept (as surrogates) for the line's own error
    instead of ending the whole batch with a decoding error."""
    raw = getattr(stream, "buffer", None)
    for line in raw if raw is not None else stream:
        if isinstance(line, bytes):
            line = line.decode("utf-8", "surrogateescape")
        yield line.rstrip("\r\n")


def _each_line(handle: Callable[[str], Any], out: TextIO) -> int:
    """Stdin mode: one JSON result per input line; a failing line gets ``{"error": ...}``."""
    status = EXIT_OK
    for line in _lines(sys.stdin):
        try:
            result = handle(line)
        except RagError as e:
            result, status = {"error": str(e)}, EXIT_ERROR
        print(json.dumps(result, ensure_ascii=False), file=out, flush=True)
    return status


def cmd_search(args: argparse.Namespace, out: TextIO) -> int:
    rag = open_index(args.index_dir)

    def run(query: str) -> list[dict[str, Any]]:
        return [h.to_dict() for h in rag.search(query, args.k, mode=args.mode)]

    if args.query is None:
        return _each_line(run, out)
    hits = rag.search(args.query, args.k, mode=args.mode)
    if args.json:
        print(json.dumps([h.to_dict() for h in hits], ensure_ascii=False, indent=2), file=out)
        return EXIT_OK
    from rag.render import format_hits

    print(format_hits(hits), file=out)
    return EXIT_OK


def cmd_ask(args: argparse.Namespace, out: TextIO) -> int:
    rag = open_index(args.index_dir)
    history: list[Turn] = []

    def run(question: str) -> dict[str, Any]:
        answer = rag.ask(
            question,
            k=args.k,
            mode=args.mode,
            history=history,
            reader=args.reader,
            explain=args.explain,
        )
        if args.conversation:
            history.append(answer.as_turn())
        return answer.to_dict()

    if args.question is None:
        return _each_line(run, out)
    answer = rag.ask(
        args.question, k=args.k, mode=args.mode, reader=args.reader, explain=args.explain
    )
    if args.json:
        print(json.dumps(answer.to_dict(), ensure_ascii=False, indent=2), file=out)
        return EXIT_OK
    from rag.render import format_answer, format_explanation

    print(format_answer(answer), file=out)
    if answer.explanation is not None:
        print(f"\n{format_explanation(answer.explanation)}", file=out)
    return EXIT_OK


def cmd_calibrate(args: argparse.Namespace, out: TextIO) -> int:
    rag = open_index(args.index_dir)
    probes = calibration.read_probes(args.questions)

    def ask(question: str) -> Answer:
        return rag.ask(question, k=args.k, mode=args.mode, reader=args.reader, strictness=0.0)

    outcomes = calibration.evaluate(ask, probes)
    rows = calibration.table(outcomes, args.delta)
    chosen = calibration.choose(rows, args.alpha, args.delta)
    result = None
    if chosen is not None:
        from rag.pipeline import answering_method

        method = answering_method(args.reader)
        result = calibration.make(method, chosen, args.alpha, args.delta, probes)
        calibration.store(rag.index_dir, result)
    if args.json:
        report = {
            "rows": calibration.as_json(rows, len(probes)),
            "calibration": asdict(result) if result else None,
            "guarantee": result.guarantee() if result else None,
            "refusal": None
            if result
            else calibration.refusal(outcomes, rows, args.alpha, args.delta),
        }
        print(json.dumps(report, indent=2), file=out)
    else:
        from rag.render import format_calibration

        table = format_calibration(rows, len(probes), chosen, args.alpha, args.delta)
        print(table, file=out)
    if result is None:
        print(
            f"error: {calibration.refusal(outcomes, rows, args.alpha, args.delta)}", file=sys.stderr
        )
        return EXIT_ERROR
    if not args.json:
        print(f"\nStored threshold {result.threshold:.3f} for the {result.method} with "
              f"{rag.index_dir}; ask, serve and the library use it.\n{result.guarantee()}",
              file=out)  # fmt: skip
    return EXIT_OK


def _rate(text: str) -> float:
    """An argparse type: a rate strictly between 0 and 1."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {value}")
    return value


def cmd_migrate(args: argparse.Namespace, out: TextIO) -> int:
    source = open_index(args.source)
    target = RAG(
        args.target,
        embedder=source.embedder,
        chunk_config=source.chunk_config,
        fusion=source.fusion,
        index_config=source.store.config,
    )
    if str(target.location) == str(source.location):
        raise InvalidInputError(f"{args.target} is the index being copied: name another place")
    copied = target.copy_from(source, show_progress=not args.no_progress)
    documents = len(target.documents())
    print(f"{terminal_safe(str(target.location))}: {documents} documents, {copied} passages "
          f"copied from {terminal_safe(str(source.location))}", file=out)  # fmt: skip
    return EXIT_OK


def cmd_serve(args: argparse.Namespace, out: TextIO) -> int:
    from ui.app import serve

    serve(index_dir=args.index_dir, host=args.host, port=args.port)
    return EXIT_OK


def cmd_eval(args: argparse.Namespace, out: TextIO) -> int:
    from eval.cli import main as eval_main

    return eval_main(args.eval_args)


COMMANDS: dict[str, Callable[[argparse.Namespace, TextIO], int]] = {
    "index": cmd_index,
    "remove": cmd_remove,
    "documents": cmd_documents,
    "search": cmd_search,
    "ask": cmd_ask,
    "calibrate": cmd_calibrate,
    "migrate": cmd_migrate,
    "serve": cmd_serve,
    "eval": cmd_eval,
}


def main(argv: list[str] | None = None, out: TextIO | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["eval"]:
        # `rag eval` has its own parser (eval/cli.py); hand it every argument, --help included.
        return cmd_eval(argparse.Namespace(eval_args=argv[1:]), out or sys.stdout)
    args = build_parser().parse_args(argv)
    configure_logging(logging.INFO if args.verbose else logging.WARNING)
    try:
        return COMMANDS[args.command](args, out or sys.stdout)
    except RagError as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
