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
from typing import Any, TextIO

from rag import calibration
from rag.cli_parser import EXIT_ERROR, EXIT_OK, build_parser
from rag.entrypoints import configure_logging
from rag.errors import InvalidInputError, RagError
from rag.opening import open_index
from rag.pipeline import RAG
from rag.render import terminal_safe
from rag.types import Answer, Turn


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
