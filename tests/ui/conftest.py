"""Fixtures for the web chat: a private copy of the default index and the app served on loopback."""

from __future__ import annotations

import shutil
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest


@dataclass(frozen=True)
class LiveApp:
    url: str
    rag: object
    upload_dir: Path


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def ui_rag(default_rag, real_embedder, tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN001, ANN201
    """A copy of the session's default index, so uploads made by UI tests touch no other test."""
    from rag.opening import open_index

    copy = tmp_path_factory.mktemp("ui") / "index"
    shutil.copytree(default_rag.index_dir, copy)
    return open_index(copy, embedder=real_embedder)


@pytest.fixture(scope="session")
def live_app(ui_rag) -> Iterator[LiveApp]:  # noqa: ANN001
    """The chat over ``ui_rag``, served on a free loopback port in a background thread."""
    from ui.app import build_app, launch
    from ui.uploads import upload_dir_for

    app = build_app(ui_rag)
    port = free_port()
    launch(app, port=port, prevent_thread_lock=True, quiet=True)
    try:
        yield LiveApp(f"http://127.0.0.1:{port}/", ui_rag, upload_dir_for(ui_rag.index_dir))
    finally:
        app.close()


# Gradio's queue calls pandas in ways pandas 3 deprecates; not ours to fix, and not worth a page
# of warnings under every UI test.
_GRADIO_NOISE = (
    "ignore:'future.no_silent_downcasting' is deprecated",
    "ignore:The copy keyword is deprecated",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            for spec in _GRADIO_NOISE:
                item.add_marker(pytest.mark.filterwarnings(spec))
