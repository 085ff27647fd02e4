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
