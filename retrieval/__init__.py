"""Retrieval core of Trợ lý ảo: ingest → index → search → answer.

Nothing heavy is imported here: importing ``retrieval`` must stay cheap (the CLI and the
action server import submodules lazily, and models load only when first used).
"""
