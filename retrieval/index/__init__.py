"""Index building and storage: layout, manifest, store, lexical fields, diacritic restoration."""
