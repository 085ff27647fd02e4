"""Utilities below every layer: errors, file reading, safe YAML, atomic writes, safe text."""
