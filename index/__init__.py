"""The store: documents, passages, their vectors and BM25, kept in one directory.

``index`` imports nothing from the stages above it (``rag``, ``ui``, ``eval``): they hand it
finished passages, vectors and terms (``PassageBatch``) and search it by vector and by terms.

- ``index.contract``  the ``PassageStore`` role and what crosses it
- ``index.passages``  ``PassageIndex``, the in-memory store (FAISS + bm25s)
- ``index.directory`` ``IndexDirectory``: snapshots on disk, atomic saves, locks
"""
