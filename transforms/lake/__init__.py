"""The lake's files: summaries of what a lake or a run holds (no Beam pipeline here)."""
