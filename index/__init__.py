"""The on-disk index: FAISS vectors, BM25 arrays, passages and a manifest in one directory."""
