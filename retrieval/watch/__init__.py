"""The watcher (`trolyao watch`): new bulletins from folders and portal listings, captured and ingested.

sources.py names what to watch, fetcher.py asks a portal politely, capture.py keeps each page as it
came, ledger.py remembers what was seen and what each generation added, watcher.py runs the cycles.
"""
