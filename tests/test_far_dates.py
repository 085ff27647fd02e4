"""Dates at the ends of the calendar: the vendor, HIPAA, SRA and policy code gives a result or
an input error with its file and line, never an OverflowError.

Python's dates run from 0001-01-01 to 9999-12-31; a date plus a day count past either end
overflows. Every date a model, a decisions file or ``--as-of`` can hold is drawn here, with
review intervals up to the schema's limit, and the run goes through the engine, the policy,
the HIPAA mapping, the SRA (both renderings) and the OTM export.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from helpers import builtin_library
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from threatgraph.cli import cli
from threatgraph.features import hipaa
from threatgraph.features.sra import build
from threatgraph.features.sra import html as sra_html
from threatgraph.features.sra import markdown as sra_md
from threatgraph.features.sra.build import days_after
from threatgraph.interop import otm_export
from threatgraph.model.schema import MAX_REVIEW_INTERVAL_DAYS, VendorProfile
from threatgraph.model.vendors import assessment_overdue
from threatgraph.pipeline import run
from threatgraph.policy import acceptance_problems
from threatgraph.util.errors import InputError

EDGES = [date.min, date(1, 1, 2), date(9999, 12, 30), date.max]
dates = st.one_of(st.sampled_from(EDGES), st.dates())
intervals = st.one_of(
    st.sampled_from([1, 365, MAX_REVIEW_INTERVAL_DAYS]),
    st.integers(1, MAX_REVIEW_INTERVAL_DAYS),
)


def _model(
    last: date | None, interval: int, cert: date, signed: date, expires: date, decided: date
) -> dict[str, Any]:
    lo, hi = sorted([signed, expires])
    vendor: dict[str, Any] = {
        "review_interval_days": interval,
        "certifications": [{"name": "soc2_type2", "expires": cert.isoformat()}],
        "baa": {"signed": lo.isoformat(), "expires": hi.isoformat()},
        "breach_notification_days": interval,
        "clauses": ["breach_notification", "phi_handling"],
    }
    if last is not None:
        vendor["last_assessment"] = last.isoformat()
    return {
        "threatgraph": 1,
        "model": {"name": "Far dates"},
        "boundaries": [{"name": "Cloud", "trust": "third_party"}],
        "data": [{"name": "Notes", "classification": "phi"}],
        "elements": [
            {"name": "Clinician", "kind": "actor"},
            {"name": "App", "kind": "app"},
            {"name": "Acme", "kind": "vendor", "boundary": "Cloud", "vendor": vendor},
            {"name": "LLM", "kind": "llm", "boundary": "Cloud", "provider": "acme"},
        ],
        "flows": [
            {"from": "Clinician", "to": "App", "data": ["Notes"]},
            {"from": "App", "to": "LLM", "data": ["Notes"]},
        ],
        "decisions": [
            {
                "finding": "TG-VEN-010/acme",
                "status": "accepted",
                "reason": "far dates",
                "owner": "sec",
                "date": min(decided, hi).isoformat(),
                "expires": hi.isoformat(),
            }
        ],
    }


@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    last=st.one_of(st.none(), dates),
    interval=intervals,
    cert=dates,
    signed=dates,
    expires=dates,
    decided=dates,
    as_of=dates,
)
def test_far_dates_give_a_result_everywhere(
    tmp_path: Path,
    last: date | None,
    interval: int,
    cert: date,
    signed: date,
    expires: date,
    decided: date,
    as_of: date,
) -> None:
    path = tmp_path / "far.json"
    doc = _model(last, interval, cert, signed, expires, decided)
    path.write_text(json.dumps(doc))
    if date.fromisoformat(doc["decisions"][0]["date"]) > as_of:
        # A decision dated after the run's date is refused (it would stretch the horizon).
        with pytest.raises(InputError) as exc:
            run([str(path)], as_of=as_of, library=builtin_library())
        assert {p.field for p in exc.value.problems} == {"date"}
        return
    r = run([str(path)], as_of=as_of, library=builtin_library())
    res = r.results[0]
    doc = build(res, builtin_library(), as_of)
    assert doc.as_of == as_of.isoformat()
    assert doc.next_review == days_after(as_of, 365)
    assert sra_md.render(doc) and sra_html.render(doc)
    hipaa.assess(builtin_library(), res.graph, res.findings, as_of)
    otm_export.document(res.loaded.model, res.findings, builtin_library().controls)
    for p in acceptance_problems(res.loaded.model.decisions, as_of, 1):
        assert (p.file, p.field) == (str(path), "expires") and p.line > 0
    prof = VendorProfile.model_validate(
        _model(last, interval, cert, signed, expires, decided)["elements"][2]["vendor"]
    )
    assert isinstance(assessment_overdue(prof, as_of), bool)


def test_days_after_saturates_at_the_end_of_the_calendar() -> None:
    assert days_after(date(2026, 1, 1), 365) == "2027-01-01"
    assert days_after(date(9999, 12, 30), 1) == "9999-12-31"
    assert days_after(date.max, 1) == "after 9999-12-31"
    assert days_after(date.max, MAX_REVIEW_INTERVAL_DAYS) == "after 9999-12-31"


@pytest.mark.parametrize("interval", [MAX_REVIEW_INTERVAL_DAYS + 1, 999_999_999_999, 10**400])
def test_a_review_interval_past_the_limit_is_an_input_error(tmp_path: Path, interval: int) -> None:
    doc = _model(date.max, 1, date.max, date.min, date.max, date.max)
    doc["elements"][2]["vendor"]["review_interval_days"] = interval
    path = tmp_path / "far.yaml"
    text = json.dumps(doc, indent=2)  # JSON is YAML: one key per line, so the line is known
    path.write_text(text)
    with pytest.raises(InputError) as exc:
        run([str(path)], library=builtin_library())
    (p,) = exc.value.problems
    line = next(i for i, ln in enumerate(text.splitlines(), 1) if "review_interval_days" in ln)
    assert (p.file, p.line) == (str(path), line)
    assert p.field == "elements.2.vendor.review_interval_days"


@pytest.mark.parametrize("as_of", ["9999-12-31", "0001-01-01"])
def test_sra_cli_at_the_ends_of_the_calendar(tmp_path: Path, as_of: str) -> None:
    path = tmp_path / "far.json"
    doc = _model(date.max, 36_500, date.max, date.min, date.max, date.max)
    if as_of != "9999-12-31":
        doc["decisions"] = []  # dated 9999-12-31: after this run's date, so refused
    path.write_text(json.dumps(doc))
    out = tmp_path / "sra"
    got = CliRunner().invoke(cli, ["sra", str(path), "-o", str(out), "--as-of", as_of])
    assert got.exit_code == 0, got.output
    md = (out / "sra-far-dates.md").read_text()
    assert "next due after 9999-12-31" in md
    if as_of == "9999-12-31":
        assert "after 9999-12-31, or earlier on a material change" in md
