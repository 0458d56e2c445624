"""Ingest: the release catalogue, each file's identity, fetching into the immutable archive, and
change detection against the published build (steps `detect` and `fetch`)."""
