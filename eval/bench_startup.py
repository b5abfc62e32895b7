"""Start-up benchmark: how long each command takes to become useful, in fresh processes.

    python -m eval.bench_startup [--repeat 5]

Against an existing index over the bundled corpus (built first, not timed): ``rag --help``,
``rag documents``, a cold ``rag ask`` (the model loads), and ``rag serve`` until its page answers
over HTTP; beside the floor every Python command pays, ``python -c pass``, measured in the same
run. Medians of ``--repeat`` runs, interleaved. Results are recorded in docs/performance.md.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

RAG = [sys.executable, "-m", "rag.cli"]


def _timed(command: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(
        command, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    return time.perf_counter() - started


def _serve_ready(index: Path, env: dict[str, str]) -> float:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    started = time.perf_counter()
    command = [*RAG, "serve", "--index-dir", str(index), "--port", str(port)]
    server = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1) as page:
                    if page.status == 200:
                        return time.perf_counter() - started
            except OSError:
                if server.poll() is not None or time.perf_counter() - started > 120:
                    raise RuntimeError("rag serve did not come up") from None
                time.sleep(0.05)
    finally:
        server.terminate()
        server.wait(timeout=30)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as tmp:
        index = Path(tmp) / "index"
        corpus = Path(__file__).resolve().parent.parent / "rag" / "data" / "corpus"
        subprocess.run([*RAG, "index", str(corpus), "--index-dir", str(index), "--no-progress"],
                       env=env, check=True, stdout=subprocess.DEVNULL)  # fmt: skip
        ask = [*RAG, "ask", "When was the interview taken?", "--index-dir", str(index)]
        steps = {
            "python -c pass (floor)": lambda: _timed([sys.executable, "-c", "pass"], env),
            "rag --help": lambda: _timed([*RAG, "--help"], env),
            "rag documents": lambda: _timed([*RAG, "documents", "--index-dir", str(index)], env),
            "rag ask --no-reader (cold: the model loads)": lambda: _timed(
                [*ask, "--no-reader"], env
            ),
            "rag ask (cold: the model and the reader load)": lambda: _timed(ask, env),
            "rag serve, until the page answers": lambda: _serve_ready(index, env),
        }
        times: dict[str, list[float]] = {name: [] for name in steps}
        for _ in range(args.repeat):
            for name, step in steps.items():
                times[name].append(step())
    width = max(len(name) for name in times)
    heading = f"{'command':<{width}} {'median s':>9} {'max s':>7}"
    print(f"{heading}   ({args.repeat} runs each, interleaved)")
    for name, found in times.items():
        print(f"{name:<{width}} {statistics.median(found):>9.2f} {max(found):>7.2f}")


if __name__ == "__main__":
    main()
