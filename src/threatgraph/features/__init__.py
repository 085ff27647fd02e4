"""Features built on the analysis pipeline (discovery of AI components in code, ...)."""
