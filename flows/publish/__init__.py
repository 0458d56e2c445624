"""Publish: a checked build becomes a new published version by one atomic switch (step `publish`)."""
