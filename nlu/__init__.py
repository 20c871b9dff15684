"""Rasa NLU components for Vietnamese (run inside .venv-rasa, Rasa 3.6 on Python 3.10).

Registered in config.yml by module path. They read the gazetteer and the document-number
grammar from ``retrieval`` (pure-Python, no torch): the same vocabulary the index uses.
"""
