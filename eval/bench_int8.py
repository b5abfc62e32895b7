"""The shipped reader in fp32 against int8 (torch dynamic quantisation of its linear layers):
held-out EM/F1 and time per window, in one run.

    python -m eval.bench_int8 [--data ../shared/data] [--repeat 3]

The held-out articles are the training pool's, the split ``rag/data/reader/reader.json``
records (the reader never trained on them); EM and F1 are ``eval.train_reader``'s (the gold
paragraph given, SQuAD 2.0 scoring at the no-answer threshold that maximises F1). The two models
alternate over the same windows, one thread per core as ``rag ask`` runs, so the ratio is
measured under the same load.
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings
from pathlib import Path
from typing import Any

from eval.reader_data import load_pool, make_windows, shipped_reader_pool, split_by_article
from eval.train_reader import evaluate
from eval.tuning import DEFAULT_DATA
from rag.answering.reader import Reader


def quantized(model: Any) -> Any:
    """``model`` with its linear layers in int8 (weights quantised once, activations per call)."""
    import torch
    from torch.ao.quantization import quantize_dynamic

    with warnings.catch_warnings():  # torch.ao's deprecation notices, a screenful per call
        warnings.simplefilter("ignore")
        return quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)


def _timed_evaluate(model: Any, examples: list, windows: Any) -> tuple[dict[str, float], float]:
    started = time.perf_counter()
    figures = evaluate(model, examples, windows)
    return figures, time.perf_counter() - started


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--repeat", type=int, default=3, help="alternations of the two models")
    args = parser.parse_args(argv)
    card, pool = shipped_reader_pool(args.data)
    config = card["config"]
    held = split_by_article(load_pool(pool), config["held_out"], config["seed"])[1]
    reader = Reader().load()
    fp32 = reader._model
    int8 = quantized(fp32)
    windows = make_windows(held, reader._tokenizer, config["max_length"], config["stride"])
    print(f"held-out: {len(held):,} questions, {len(windows):,} windows of {config['max_length']}")
    seconds: dict[str, list[float]] = {"fp32": [], "int8": []}
    figures: dict[str, dict[str, float]] = {}
    for _ in range(args.repeat):
        for name, model in (("fp32", fp32), ("int8", int8)):
            figures[name], elapsed = _timed_evaluate(model, held, windows)
            seconds[name].append(elapsed)
    for name in ("fp32", "int8"):
        per_window = statistics.median(seconds[name]) / len(windows) * 1000
        print(
            f"{name}: held-out EM {figures[name]['em']:.3f}  F1 {figures[name]['f1']:.3f}  "
            f"{per_window:.2f} ms per window (median of {args.repeat})"
        )
    ratio = statistics.median(seconds["int8"]) / statistics.median(seconds["fp32"])
    print(f"int8 / fp32 time: {ratio:.2f}x")


if __name__ == "__main__":
    main()
