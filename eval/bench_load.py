"""Load benchmark: 20 chat users asking at once, against what one question costs alone.

    python -m eval.bench_load [--clients 20] [--questions 300]

Starts ``rag serve`` over the bundled interview and asks through its HTTP API (``/ask``, as a
script or the chat page does). First one question at a time, to measure the server's CPU time
per question; then ``--clients`` clients asking back to back. Throughput is compared with two
cores' worth of questions (2 / the CPU seconds one question costs), p50/p95 latency is what a
client waited. The load runs twice, with questions asked at the same moment sharing one encoder
call (``rag.query_batch.QueryBatcher``, the default) and without (``RAG_QUESTION_BATCH=0``), in the
same run. Results are recorded in docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
QUESTIONS = REPO / "tests" / "data" / "corpus_retrieval_questions.jsonl"


def _ask(url: str, question: str) -> float:
    started = time.perf_counter()
    # The sentence scorer answers (reader off): the figures of docs/performance.md.
    body = json.dumps({"data": [question, 5, "hybrid", False, False]}).encode()
    request = urllib.request.Request(f"{url}/gradio_api/call/ask", data=body,
                                     headers={"content-type": "application/json"})  # fmt: skip
    with urllib.request.urlopen(request, timeout=120) as response:
        event = json.loads(response.read())["event_id"]
    with urllib.request.urlopen(f"{url}/gradio_api/call/ask/{event}", timeout=120) as stream:
        text = stream.read().decode()
    if "event: complete" not in text:
        raise RuntimeError(f"no answer for {question!r}: {text[:200]}")
    return time.perf_counter() - started


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _serve(
    index: Path, env: dict[str, str], timeout_s: float = 120
) -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    command = [sys.executable, "-m", "rag.cli", "serve", "--index-dir", str(index),
               "--port", str(port)]  # fmt: skip
    server = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            urllib.request.urlopen(url, timeout=1).close()
            return server, url
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()  # never leave a server behind
                raise RuntimeError("rag serve did not come up") from None
            time.sleep(0.1)


def _run(index: Path, questions: list[str], clients: int, batch: bool) -> dict[str, Any]:
    env = {**os.environ, "RAG_QUESTION_BATCH": "32" if batch else "0"}
    server, url = _serve(index, env)
    try:
        for q in questions[:10]:  # warm: the model loads on the first question
            _ask(url, q)
        alone = questions[:60]
        cpu = _cpu_seconds(server.pid)
        single = [_ask(url, q) for q in alone]
        per_question = (_cpu_seconds(server.pid) - cpu) / len(alone)
        cpu, started = _cpu_seconds(server.pid), time.perf_counter()
        lock, waits = threading.Lock(), []

        def client(n: int) -> None:
            for q in questions[n::clients]:
                waited = _ask(url, q)
                with lock:
                    waits.append(waited)

        with ThreadPoolExecutor(max_workers=clients) as pool:
            list(pool.map(client, range(clients)))
        elapsed = time.perf_counter() - started
        used = _cpu_seconds(server.pid) - cpu
    finally:
        server.terminate()
        server.wait(timeout=30)
    ordered = sorted(waits)
    throughput = len(waits) / elapsed
    return {
        "single_p50_ms": statistics.median(single) * 1000,
        "cpu_per_question_ms": per_question * 1000,
        "two_cores_worth": 2 / per_question,
        "throughput": throughput,
        "share": throughput * per_question / 2,
        "p50_ms": statistics.median(ordered) * 1000,
        "p95_ms": ordered[int(0.95 * (len(ordered) - 1))] * 1000,
        "server_cores_busy": used / elapsed,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--questions", type=int, default=300)
    args = parser.parse_args(argv)
    pool = [json.loads(line)["question"] for line in QUESTIONS.read_text().splitlines()]
    questions = [pool[i % len(pool)] for i in range(args.questions)]
    with tempfile.TemporaryDirectory(prefix="bench-load-") as tmp:
        index = Path(tmp) / "index"
        corpus = REPO / "rag" / "data" / "corpus"
        command = [sys.executable, "-m", "rag.cli", "index", str(corpus), "--index-dir",
                   str(index), "--no-progress"]  # fmt: skip
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        runs = {batch: _run(index, questions, args.clients, batch) for batch in (True, False)}
    print(
        f"{args.clients} clients, {args.questions} questions over HTTP /ask; alone: one at a time"
    )
    print(
        "encoder calls             alone p50 ms  CPU ms/q  2 cores q/s  load q/s  share  "
        "p50 ms  p95 ms  server cores"
    )
    for batch, r in runs.items():
        name = "shared (QueryBatcher)" if batch else "one per question"
        print(f"{name:<24}  {r['single_p50_ms']:>12.1f}  {r['cpu_per_question_ms']:>8.1f}  "
              f"{r['two_cores_worth']:>11.1f}  {r['throughput']:>8.1f}  {r['share']:>5.2f}  "
              f"{r['p50_ms']:>6.0f}  {r['p95_ms']:>6.0f}  "
              f"{r['server_cores_busy']:>12.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
