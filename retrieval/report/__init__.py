"""Reports: an agency's tasks as a Word document (`trolyao report`)."""
