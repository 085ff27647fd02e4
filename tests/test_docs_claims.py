"""What the docs claim holds: the pre-commit snippets as written, and one set of hook
latency figures on every page that quotes them (issue 20, part 5)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from threatgraph.commands.init import HOOK_REPO, snippet
from threatgraph.util.yamlsafe import parse_text

ROOT = Path(__file__).resolve().parents[1]
HOOKS = ROOT / ".pre-commit-hooks.yaml"
EXPLAINED = "No release of threatgraph is tagged yet, so `rev:` pins a commit"


def _yaml_blocks(text: str) -> list[str]:
    return [b for b in re.findall(r"```yaml\n(.*?)```", text, re.S) if HOOK_REPO in b]


def _hook_comment_block() -> str:
    lines = [ln[2:] for ln in HOOKS.read_text().splitlines() if ln.startswith("#   ")]
    return "\n".join(lines) + "\n"


def _snippets() -> list[tuple[str, str]]:
    out = [(".pre-commit-hooks.yaml", _hook_comment_block()), ("threatgraph init", snippet())]
    for page in ("docs/workflow.md", "docs/code-review.md", "docs/discover.md"):
        blocks = _yaml_blocks((ROOT / page).read_text())
        assert blocks, f"{page} lost its pre-commit snippet"
        out += [(page, b) for b in blocks]
    return out


@pytest.mark.parametrize(("where", "text"), _snippets())
def test_precommit_snippet_as_written(where: str, text: str) -> None:
    doc: Any = parse_text(text, where)
    (repo,) = doc["repos"]
    assert repo["repo"] == HOOK_REPO
    # No release is tagged: a `v0.1.0` rev would make pre-commit fail to clone. The
    # placeholder is a commit id the pages explain how to fill in.
    assert repo["rev"] == "COMMIT_SHA", where
    shipped = {h["id"]: h for h in parse_text(HOOKS.read_text(), str(HOOKS))}
    for hook in repo["hooks"]:
        assert hook["id"] in shipped, (where, hook["id"])
        # Entries end with `--`: `args:` would arrive as file names and be refused.
        assert shipped[hook["id"]]["entry"].endswith(" --")
        assert "args" not in hook, (where, hook)


@pytest.mark.parametrize("page", ["docs/workflow.md", "docs/code-review.md"])
def test_pages_explain_the_commit_pin(page: str) -> None:
    text = " ".join((ROOT / page).read_text().split())
    assert EXPLAINED in text and "replace `COMMIT_SHA` with the full 40-character id" in text


def _latency(page: str) -> set[tuple[str, str, str]]:
    text = (ROOT / page).read_text()
    start = text.index("<!-- hook-latency")
    block = text[start : start + 1500]
    found = re.findall(r"(\d\.\d\d) s(?:\*\*)?(?: wall)? \((\d\.\d\d)-(\d\.\d\d) s\)", block)
    return set(found)


def test_every_page_quotes_the_same_hook_latency() -> None:
    pages = ["docs/workflow.md", "docs/performance.md"]
    figures = {p: _latency(p) for p in pages}
    assert len(figures["docs/workflow.md"]) == 2, figures  # with and without a model file
    assert figures["docs/workflow.md"] == figures["docs/performance.md"], figures
    # No page quotes another figure for the hook.
    for md in [*ROOT.glob("docs/*.md"), ROOT / "README.md"]:
        text = md.read_text()
        assert "pre-commit latency" not in text.lower(), md


def _count(text: str) -> int:
    return int(text.replace(",", ""))


def test_report_cost_counts_are_a_real_run(tmp_path: Path) -> None:
    # docs/reports.md quotes the counts of the benchmark estate's reports: regenerate them.
    import csv
    import importlib.util
    import json

    import yaml
    from workflow_util import run_cli

    text = " ".join((ROOT / "docs" / "reports.md").read_text().split())
    m = re.search(
        r"seed 1: ([\d,]+) elements, ([\d,]+) flows, ([\d,]+) findings of (\d+) threats, "
        r"as of (\d{4}-\d\d-\d\d)",
        text,
    )
    rows = re.search(r"`findings\.csv` [\d.]+ MB \(([\d,]+) rows\)", text)
    parts = re.search(r"Mermaid overview with (\d+) parts", text)
    assert m and rows and parts, "docs/reports.md no longer quotes the estate's counts"
    n_elements, n_flows, n_findings, n_threats = (_count(x) for x in m.groups()[:4])

    spec = importlib.util.spec_from_file_location("bench_generate", ROOT / "bench/generate.py")
    assert spec and spec.loader
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    doc = gen.estate(n_elements, 1)
    assert (len(doc["elements"]), len(doc["flows"])) == (n_elements, n_flows)
    estate = tmp_path / "estate.yaml"
    estate.write_text(yaml.safe_dump(doc, sort_keys=False, width=120))
    out = tmp_path / "out"
    code, _, err = run_cli(
        "report", str(estate), "--no-render", "--format", "json,csv,mermaid",
        "-o", str(out), "--as-of", m.group(5),
    )  # fmt: skip
    assert code in (0, 1), err
    (model_dir,) = [p for p in out.iterdir() if p.is_dir()]
    findings = json.loads((model_dir / "findings.json").read_text())["findings"]
    assert len(findings) == n_findings
    assert len({f["threat"] for f in findings}) == n_threats
    with (model_dir / "findings.csv").open(newline="", encoding="utf-8") as fh:
        assert sum(1 for _ in csv.reader(fh)) - 1 == _count(rows.group(1))  # less the header
    assert len(list(model_dir.glob("diagram-*.mmd"))) == int(parts.group(1))
