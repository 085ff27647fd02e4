"""The risk register as CSV and the whole analysis as JSON, for GRC tools and the next run.

The JSON export is what ``--previous`` reads back; it holds everything the document shows
except the drawn diagram. The CSV holds one row per finding with its rating and its plan.
A spreadsheet runs a cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
return as a formula, so such a cell gets a leading apostrophe (OWASP's advice for CSV
injection): model text never becomes a formula.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from typing import Any

from threatgraph.features.sra.build import Sra
from threatgraph.features.sra.doccontrol import FORMAT, FORMAT_VERSION

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

CSV_COLUMNS: tuple[tuple[str, str], ...] = (
    ("finding", "id"),
    ("rule", "rule"),
    ("threat", "title"),
    ("component", "element"),
    ("declared_at", "location"),
    ("status", "status"),
    ("severity", "severity"),
    ("ephi", "phi"),
    ("likelihood", "likelihood"),
    ("likelihood_reason", "likelihood_reason"),
    ("confidentiality", "confidentiality"),
    ("integrity", "integrity"),
    ("availability", "availability"),
    ("impact", "impact"),
    ("impact_reason", "impact_reason"),
    ("risk", "level"),
    ("score", "score"),
    ("residual_now", "residual_present_level"),
    ("residual_now_score", "residual_present_score"),
    ("residual_planned", "residual_planned_level"),
    ("residual_planned_score", "residual_planned_score"),
    ("response", "response"),
    ("owner", "owner"),
    ("due", "due"),
    ("ticket", "ticket"),
    ("progress", "progress"),
    ("planned_controls", "planned"),
    ("signoff", "signoff"),
    ("hipaa", "hipaa"),
    ("decision", "decision"),
)


def cell(value: object) -> str:
    """One CSV cell: lists joined with '; ', booleans yes/no, formula starts defused."""
    if isinstance(value, bool):
        text = "yes" if value else "no"
    elif value is None:
        text = ""
    elif isinstance(value, list):
        text = "; ".join(x if isinstance(x, str) else x[0] for x in value)
    else:
        text = str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def to_csv(docs: list[Sra]) -> str:
    """The register of every model, one row per finding, with the model id first."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(["model", *(name for name, _ in CSV_COLUMNS)])
    for s in docs:
        for r in s.risks:
            w.writerow([cell(s.model_id), *(cell(getattr(r, attr)) for _, attr in CSV_COLUMNS)])
    return buf.getvalue()


def to_data(s: Sra) -> dict[str, Any]:
    """The analysis as plain data (the drawn SVG left out: it is not data)."""
    data = dataclasses.asdict(s)
    data["network"].pop("svg", None)
    data["commit"] = s.doc.commit
    return {"format": FORMAT, "version": FORMAT_VERSION, **data}


def to_json(s: Sra) -> str:
    """One model's analysis as JSON, keys sorted."""
    return json.dumps(to_data(s), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
