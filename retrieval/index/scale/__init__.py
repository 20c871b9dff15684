"""The index at national scale, simulated: synthetic vectors and postings shaped like a real index
(``shape``, ``synth``), FAISS structures and bm25s at 10^5–10^6 passages (``dense_runs``,
``lexical_runs``), milvus-lite beside them (``milvus_runs``); ``python -m retrieval.index.scale``."""
