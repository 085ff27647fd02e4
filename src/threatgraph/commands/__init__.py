"""CLI commands, one module each; modules starting with '_' are shared helpers."""
