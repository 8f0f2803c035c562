"""Files: atomic writes, checkpoint folders, pictures and arrays, JSON-lines logs."""
