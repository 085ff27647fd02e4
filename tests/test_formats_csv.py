"""findings.csv: stable columns, one row per finding x mitigation, no formulas."""

from __future__ import annotations

import csv
import io
import json

from report_support import ASSISTANT, HOSTILE, render, text

from threatgraph.formats.csvout import COLUMNS, cell


def _rows(path, model):  # type: ignore[no-untyped-def]
    files = render(path, formats=("csv", "json"))
    raw = text(files, f"{model}/findings.csv")
    doc = json.loads(text(files, f"{model}/findings.json"))
    return raw, list(csv.reader(io.StringIO(raw, newline=""))), doc


def test_cells_never_start_a_formula() -> None:
    for bad in ("=1+1", "+1", "-1", "@SUM(A1)", " =1", "\t=1", "\r=1"):
        assert cell(bad).startswith("'"), bad
    assert cell("safe") == "safe" and cell(3) == "3" and cell(True) == "yes"
    assert cell("a\nb") == "a b" and cell(None) == ""


def test_columns_and_one_row_per_finding_and_mitigation() -> None:
    raw, rows, doc = _rows(ASSISTANT, "support-assistant")
    assert tuple(rows[0]) == COLUMNS
    assert raw.endswith("\r\n") and "\r\n" in raw
    body = rows[1:]
    expected = [(f["id"], m["control"]) for f in doc["findings"] for m in f["mitigations"]]
    assert [(r[1], r[COLUMNS.index("control")]) for r in body] == expected
    assert all(len(r) == len(COLUMNS) for r in body)
    col = {c: i for i, c in enumerate(COLUMNS)}
    accepted = next(r for r in body if r[col["finding_id"]] == "TG-RPT-003/customer-db")
    assert accepted[col["status"]] == "accepted"
    assert accepted[col["decision_owner"]] == "security@example.org"
    assert accepted[col["decision_expires"]] == "2027-03-01"
    assert accepted[col["file"]] == "tests/fixtures/report/assistant.yaml"
    assert accepted[col["present"]] == "no"
    assert accepted[col["declare_on"]] == "Customer DB or every route to Customer DB"
    present = next(
        r
        for r in body
        if r[col["finding_id"]] == "TG-RPT-004/web-app" and r[col["control"]] == "audit.logging"
    )
    assert present[col["present"]] == "yes" and present[col["declared_on"]] == "Support web app"


def test_hostile_values_are_defused() -> None:
    _raw, rows, _doc = _rows(HOSTILE, "hostile")
    cells = [c for r in rows[1:] for c in r]
    for c in cells:
        assert not c.startswith(("=", "+", "-", "@", "\t", "\r")), c
        assert "\n" not in c and "\r" not in c
    assert "'=cmd|' /C calc'!A0" in cells  # the decision ticket, prefixed


def test_text_is_what_the_csv_module_writes_for_the_rows() -> None:
    # render_csv joins the text itself (the csv module was the slowest part of the format):
    # it must stay byte for byte what csv.writer makes of rows().
    from report_support import analyse

    from threatgraph.formats.csvout import render_csv, rows
    from threatgraph.formats.view import ModelView

    for path in (ASSISTANT, HOSTILE):
        r = analyse(path)
        m = r.results[0]
        view = ModelView.build(m.graph, m.findings, r.library, r.as_of, "high", str(path))
        view.baselined_ids = {id(m.findings[0])}  # a 'yes' in the baselined column too
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
        w.writerow(COLUMNS)
        w.writerows(rows(view))
        assert render_csv(view) == buf.getvalue()


def test_quoting_matches_the_csv_module() -> None:
    from threatgraph.formats.csvout import quoted

    samples = ["", "plain", "a,b", 'say "hi"', "line\nbreak", "cr\rhere", " lead", "trail ", "'=x"]
    for s in samples:
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\r\n").writerow([s, "x"])
        assert buf.getvalue() == f"{quoted(s)},x\r\n", s
