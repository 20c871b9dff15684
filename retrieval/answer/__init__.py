"""Answer stage: extractive answers with citations, or an honest abstention."""
