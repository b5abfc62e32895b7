"""Where a Milvus index lives (``milvus://`` addresses) and the collections that hold it.

An index named ``NAME`` is five collections:

    NAME             one row per passage: ids, source, title, page, offsets, text, sentence
                     offsets, the dense vector and the BM25 sparse vector (``index.lexical``)
    NAME_sentences   one row per sentence: its passage and its dense vector
    NAME_documents   one row per 16,000 characters of a document's text, with its metadata
    NAME_terms       BM25 document frequencies, by sparse dimension
    NAME_meta        one row: model, settings, statistics, the save counter, retired documents

Every collection but the passages carries a two-dimensional ``unused`` vector: Milvus wants one
vector field in each collection. Rows carry ``added_in``, the save that wrote them; readers only
see rows of saves that finished (``index.milvus``).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from index.errors import InvalidInputError
from index.records import Document, Passage

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
            "meta": f"{base}_meta",
        }


def _name(name: str, text: str) -> str:
    if not _NAME.fullmatch(name):
        raise InvalidInputError(
            f"{text!r}: {name!r} cannot name a Milvus collection (letters, digits and "
            "underscores, not starting with a digit)"
        )
    return name


def create_collections(
    client: Any, names: dict[str, str], dimension: int, hnsw: dict[str, int]
) -> None:
    """Create the five collections of an index with their vector indexes."""
    from pymilvus import DataType, MilvusClient

    def schema(key: str, *, key_type: Any = DataType.VARCHAR) -> Any:
        s = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
        if key_type == DataType.VARCHAR:
            s.add_field("id", DataType.VARCHAR, is_primary=True, max_length=256)
        else:
            s.add_field("id", key_type, is_primary=True)
        if key not in ("terms", "meta"):
            s.add_field("added_in", DataType.INT64)
        return s

    def text(s: Any, *fields: str) -> None:
        for name in fields:
            s.add_field(name, DataType.VARCHAR, max_length=MAX_VARCHAR)

    passages = schema("passages")
    text(passages, "doc_id", "source", "title", "text")
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

    terms = schema("terms", key_type=DataType.INT64)
    terms.add_field("df", DataType.INT64)
    meta = schema("meta")
    meta.add_field("value", DataType.JSON)
    for s in (documents, terms, meta):
        s.add_field("unused", DataType.FLOAT_VECTOR, dim=UNUSED_DIM)

    for key, s in (
        ("passages", passages),
        ("sentences", sentences),
        ("documents", documents),
        ("terms", terms),
        ("meta", meta),
    ):
        params = client.prepare_index_params()
        if key == "passages":
            params.add_index(
                field_name="vector",
                index_type="HNSW",
                metric_type="IP",
                params={"M": hnsw["M"], "efConstruction": hnsw["efConstruction"]},
            )
            params.add_index(
                field_name="bm25", index_type="SPARSE_INVERTED_INDEX", metric_type="IP"
            )
        elif key == "sentences":
            params.add_index(field_name="vector", index_type="FLAT", metric_type="IP")
        else:
            params.add_index(field_name="unused", index_type="FLAT", metric_type="L2")
        client.create_collection(names[key], schema=s, consistency_level="Strong")
        client.create_index(names[key], params, sync=False)  # empty: built at once, no waiting
        client.load_collection(names[key])


# ----------------------------------------------------------------------- rows
PASSAGE_FIELDS = ["id", "doc_id", "source", "title", "text", "start", "end", "page", "sentences"]
DOCUMENT_FIELDS = ["doc_id", "part", "parts", "seq", "source", "title", "content_hash",
                   "passages", "page_starts"]  # fmt: skip


def passage_row(
    p: Passage, *, added_in: int, vector: Any, bm25: dict[int, float], length: int
) -> dict[str, Any]:
    return {
        "id": p.id,
        "added_in": added_in,
        "doc_id": p.doc_id,
        "source": p.source,
        "title": p.title,
        "text": p.text,
        "start": p.start,
        "end": p.end,
        "page": p.page,
        "length": length,
        "sentences": [list(s) for s in p.sentences],
        "vector": vector,
        "bm25": bm25,
    }


def passage_from_row(row: dict[str, Any]) -> Passage:
    return Passage(
        id=row["id"],
        doc_id=row["doc_id"],
        source=row["source"],
        title=row["title"],
        text=row["text"],
        start=int(row["start"]),
        end=int(row["end"]),
        page=int(row["page"]),
        sentences=tuple((int(s), int(e)) for s, e in row["sentences"]),
    )


def document_rows(doc: Document, *, added_in: int, seq: int, passages: int) -> list[dict[str, Any]]:
    """A document as rows of at most ``PART_CHARS`` characters; each row keeps the page starts
    that fall in its characters."""
    parts = max(1, -(-len(doc.text) // PART_CHARS))
    rows = []
    for part in range(parts):
        lo = part * PART_CHARS
        hi = (part + 1) * PART_CHARS if part < parts - 1 else len(doc.text) + 1
        rows.append(
            {
                "id": f"{doc.id}:{part}",
                "added_in": added_in,
                "doc_id": doc.id,
                "part": part,
                "parts": parts,
                "seq": seq,
                "source": doc.source,
                "title": doc.title,
                "content_hash": doc.content_hash,
                "passages": passages,
                "page_starts": [s for s in doc.page_starts if lo <= s < hi],
                "text": doc.text[lo:hi],
                "unused": [0.0] * UNUSED_DIM,
            }
        )
    return rows
