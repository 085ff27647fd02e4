"""The reference models in models/: each loads, checks, and shows what it is there to show.

They are the gallery new users learn from, so a library change that silences a model's
design questions (or makes the well-mitigated model fail) should be noticed here.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from threatgraph.cli import cli

ROOT = Path(__file__).resolve().parents[1]
MODELS = ROOT / "models"
AS_OF = "2026-12-01"  # inside every acceptance and vendor date the models record

# model file -> threat families whose findings (open or mitigated) it exists to illustrate
SHOWS: dict[str, set[str]] = {
    "ambient_scribe.py": {"vendor", "hipaa", "security", "misinformation"},
    "support_agent.py": {"prompt-injection", "agency", "disclosure", "vendor"},
    "fraud_detection.py": {"evasion", "poisoning", "privacy", "theft", "supply-chain"},
    "finetuning_platform.py": {"poisoning", "supply-chain", "privacy", "theft", "vendor"},
    "identity_verification.py": {"evasion", "poisoning", "vendor", "theft", "privacy"},
    "rag_search.yaml": {"prompt-injection", "disclosure", "poisoning", "supply-chain"},
}
WELL_MITIGATED = "rag_search.yaml"


def check(path: Path, *extra: str) -> tuple[int, dict[str, Any]]:
    res = CliRunner().invoke(
        cli, ["check", str(path), "--format", "json", "--as-of", AS_OF, *extra]
    )
    assert res.exit_code in (0, 1), res.output
    return res.exit_code, json.loads(res.stdout)


@pytest.mark.parametrize("name", sorted(SHOWS))
def test_reference_model_shows_its_families(name: str) -> None:
    _, doc = check(MODELS / name)
    families = Counter(f["family"] for f in doc["findings"])
    assert SHOWS[name] <= set(families), f"{name}: families {sorted(families)}"
    assert len(families) >= 5


@pytest.mark.parametrize("name", sorted(set(SHOWS) - {WELL_MITIGATED}))
def test_reference_models_have_open_design_questions(name: str) -> None:
    code, doc = check(MODELS / name)
    assert code == 1
    assert any(f["status"] == "open" for f in doc["findings"])


def test_well_mitigated_model_passes_the_default_gate_with_controls_only() -> None:
    code, doc = check(MODELS / WELL_MITIGATED)
    assert code == 0
    statuses = Counter(f["status"] for f in doc["findings"])
    # Every finding is mitigated by declared controls: no acceptances, no false positives.
    assert set(statuses) == {"mitigated"} and statuses["mitigated"] >= 15
    # ... and at the strictest gate too.
    assert check(MODELS / WELL_MITIGATED, "--fail-on", "info")[0] == 0


def test_models_readme_has_a_section_per_model() -> None:
    readme = (MODELS / "README.md").read_text(encoding="utf-8")
    for path in sorted(MODELS.iterdir()):
        if path.suffix in (".py", ".yaml", ".yml", ".json"):
            assert f"`{path.name}`" in readme, f"models/README.md does not describe {path.name}"


def test_dsl_flow_operation_matches_yaml(tmp_path: Path) -> None:
    # A download answers our own request: drawn from the hub's data into our job, with no
    # operation or as a response, it is the job reading it, not an unauthenticated call into
    # the more trusted zone (TG-SEC-003); declared as a write, the hub pushes into our zone.
    src = tmp_path / "m.py"
    src.write_text(
        "from threatgraph import Model\n"
        "m = Model('Downloads')\n"
        "net = m.boundary('Internet', trust='untrusted')\n"
        "corp = m.boundary('Corp', trust='internal')\n"
        "hub = m.dataset('Hub data', inside=net, source='public_hub')\n"
        "job = m.process('Fetcher', inside=corp)\n"
        "m.flow(hub, job, 'download', protocol='https', operation=OP)\n"
    )
    ids = {}
    for op in ("None", "'response'", "'write'"):
        src.write_text(src.read_text().replace("operation=OP", f"operation={op}"))
        _, doc = check(src)
        ids[op] = {f["threat"] for f in doc["findings"]}
        src.write_text(src.read_text().replace(f"operation={op}", "operation=OP"))
    assert "TG-SEC-003" not in ids["None"] and "TG-SEC-003" not in ids["'response'"]
    assert "TG-SEC-003" in ids["'write'"]
    src.write_text(src.read_text().replace("operation=OP", "operation='fetch'"))
    res = CliRunner().invoke(cli, ["validate", str(src)])
    assert res.exit_code == 2 and "m.py:7: [operation]" in res.output


def test_models_readme_names_only_findings_the_models_have() -> None:
    # Each model's section in models/README.md cites rule ids as "what the check shows".
    readme = (MODELS / "README.md").read_text(encoding="utf-8")
    sections = re.split(r"^## `([^`]+)`", readme, flags=re.M)
    checked = 0
    for name, body in zip(sections[1::2], sections[2::2], strict=True):
        cited = set(re.findall(r"TG-[A-Z]+-\d{3}", body))
        _, doc = check(MODELS / name)
        found = {f["threat"] for f in doc["findings"]}
        assert cited <= found, f"{name}: README cites {sorted(cited - found)}, not found"
        checked += len(cited)
    assert checked >= 40
