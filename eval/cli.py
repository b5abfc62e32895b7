"""``rag eval``: evaluate retrieval, answers, citations and abstention on a dataset.

    rag eval --dataset squad2_dev_half.json --sample 600 --seed 1 --compare --out eval-out
    rag eval --dataset cranfield/ --compare
    rag eval --dataset questions.jsonl --index-dir my-index --fail-under f1=0.3

Thin: parse the arguments, load the dataset, build or open the index, hand over to
``eval.run.evaluate``, render with ``eval.report``. Errors print as one line and exit 1.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn, TextIO

from eval.datasets import FORMATS, QADataset, load_dataset, sample_questions
from eval.run import COMPARE_MODES, RunConfig, evaluate
from eval.scoring import LATENCY_KEYS, METRIC_KEYS
from rag.answering.reader import use_reader
from rag.embed import Embedder
from rag.entrypoints import configure_logging, positive_int
from rag.errors import InvalidInputError, RagError
from rag.opening import open_index
from rag.types import RETRIEVAL_MODES

EXIT_OK, EXIT_FAIL = 0, 1
DEFAULT_OUT = Path("eval-out")


class _Parser(argparse.ArgumentParser):
    """Reports a usage error as a ``RagError`` (exit 1, one line) instead of exiting 2."""

    def error(self, message: str) -> NoReturn:
        raise InvalidInputError(f"{message} (see `rag eval --help`)")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="rag eval", description=__doc__.split("\n\n")[0])
    p.add_argument("--dataset", type=Path, required=True, help="SQuAD JSON, BEIR dir or JSONL")
    p.add_argument(
        "--format",
        help=f"dataset format: {', '.join(FORMATS)} (default: from the path)",
    )
    p.add_argument("--mode", choices=RETRIEVAL_MODES, default="hybrid", help="default hybrid")
    p.add_argument("--compare", action="store_true", help="run bm25, dense and hybrid")
    p.add_argument("--sample", type=positive_int, help="evaluate a seeded sample of N questions")
    p.add_argument("--seed", type=int, default=0, help="seed of --sample (default 0)")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"default {DEFAULT_OUT}/")
    p.add_argument(
        "--fail-under",
        nargs="+",
        action="extend",
        default=[],
        metavar="METRIC=VALUE",
        help="exit 1 if a metric of the default mode is below VALUE",
    )
    p.add_argument(
        "--index-dir",
        type=Path,
        help="qa-jsonl: the index to ask (default: the index over the bundled corpus)",
    )
    p.add_argument(
        "--store",
        metavar="URI",
        help="a milvus:// address: SQuAD and BEIR datasets are indexed afresh there (replacing "
        "what it holds), qa-jsonl question sets ask the index there (docs/scale-out.md)",
    )
    p.add_argument("-k", type=positive_int, default=5, help="passages per answer (default 5)")
    p.add_argument(
        "--strictness",
        type=float,
        help="abstention threshold in [0, 1] (default: the fitted one; 0 answers everything)",
    )
    p.add_argument(
        "--reader",
        action=argparse.BooleanOptionalAction,
        help="answer with the learned reader, or not (default: as `rag ask`; docs/reader.md)",
    )
    p.add_argument("--no-progress", action="store_true", help="hide the progress bars")
    return p


def parse_gates(specs: Sequence[str]) -> dict[str, float]:
    """``["recall@5=0.8", "f1=0.3"]`` -> ``{"recall@5": 0.8, "f1": 0.3}``.

    Raises:
        InvalidInputError: On a malformed spec, an unknown metric or a latency metric.
    """
    gates: dict[str, float] = {}
    for spec in specs:
        name, sep, value = spec.partition("=")
        name = name.strip()
        if not sep:
            raise InvalidInputError(f"--fail-under {spec!r}: write METRIC=VALUE, e.g. f1=0.3")
        if name not in METRIC_KEYS:
            raise InvalidInputError(
                f"--fail-under: unknown metric {name!r}; known: {', '.join(METRIC_KEYS)}"
            )
        if name in LATENCY_KEYS:
            raise InvalidInputError(
                f"--fail-under: {name} is lower-is-better, so a floor on it gates nothing"
            )
        try:
            gates[name] = float(value)
        except ValueError:
            raise InvalidInputError(f"--fail-under {spec!r}: {value!r} is not a number") from None
    return gates


def check_gates(metrics: dict[str, float | None], gates: dict[str, float]) -> list[str]:
    """One message per failing gate; a metric the dataset does not measure fails too."""
    failures = []
    for name, floor in gates.items():
        value = metrics.get(name)
        if value is None:
            failures.append(f"FAIL {name}: not measured on this dataset (required >= {floor:g})")
        elif value < floor:
            failures.append(f"FAIL {name} = {value:.4f} < {floor:g}")
    return failures


def main(
    argv: Sequence[str] | None = None,
    *,
    embedder: Embedder | None = None,
    out: TextIO | None = None,
) -> int:
    """Run ``rag eval``; returns the exit status (0 ok, 1 error or failed gate).

    Args:
        argv: The arguments after ``rag eval``.
        embedder: Inject an embedding model (tests); the bundled one by default.
        out: Where the table goes (stdout by default); messages go to stderr.
    """
    out = out or sys.stdout
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--"]:  # `rag eval -- --dataset ...`
        argv = argv[1:]
    try:
        args = build_parser().parse_args(argv)
        return _run(args, embedder, out)
    except RagError as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_FAIL
    except SystemExit as e:  # --help
        return int(e.code or 0)


def _run(args: argparse.Namespace, embedder: Embedder | None, out: TextIO) -> int:
    from eval import report as rep

    gates = parse_gates(args.fail_under)
    try:  # fail now rather than after a long run
        args.out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise InvalidInputError(f"cannot create the output directory {args.out}: {e}") from e
    started = time.perf_counter()
    dataset = load_dataset(args.dataset, args.format)
    kind = _kind(dataset)
    if args.index_dir is not None and kind != "qa-jsonl":
        raise InvalidInputError(
            f"--index-dir is for qa-jsonl question sets; a {kind} dataset is indexed afresh"
        )
    if args.store is not None and args.index_dir is not None:
        raise InvalidInputError("give --index-dir or --store, not both")
    if args.store is not None and not args.store.startswith("milvus:"):
        raise InvalidInputError(f"--store takes a milvus:// address, not {args.store!r}")
    total = len(dataset.questions)
    if args.sample is not None:
        dataset = sample_questions(dataset, args.sample, args.seed)
    modes = COMPARE_MODES if args.compare else (args.mode,)
    config = RunConfig(
        modes=modes,
        k=args.k,
        answer=kind != "beir",
        show_progress=not args.no_progress,
        strictness=args.strictness,
        reader=args.reader,
    )
    with tempfile.TemporaryDirectory(prefix="rag-eval-") as tmp:
        target = args.store or Path(tmp) / "index"
        corpus = _corpus(dataset, kind, args.store or args.index_dir, target, embedder)
        indexed = time.perf_counter()
        runs = evaluate(dataset, corpus, config)
        finished = time.perf_counter()
        context = _context(args, dataset, kind, total, corpus, config)
        context["timings_s"] = {
            "load_and_index": round(indexed - started, 2),
            "questions": round(finished - indexed, 2),
            "total": round(finished - started, 2),
        }
    default = args.mode if args.mode in runs else next(iter(runs))
    report = rep.build_report(runs, default, context=context)
    written = rep.write_outputs(report, runs, args.out)
    print(rep.format_table(report["runs"]), file=out)
    print(f"wrote {', '.join(str(p) for p in written)}", file=sys.stderr)
    failures = check_gates(report["metrics"], gates)
    for line in failures:
        print(line, file=sys.stderr)
    return EXIT_FAIL if failures else EXIT_OK


def _kind(dataset: QADataset) -> str:
    if dataset.paragraph_spans:
        return "squad"
    return "beir" if dataset.documents else "qa-jsonl"


def _corpus(
    dataset: QADataset,
    kind: str,
    index_dir: str | Path | None,
    target: str | Path,
    embedder: Embedder | None,
) -> Any:
    from eval.corpus import build_corpus, existing_corpus

    if kind != "qa-jsonl":
        return build_corpus(dataset, target, embedder=embedder)
    return existing_corpus(open_index(index_dir, embedder=embedder))


def _context(
    args: argparse.Namespace,
    dataset: QADataset,
    kind: str,
    total: int,
    corpus: Any,
    config: RunConfig,
) -> dict[str, Any]:
    import rag
    from eval.report import git_commit
    from rag.answering import load_config

    opened = corpus.rag
    embedder = opened.embedder
    return {
        "config": {
            "mode": args.mode,
            "modes": list(config.modes),
            "compare": args.compare,
            "k": args.k,
            "strictness": args.strictness,
            "reader": use_reader(args.reader),
            "sample": args.sample,
            "seed": args.seed,
            "index_dir": str(args.index_dir) if args.index_dir else None,
            "store": args.store,
            "fusion": dataclasses.asdict(opened.fusion),
            "chunking": dataclasses.asdict(opened.chunk_config),
            "answering": load_config().to_json(),
        },
        "dataset": {
            "path": str(args.dataset),
            "format": kind,
            "name": dataset.name,
            "sha256": dataset.sha256,
            "documents": len(dataset.documents),
            "questions_total": total,
            "questions_evaluated": len(dataset.questions),
        },
        "index": {
            "documents": len(opened.documents()),
            "passages": len(opened.passages()),
            "skipped_documents": list(corpus.skipped),
        },
        "model": {"name": embedder.name, "sha256": embedder.sha256},
        "version": rag.__version__,
        "git_commit": git_commit(Path(rag.__file__).resolve().parent.parent),
    }


if __name__ == "__main__":
    configure_logging()
    sys.exit(main())
