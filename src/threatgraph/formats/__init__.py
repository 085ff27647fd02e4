"""Output formats. Each reads findings and the model; none recomputes matching."""
