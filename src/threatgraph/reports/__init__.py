"""Features' results rendered: coverage, test plans, diffs and reviews as text, Markdown, JSON."""
