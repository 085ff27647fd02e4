"""findings.csv: the mitigation checklist as a spreadsheet, one row per finding x mitigation.

Columns are fixed (``COLUMNS``) and rows sorted like every other format (worst finding first,
mitigations in rule order). Cells are safe to open in a spreadsheet: a cell that starts with
``=``, ``+``, ``-``, ``@``, a tab or a carriage return is prefixed with ``'`` so that it is
never taken for a formula (CSV injection); line breaks in model text become spaces.
"""

from __future__ import annotations

import csv
import io

from threatgraph.formats.base import ReportFormat, ReportInput
from threatgraph.formats.common import display_path
from threatgraph.formats.view import ModelView, one_line

COLUMNS: tuple[str, ...] = (
    "model",
    "finding_id",
    "fingerprint",
    "threat",
    "title",
    "severity",
    "status",
    "baselined",
    "element",
    "element_name",
    "element_kind",
    "file",
    "line",
    "control",
    "control_title",
    "present",
    "declared_on",
    "declare_on",
    "why",
    "decision_owner",
    "decision_expires",
    "decision_ticket",
    "decision_reason",
)

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def cell(value: object) -> str:
    """One CSV cell: on one line, and never a spreadsheet formula."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    # one_line first: it strips leading blanks that would hide a formula from the check.
    text = one_line("" if value is None else str(value))
    if text.startswith(_FORMULA_START):
        text = "'" + text
    return text


def rows(view: ModelView) -> list[list[str]]:
    """Every finding x mitigation row, as cells."""
    out: list[list[str]] = []
    for f in view.findings:
        d = f.decision
        el = view.element(f.element)
        for c in f.checklist:
            out.append(
                [
                    cell(v)
                    for v in (
                        view.model_id,
                        f.id,
                        f.fingerprint,
                        f.rule.id,
                        f.rule.title,
                        f.severity,
                        f.status,
                        view.baselined(f),
                        f.element,
                        el.name if el else f.element,
                        view.kind_label(f.element),
                        display_path(f.location.file, view.base),
                        f.location.line,
                        c.control,
                        view.control_title(c.control),
                        c.present,
                        view.declared_text(f, c.where),
                        "" if c.present else view.places_text(f, c.places),
                        c.why or "",
                        d.owner if d else "",
                        d.expires.isoformat() if d and d.expires else "",
                        d.ticket if d else "",
                        d.reason if d else "",
                    )
                ]
            )
    return out


def render_csv(view: ModelView) -> str:
    """The CSV text (RFC 4180: CRLF line ends, quotes doubled)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    w.writerow(COLUMNS)
    w.writerows(rows(view))
    return buf.getvalue()


class CsvFormat(ReportFormat):
    """findings.csv: one row per finding x mitigation."""

    name = "csv"
    summary = "findings.csv: the checklist, one row per finding x mitigation"

    def render(self, inp: ReportInput) -> dict[str, str | bytes]:
        """findings.csv for one model."""
        return {"findings.csv": render_csv(inp.view)}


FORMAT = CsvFormat()

__all__ = ["COLUMNS", "FORMAT", "cell", "render_csv", "rows"]
