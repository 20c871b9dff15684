"""Task registry: who leads what, with whom, by when, under which document (agency gazetteer + extraction)."""
