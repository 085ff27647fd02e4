"""findings.csv: the mitigation checklist as a spreadsheet, one row per finding x mitigation.

Columns are fixed (``COLUMNS``) and rows sorted like every other format (worst finding first,
mitigations in rule order). Cells are safe to open in a spreadsheet: a cell that starts with
``=``, ``+``, ``-``, ``@``, a tab or a carriage return is prefixed with ``'`` so that it is
never taken for a formula (CSV injection); line breaks in model text become spaces.
"""

from __future__ import annotations

import re

from threatgraph.formats.base import ReportFormat, ReportInput
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
#: Characters that make the csv module quote a field (QUOTE_MINIMAL, excel dialect, CRLF).
_NEEDS_QUOTES = frozenset(',"\r\n')
#: Text that is its own cell: one line, no blank or formula start, nothing to quote.
_PLAIN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+/\-]*").fullmatch


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


def quoted(text: str) -> str:
    """A cell as the csv module writes it (QUOTE_MINIMAL): quoted only when it must be."""
    if _NEEDS_QUOTES.isdisjoint(text):
        return text
    return '"' + text.replace('"', '""') + '"'


def rows(view: ModelView) -> list[list[str]]:
    """Every finding x mitigation row, as cells."""
    out: list[list[str]] = []
    for f in view.findings:
        d = f.decision
        el = view.element(f.element)
        words = view.checklist_where(f)
        for c, where in zip(f.checklist, words, strict=True):
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
                        view.display_file(f.location.file),
                        f.location.line,
                        c.control,
                        view.control_title(c.control),
                        c.present,
                        where if c.present else view.declared_text(f, c.where),
                        "" if c.present else where,
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
    """The CSV text (RFC 4180: CRLF line ends, quotes doubled).

    Byte for byte what ``csv.writer(lineterminator="\\r\\n")`` writes for :func:`rows` (a
    test holds it to that), but a big model repeats most values thousands of times (rule
    titles, element names, control titles, where to declare a control): here each distinct
    value, and each run of cells that depends only on the rule, the element or the control,
    is cleaned, guarded, quoted and joined once.
    """
    texts: dict[str, str] = {}

    def text(value: str | None) -> str:
        key = value or ""
        got = texts.get(key)
        if got is None:
            got = texts[key] = quoted(cell(key))
        return got

    rules: dict[tuple[str, str, str, bool], str] = {}
    elements: dict[str, str] = {}
    controls: dict[tuple[str, bool, str | None], tuple[str, str]] = {}
    files: dict[str, str] = {}
    baselined = view.baselined_ids
    model = text(view.model_id)
    out = [",".join(map(quoted, COLUMNS))]
    put = out.append
    for f in view.findings:
        r = f.rule
        rkey = (r.id, f.severity, f.status, id(f) in baselined)  # view.baselined(f)
        rule = rules.get(rkey)
        if rule is None:
            rule = rules[rkey] = ",".join(
                (text(r.id), text(r.title), text(f.severity), text(f.status), cell(rkey[3]))
            )
        el = elements.get(f.element)
        if el is None:
            element = view.element(f.element)
            name = element.name if element else f.element
            el = elements[f.element] = ",".join(
                (text(f.element), text(name), text(view.kind_label(f.element)))
            )
        loc = f.location
        file = files.get(loc.file)
        if file is None:
            file = files[loc.file] = text(view.display_file(loc.file))
        fid = f.id if _PLAIN(f.id) else quoted(cell(f.id))
        # The fingerprint is 16 hex digits: nothing to guard or quote.
        head = f"{model},{fid},{f.fingerprint},{rule},{el},{file},{loc.line}"
        d = f.decision
        tail = (
            ",,,"
            if d is None
            else ",".join(
                (
                    text(d.owner),
                    text(d.expires.isoformat() if d.expires else ""),
                    text(d.ticket),
                    text(d.reason),
                )
            )
        )
        # Where a control was declared, or where to declare it (memoised in the view).
        words = view.checklist_where(f)
        for c, where in zip(f.checklist, words, strict=True):
            ckey = (c.control, c.present, c.why)
            control = controls.get(ckey)
            if control is None:
                title = text(view.control_title(c.control))
                control = controls[ckey] = (
                    f"{text(c.control)},{title},{cell(c.present)}",
                    text(c.why),
                )
            if c.present:
                put(f"{head},{control[0]},{text(where)},,{control[1]},{tail}")
            else:
                declared = text(view.declared_text(f, c.where)) if c.where else ""
                put(f"{head},{control[0]},{declared},{text(where)},{control[1]},{tail}")
    out.append("")
    return "\r\n".join(out)


class CsvFormat(ReportFormat):
    """findings.csv: one row per finding x mitigation."""

    name = "csv"
    summary = "findings.csv: the checklist, one row per finding x mitigation"

    def render(self, inp: ReportInput) -> dict[str, str | bytes]:
        """findings.csv for one model."""
        return {"findings.csv": render_csv(inp.view)}


FORMAT = CsvFormat()

__all__ = ["COLUMNS", "FORMAT", "cell", "quoted", "render_csv", "rows"]
