"""The ids of the drift rules, importable without loading discovery (the config's ``disable``
table names them, and every command reads that table)."""

from __future__ import annotations

#: TG-DRIFT-001 (unmodelled component), -002 (dead code link), -003 (unmodelled package).
DRIFT_RULE_IDS: frozenset[str] = frozenset({"TG-DRIFT-001", "TG-DRIFT-002", "TG-DRIFT-003"})
