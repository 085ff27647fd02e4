"""Checks on the shipped reference index, threats/references.yaml."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml
from helpers import shared_reference

REPO_ROOT = Path(__file__).resolve().parents[1]
INDEX_PATH = REPO_ROOT / "threats" / "references.yaml"
GENERATOR = REPO_ROOT / "tools" / "build_reference_index.py"

EXPECTED_EDITIONS = {
    "atlas": "5.6.0",
    "owasp-llm": "2025",
    "owasp-ml": "2023",
    "owasp-asi": "2026",
    "nist-aml": "e2025",
    "saif": "2024",
    "cwe": "4.16",
    "hipaa": "2013",
}


@pytest.fixture(scope="module")
def index() -> dict[str, Any]:
    data = yaml.safe_load(INDEX_PATH.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def test_every_scheme_has_title_edition_url(index: dict[str, Any]) -> None:
    schemes = index["schemes"]
    assert set(schemes) == set(EXPECTED_EDITIONS)
    assert set(index["entries"]) == set(EXPECTED_EDITIONS)
    for scheme, meta in schemes.items():
        assert meta["edition"] == EXPECTED_EDITIONS[scheme], scheme
        assert isinstance(meta["edition"], str), scheme
        assert meta["title"] and meta["url"].startswith("https://"), scheme
        assert index["entries"][scheme], f"{scheme} has no entries"


def test_every_entry_has_name_and_url(index: dict[str, Any]) -> None:
    for scheme, entries in index["entries"].items():
        for ident, entry in entries.items():
            assert isinstance(ident, str), (scheme, ident)
            assert isinstance(entry["name"], str) and entry["name"], (scheme, ident)
            assert entry["url"].startswith("https://"), (scheme, ident)


def test_atlas_counts(index: dict[str, Any]) -> None:
    atlas = index["entries"]["atlas"]
    counts = Counter(entry["type"] for entry in atlas.values())
    assert counts == {"tactic": 16, "technique": 170, "mitigation": 35}
    subs = [i for i, e in atlas.items() if e["type"] == "technique" and "parent" in e]
    assert len(subs) == 69


def test_atlas_references_resolve(index: dict[str, Any]) -> None:
    atlas = index["entries"]["atlas"]
    for ident, entry in atlas.items():
        if entry["type"] == "technique" and "parent" in entry:
            parent = entry["parent"]
            assert ident.startswith(parent + "."), ident
            assert atlas[parent]["type"] == "technique", ident
            assert "parent" not in atlas[parent], ident
        elif entry["type"] == "technique":
            assert entry["tactics"], ident
            for tactic in entry["tactics"]:
                assert atlas[tactic]["type"] == "tactic", (ident, tactic)
        elif entry["type"] == "mitigation":
            assert entry["techniques"], ident
            for technique in entry["techniques"]:
                assert atlas[technique]["type"] == "technique", (ident, technique)


def test_atlas_spot_checks(index: dict[str, Any]) -> None:
    atlas = index["entries"]["atlas"]
    assert atlas["AML.T0051"]["name"] == "LLM Prompt Injection"
    assert atlas["AML.T0051.001"] == {
        "name": "Indirect",
        "type": "technique",
        "parent": "AML.T0051",
        "url": "https://atlas.mitre.org/techniques/AML.T0051.001",
    }
    assert atlas["AML.TA0002"]["url"] == "https://atlas.mitre.org/tactics/AML.TA0002"
    assert atlas["AML.M0015"]["url"] == "https://atlas.mitre.org/mitigations/AML.M0015"


@pytest.mark.parametrize(
    ("scheme", "prefix"), [("owasp-llm", "LLM"), ("owasp-ml", "ML"), ("owasp-asi", "ASI")]
)
def test_owasp_top_tens_complete(index: dict[str, Any], scheme: str, prefix: str) -> None:
    expected = {f"{prefix}{n:02d}" for n in range(1, 11)}
    assert set(index["entries"][scheme]) == expected


def test_parents_resolve_in_other_schemes(index: dict[str, Any]) -> None:
    for scheme in ("nist-aml", "hipaa"):
        entries = index["entries"][scheme]
        for ident, entry in entries.items():
            if "parent" in entry:
                assert entry["parent"] in entries, (scheme, ident)


def test_hipaa_fields(index: dict[str, Any]) -> None:
    hipaa = index["entries"]["hipaa"]
    safeguards = {
        "administrative",
        "physical",
        "technical",
        "organizational",
        "documentation",
        "privacy",
        "breach",
    }
    for ident, entry in hipaa.items():
        assert ident.startswith("164."), ident
        assert entry["safeguard"] in safeguards, ident
        assert isinstance(entry.get("required", False), bool), ident
        section = ident.split("(", 1)[0]
        assert entry["url"] == f"https://www.ecfr.gov/current/title-45/section-{section}"
    assert hipaa["164.308(a)(1)(ii)(A)"]["required"] is True
    assert hipaa["164.312(e)(2)(ii)"]["required"] is False
    for ident in ("164.314(a)", "164.502(b)", "164.514(a)", "164.504(e)", "164.508", "164.402"):
        assert ident in hipaa, ident


def test_cwe_ids_and_urls(index: dict[str, Any]) -> None:
    cwe = index["entries"]["cwe"]
    assert len(cwe) >= 55
    for ident, entry in cwe.items():
        assert ident.startswith("CWE-") and ident[4:].isdigit(), ident
        assert entry["url"] == f"https://cwe.mitre.org/data/definitions/{ident[4:]}.html"
    assert cwe["CWE-1427"]["name"] == "Improper Neutralization of Input Used for LLM Prompting"


def test_brief_examples_resolve(index: dict[str, Any]) -> None:
    examples = [
        "atlas:AML.T0051.001@5.6.0",
        "owasp-llm:LLM01@2025",
        "hipaa:164.312(e)(1)@2013",
        "cwe:CWE-79@4.16",
        "nist-aml:NISTAML.015@e2025",
        "saif:prompt-injection@2024",
        "saif:shadow-agents@2025",
    ]
    for ref in examples:
        scheme, rest = ref.split(":", 1)
        ident, edition = rest.rsplit("@", 1)
        assert ident in index["entries"][scheme], ref
        entry = index["entries"][scheme][ident]
        assert entry.get("edition", index["schemes"][scheme]["edition"]) == edition, ref


def test_nist_entries_are_the_reports_index(index: dict[str, Any]) -> None:
    """NIST AI 100-2 E2025 numbers its attacks NISTAML.0xx under objectives .01-.04 and the
    supply-chain category .05; every attack names the groups it is listed under."""
    nist = index["entries"]["nist-aml"]
    groups = {f"NISTAML.0{n}" for n in range(1, 6)}
    assert groups <= set(nist)
    for ident, entry in nist.items():
        if entry["type"] == "attack":
            assert ident.startswith("NISTAML.0") and len(ident) == len("NISTAML.015"), ident
            assert entry["objectives"] and set(entry["objectives"]) <= groups, ident
            assert ident[:10] in entry["objectives"], ident
    assert nist["NISTAML.015"]["name"] == "Indirect Prompt Injection"
    assert nist["NISTAML.022"]["name"] == "Evasion"
    assert nist["NISTAML.033"]["name"] == "Membership Inference"
    # The agents section has no index id in the report.
    assert nist["genai.agent-security"]["type"] == "section"


def test_only_cosai_additions_carry_their_own_edition(index: dict[str, Any]) -> None:
    for ident, entry in index["entries"]["saif"].items():
        if entry["origin"] == "cosai":
            assert entry["edition"] == "2025", ident
        else:
            assert "edition" not in entry, ident
    for scheme, entries in index["entries"].items():
        if scheme != "saif":
            assert not any("edition" in e for e in entries.values()), scheme


def test_regeneration_is_byte_identical(tmp_path: Path) -> None:
    atlas_tsv = shared_reference("atlas-5.6.0.tsv")
    out = tmp_path / "references.yaml"
    subprocess.run(
        [sys.executable, str(GENERATOR), str(atlas_tsv), "-o", str(out)],
        check=True,
        cwd=REPO_ROOT,
    )
    assert out.read_bytes() == INDEX_PATH.read_bytes()


def test_missing_reference_skips_on_a_clone_and_fails_under_ci(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception):
        shared_reference("no-such-table.tsv")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true"):
        shared_reference("no-such-table.tsv")
