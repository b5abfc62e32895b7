"""Where a Milvus index lives (``milvus://`` addresses) and the collections that hold it.

An index named ``NAME`` is six collections:

    NAME             one row per passage: ids, source, title, page, offsets, text, sentence
                     offsets, the dense vector and the BM25 sparse vector (``index.lexical``)
    NAME_sentences   one row per sentence: its passage and its dense vector
    NAME_documents   one row per 16,000 characters of a document's text, with its metadata
    NAME_terms       BM25 document frequencies, by sparse dimension
    NAME_retired     documents replaced or removed, by the save that retired them
    NAME_meta        one row: model, settings, statistics, the save counter

Rows are versioned: each carries ``added_in``, the save that wrote it, and its primary key ends
in ``@<save>``, so a save never overwrites a row another save's readers use (``index.milvus``).
Every collection but the passages and sentences carries a two-dimensional ``unused`` vector:
Milvus wants a vector field in each collection.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from index.errors import IndexStoreError, InvalidInputError

SCHEME = "milvus"
DEFAULT_COLLECTION = "rag"
DEFAULT_PORT = 19530
PART_CHARS = 16_000
"""Characters of document text per row: at most 64,000 bytes of UTF-8, under VARCHAR's 65,535."""
MAX_VARCHAR = 65_535
UNUSED_DIM = 2
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,200}")


def is_milvus_address(text: str | os.PathLike[str]) -> bool:
    return isinstance(text, str) and text.startswith(f"{SCHEME}:")


@dataclass(frozen=True)
class MilvusAddress:
    """A parsed ``milvus://`` address.

    ``milvus:///abs/path/rag.db[?collection=NAME]`` is a Milvus Lite database file (one process
    at a time); ``milvus://host[:port]/NAME`` a Milvus server (Standalone or Distributed).

    Attributes:
        uri: What ``MilvusClient`` is given: the ``.db`` path or ``http://host:port``.
        collection: The passages collection's name (the others are named after it).
        lite: Whether ``uri`` is a Milvus Lite file.
        local_dir: A folder on this machine for what is not kept in Milvus: the writer's lock,
            the chat's uploads, ``rag calibrate``'s thresholds.
    """

    uri: str
    collection: str
    lite: bool
    local_dir: Path

    @classmethod
    def parse(cls, text: str) -> MilvusAddress:
        parts = urlsplit(text)
        if parts.scheme != SCHEME:
            raise InvalidInputError(f"{text!r} is not a milvus:// address")
        query = parse_qs(parts.query)
        if not parts.netloc:  # milvus:///path/to/file.db
            path = Path(parts.path).expanduser()
            if not path.is_absolute() or path.suffix != ".db":
                raise InvalidInputError(
                    f"{text!r}: a Milvus Lite address names an absolute path ending in .db, "
                    "such as milvus:///home/me/rag.db"
                )
            collection = _name(query.get("collection", [DEFAULT_COLLECTION])[0], text)
            local = path.with_name(f"{path.name}.files") / collection
            return cls(str(path), collection, True, local)
        collection = _name(parts.path.strip("/") or DEFAULT_COLLECTION, text)
        try:
            host, port = parts.hostname or "localhost", parts.port or DEFAULT_PORT
        except ValueError as e:
            raise InvalidInputError(f"{text!r}: {e}") from e
        cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
        local = cache / "rag-quotes" / "milvus" / f"{host}_{port}" / collection
        return cls(f"http://{host}:{port}", collection, False, local)

    def __str__(self) -> str:
        if self.lite:
            suffix = (
                "" if self.collection == DEFAULT_COLLECTION else f"?collection={self.collection}"
            )
            return f"{SCHEME}://{self.uri}{suffix}"
        return f"{SCHEME}://{self.uri.removeprefix('http://')}/{self.collection}"

    def names(self) -> dict[str, str]:
        base = self.collection
        return {
            "passages": base,
            "sentences": f"{base}_sentences",
            "documents": f"{base}_documents",
            "terms": f"{base}_terms",
            "retired": f"{base}_retired",
            "meta": f"{base}_meta",
        }


def _name(name: str, text: str) -> str:
    if not _NAME.fullmatch(name):
        raise InvalidInputError(
            f"{text!r}: {name!r} cannot name a Milvus collection (letters, digits and "
            "underscores, not starting with a digit)"
        )
    return name


@contextlib.contextmanager
def translate_errors(address: MilvusAddress) -> Iterator[None]:
    """Milvus's failures as ``IndexStoreError``: one line the CLI and the chat can show."""
    try:
        yield
    except IndexStoreError:
        raise
    except Exception as e:  # pymilvus raises MilvusException, gRPC and Milvus Lite errors
        if type(e).__module__.split(".")[0] not in ("pymilvus", "milvus_lite", "grpc"):
            raise
        message = " ".join(str(getattr(e, "message", None) or e).split())
        hint = ""
        if address.lite and ("lock" in message.lower() or "open local milvus" in message.lower()):
            hint = (
                " (a Milvus Lite file is used by one process at a time: to share it, run "
                "`milvus-lite server --data-dir DIR --port 19530` and use "
                "milvus://127.0.0.1:19530/NAME)"
            )
        raise IndexStoreError(f"Milvus at {address} failed: {message}{hint}") from e


class TranslatingClient:
    """A ``MilvusClient`` whose every call raises ``IndexStoreError`` on a Milvus failure."""

    def __init__(self, client: Any, address: MilvusAddress) -> None:
        self._client = client
        self.address = address

    def errors(self) -> contextlib.AbstractContextManager[None]:
        return translate_errors(self.address)

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._client, name)
        if not callable(attribute):
            return attribute

        def call(*args: Any, **kwargs: Any) -> Any:
            with translate_errors(self.address):
                return attribute(*args, **kwargs)

        return call


def create_collections(
    client: Any, names: dict[str, str], dimension: int, dense_index: dict[str, Any]
) -> None:
    """Create the six collections of an index; ``dense_index`` is the passages' vector index
    (``index_type`` FLAT or HNSW, and its ``params``)."""
    from pymilvus import DataType, MilvusClient

    def schema(key: str) -> Any:
        s = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
        s.add_field("id", DataType.VARCHAR, is_primary=True, max_length=MAX_VARCHAR)
        if key != "meta":
            s.add_field("added_in", DataType.INT64)
        return s

    def text(s: Any, *fields: str) -> None:
        for name in fields:
            s.add_field(name, DataType.VARCHAR, max_length=MAX_VARCHAR)

    passages = schema("passages")
    text(passages, "passage_id", "doc_id", "source", "title", "text")
    for name in ("start", "end", "page", "length"):
        passages.add_field(name, DataType.INT64)
    passages.add_field("sentences", DataType.JSON)
    passages.add_field("vector", DataType.FLOAT_VECTOR, dim=dimension)
    passages.add_field("bm25", DataType.SPARSE_FLOAT_VECTOR)

    sentences = schema("sentences")
    text(sentences, "doc_id", "passage_id")
    sentences.add_field("position", DataType.INT64)
    sentences.add_field("vector", DataType.FLOAT_VECTOR, dim=dimension)

    documents = schema("documents")
    text(documents, "doc_id", "source", "title", "content_hash", "text")
    for name in ("part", "parts", "seq", "passages"):
        documents.add_field(name, DataType.INT64)
    documents.add_field("page_starts", DataType.JSON)

    terms = schema("terms")
    terms.add_field("term", DataType.INT64)
    terms.add_field("df", DataType.INT64)
    retired = schema("retired")
    text(retired, "doc_id")
    retired.add_field("at", DataType.DOUBLE)
    meta = schema("meta")
    meta.add_field("value", DataType.JSON)
    for s in (documents, terms, retired, meta):
        s.add_field("unused", DataType.FLOAT_VECTOR, dim=UNUSED_DIM)

    collections = {"passages": passages, "sentences": sentences, "documents": documents,
                   "terms": terms, "retired": retired, "meta": meta}  # fmt: skip
    for key, s in collections.items():
        params = client.prepare_index_params()
        if key == "passages":
            params.add_index(field_name="vector", metric_type="IP", **dense_index)
            sparse = {"index_type": "SPARSE_INVERTED_INDEX", "metric_type": "IP"}
            params.add_index(field_name="bm25", **sparse)
        elif key == "sentences":
            params.add_index(field_name="vector", index_type="FLAT", metric_type="IP")
        else:
            params.add_index(field_name="unused", index_type="FLAT", metric_type="L2")
        client.create_collection(names[key], schema=s, consistency_level="Strong")
        client.create_index(names[key], params, sync=False)  # empty: built at once, no waiting
        client.load_collection(names[key])
