"""Search stage: hybrid retrieval (dense + two BM25 fields) over a loaded ``HybridIndex``."""
