"""``python -m retrieval.cli``: the ``trolyao`` command without its console script (`make run` starts
the watcher this way)."""
from retrieval.cli import main

main()
