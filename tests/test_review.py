"""`threatgraph review` and code ownership (codemap) on fixture git repositories."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from workflow_util import commit_all, git, git_init, run_cli, write_config

from threatgraph.repo import codemap

DAY = "2026-06-01"
#: The rules these tests keep active: what the fixture expects does not move as the library grows.
KEEP = ("TG-VEC-001", "TG-SEC-002", "TG-SEC-005", "TG-PI-001", "TG-OUT-001")

MODEL = """\
from threatgraph import Model, control

m = Model("Support assistant")
internet = m.boundary("Internet", trust="untrusted")
cloud = m.boundary("Cloud", trust="internal")
articles = m.data("Help articles", classification="internal")
tickets = m.data("Customer tickets", classification="pii")
customer = m.actor("Customer", inside=internet)
app = m.app("Support app", inside=cloud, code=["src/app/**"])
guard = m.guardrail(
    "Prompt guard",
    inside=cloud,
    code=["src/guard/*.py"],
    controls=[control("guardrail.input_filter", evidence=["tests/test_guardrail.py"])],
)
retriever = m.vector_store(
    {retriever_name!r},
    id="retriever",
    inside=cloud,
    stores=[articles, tickets],
    multi_tenant=True,
    controls=["crypto.at_rest"],
    code=[{retriever_code!r}],
)
llm = m.llm("Answer model", inside=cloud)
orders = m.tool("Order lookup", inside=cloud, capabilities=["sql"], code=["src/tools/orders/"])
m.flow(customer, app, "question", protocol="https")
m.flow(app, guard, "question", protocol="https")
m.flow(guard, llm, "prompt", protocol="https")
m.flow(retriever, llm, "passages", data=[articles], protocol="https", operation="response")
m.flow(llm, app, "answer", protocol="https")
m.flow(app, orders, "order query", protocol="https")
m.accept(
    "TG-SEC-005/retriever",
    reason="Audit logging ships with the Q3 platform release.",
    owner="security@example.org",
    expires="2026-12-31",
)
"""

CODE = {
    "src/retriever/search.py": "def search(query):\n    return []\n",
    "src/retriever/index/build.py": "def build():\n    pass\n",
    "src/app/main.py": "def main():\n    pass\n",
    "src/guard/filter.py": "def screen(text):\n    return text\n",
    "src/tools/orders/query.py": "def run(order_id):\n    pass\n",
    "tests/test_guardrail.py": "def test_blocks_injection():\n    assert True\n",
    "docs/index.md": "# Support assistant\n",
}

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def _model(name: str = "Retriever", code: str = "src/retriever/**") -> str:
    return MODEL.format(retriever_name=name, retriever_code=code)


def _write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def _make_repo(root: Path, model: str) -> Path:
    git_init(root)
    _write(root, {**CODE, "models/assistant.py": model})
    write_config(root, 'models = ["models"]\n', keep=KEEP)
    commit_all(root, "base")
    git(root, "checkout", "-q", "-b", "feature")
    return root


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """main: the base commit; 'feature' checked out, no changes yet."""
    root = _make_repo(tmp_path / "repo", _model())
    monkeypatch.chdir(root)
    return root


def _touch(root: Path, rel: str, extra: str = "# changed\n") -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as fh:
        fh.write(extra)


def _review(*args: str) -> tuple[int, dict[str, object], str]:
    code, out, err = run_cli("review", "--as-of", DAY, "--format", "json", *args)
    assert code in (0, 1), err
    return code, json.loads(out), err


def _elements(doc: dict[str, object]) -> dict[str, dict[str, object]]:
    return {e["id"]: e for e in doc["elements"]}  # type: ignore[attr-defined,index]


# ------------------------------------------------------------------------------ review


def test_changing_the_retriever_lists_it_its_findings_and_changed_evidence(repo: Path) -> None:
    _touch(repo, "src/retriever/search.py")
    _touch(repo, "tests/test_guardrail.py")
    code, doc, _ = _review()
    assert code == 1  # TG-VEC-001 is open and high on the retriever
    els = _elements(doc)
    assert sorted(els) == ["retriever"]
    ret = els["retriever"]
    assert ret["files"] == ["src/retriever/search.py"]
    assert ret["patterns"] == ["src/retriever/**"]
    assert [(f["id"], f["status"], f["role"]) for f in ret["findings"]] == [  # type: ignore[attr-defined,index]
        ("TG-VEC-001/retriever", "open", "on"),
        ("TG-SEC-005/retriever", "accepted", "on"),
        ("TG-SEC-002/retriever", "mitigated", "on"),
    ]
    checklist = ret["checklist"]
    assert [(g["control"], g["state"]) for g in checklist] == [  # type: ignore[attr-defined,index]
        # TG-VEC-001: tenant isolation, or (for a semantic cache) scoped cache keys.
        ("authz.semantic_cache_isolation", "missing"),
        ("authz.tenant_isolation", "missing"),
        # TG-SEC-005: the prompt log, its other way to keep an audit trail, cannot be
        # declared on a vector store (the catalogue's applies_to), so it is not offered.
        ("audit.logging", "accepted"),
        # TG-SEC-002: field-level encryption, its alternative, is not offered on a vector
        # store either (the catalogue's applies_to).
        ("crypto.at_rest", "declared"),
    ]
    tenant = checklist[1]  # type: ignore[index]
    assert tenant["checks"][0]["rule"] == "TG-VEC-001"
    assert "tenant" in tenant["checks"][0]["text"]
    assert tenant["questions"]  # the catalogue's review questions
    assert [
        (e["owner_kind"], e["owner"], e["control"], e["files"])
        for e in doc["evidence_changed"]  # type: ignore[attr-defined]
    ] == [("element", "prompt-guard", "guardrail.input_filter", ["tests/test_guardrail.py"])]
    assert doc["unmapped"] == []
    assert doc["failing"] == [
        {"model": "support-assistant", "id": "TG-VEC-001/retriever", "severity": "high"}
    ]


def test_text_output_names_element_findings_and_controls(repo: Path) -> None:
    _touch(repo, "src/retriever/search.py")
    _touch(repo, "tests/test_guardrail.py")
    code, out, _ = run_cli("review", "--as-of", DAY)
    assert code == 1
    assert "Retriever [vector_store] in Support assistant (models/assistant.py:16)" in out
    assert "OPEN high TG-VEC-001/retriever: Multi-tenant vector store" in out
    assert "accepted by security@example.org until 2026-12-31 medium TG-SEC-005/retriever" in out
    assert "mitigated medium TG-SEC-002/retriever" in out
    assert "[ ] authz.tenant_isolation (Tenant isolation): MISSING; TG-VEC-001/retriever" in out
    assert "[ ] guardrail.input_filter (Input guardrail" in out
    assert "evidence changed: tests/test_guardrail.py" in out
    assert out.rstrip().endswith("FAIL: 1 open finding at or above 'high' on touched elements.")


def test_unmapped_file_is_listed_and_never_fails_by_default(repo: Path) -> None:
    _touch(repo, "docs/index.md")
    (repo / "tools").mkdir()
    (repo / "tools" / "new_script.sh").write_text("echo hi\n")  # untracked: counts too
    code, doc, _ = _review()
    assert code == 0
    assert doc["elements"] == [] and doc["evidence_changed"] == []
    assert doc["unmapped"] == ["docs/index.md", "tools/new_script.sh"]
    kinds = {f["path"]: f["kind"] for f in doc["changes"]["files"]}  # type: ignore[index]
    assert kinds == {"docs/index.md": "unmapped", "tools/new_script.sh": "unmapped"}

    code, out, _ = run_cli("review", "--as-of", DAY)
    assert code == 0
    assert "Changed files no element of the models covers (2):\n  docs/index.md\n" in out

    code, _, _ = run_cli("review", "--as-of", DAY, "--fail-on-unmapped")
    assert code == 1
    code, doc, _ = _review("--fail-on-unmapped", "--ignore", "docs/**", "--ignore", "tools")
    assert code == 0
    assert doc["unmapped"] == [] and doc["ignored"] == ["docs/index.md", "tools/new_script.sh"]


def test_review_table_of_the_config_sets_ignore_and_fail_on_unmapped(repo: Path) -> None:
    # The pre-commit hook takes no arguments: [review] in the config is how it gets them.
    _touch(repo, "docs/index.md")
    _touch(repo, "tools/new_script.sh")
    write_config(
        repo,
        'models = ["models"]\n\n[review]\nfail_on_unmapped = true\nignore = ["docs/**"]\n',
        keep=KEEP,
    )
    code, doc, _ = _review()
    assert code == 1  # tools/new_script.sh is unmapped, and the config says that fails
    assert doc["unmapped"] == ["tools/new_script.sh"] and doc["ignored"] == ["docs/index.md"]
    assert ".threatgraph.toml" in doc["model_files"]  # type: ignore[operator]
    # Flags add patterns and override the switch.
    code, doc, _ = _review("--ignore", "tools/**")
    assert code == 0 and doc["unmapped"] == []
    code, doc, _ = _review("--no-fail-on-unmapped")
    assert code == 0 and doc["unmapped"] == ["tools/new_script.sh"]


def test_review_table_errors_name_the_line(repo: Path) -> None:
    write_config(
        repo,
        'models = ["models"]\n\n[review]\nignor = ["docs/**"]\nignore = ["../up"]\n',
        keep=KEEP,
    )
    code, _, err = run_cli("review", "--as-of", DAY)
    assert code == 2
    lines = err.splitlines()
    assert any(
        ".threatgraph.toml:4: [review.ignor] unknown key (did you mean 'ignore'?)" in x
        for x in lines
    ), err
    assert any(".threatgraph.toml:5: [review.ignore]" in x and "'../up'" in x for x in lines), err


def test_gate_counts_open_findings_on_touched_elements_only(repo: Path) -> None:
    # The app sits on TG-OUT-001's route (LLM -> app -> SQL tool) and TG-PI-001's: both are
    # listed, neither is the app's own finding, so neither gates.
    _touch(repo, "src/app/main.py")
    code, doc, _ = _review("--fail-on", "low")
    assert code == 0, doc["failing"]
    app = _elements(doc)["support-app"]
    roles = {f["id"]: f["role"] for f in app["findings"]}  # type: ignore[attr-defined]
    assert roles == {"TG-OUT-001/order-lookup": "route", "TG-PI-001/answer-model": "route"}
    controls = [g["control"] for g in app["checklist"]]  # type: ignore[attr-defined]
    # Output handling is the app's business on that route; least privilege is the sink's.
    assert "output.parameterised_queries" in controls
    assert "authz.least_privilege" not in controls
    sql = next(g for g in app["checklist"] if g["control"] == "output.parameterised_queries")  # type: ignore[attr-defined]
    assert sql["checks"][0]["rule"] == "TG-OUT-001"
    assert any("SQL" in q for q in sql["questions"])

    # The SQL tool's own critical finding gates at critical.
    _touch(repo, "src/tools/orders/query.py")
    code, doc, _ = _review("--fail-on", "critical")
    assert code == 1
    assert [f["id"] for f in doc["failing"]] == ["TG-OUT-001/order-lookup"]  # type: ignore[attr-defined]

    # The retriever's open finding is high: below a critical gate, at a high one.
    git(repo, "checkout", "-q", "--", ".")
    _touch(repo, "src/retriever/search.py")
    assert _review("--fail-on", "critical")[0] == 0
    assert _review("--fail-on", "high")[0] == 1
    # Nothing touched: nothing gates, whatever the model's other open findings.
    git(repo, "checkout", "-q", "--", ".")
    code, doc, _ = _review("--fail-on", "info")
    assert code == 0 and doc["changes"]["files"] == []  # type: ignore[index]


def test_baselined_findings_do_not_gate(repo: Path) -> None:
    _touch(repo, "src/retriever/search.py")
    code, _, err = run_cli("baseline", "--as-of", DAY, "-o", "baseline.json")
    assert code == 0, err
    code, doc, _ = _review("--baseline", "baseline.json")
    assert code == 0
    ret = _elements(doc)["retriever"]
    assert ret["findings"][0]["baselined"] is True  # type: ignore[index]
    assert _review()[0] == 1


def test_file_list_mode_as_a_pre_commit_hook_passes_files(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, doc, _ = _review("src/retriever/search.py", "docs/index.md", "models/assistant.py")
    assert code == 1
    assert doc["changes"]["description"] == "3 files named"  # type: ignore[index]
    assert doc["changes"]["base"] is None  # type: ignore[index]
    assert sorted(_elements(doc)) == ["retriever"]
    assert doc["unmapped"] == ["docs/index.md"]
    assert doc["model_files"] == ["models/assistant.py"]  # for `threatgraph diff`, not a blind spot
    # Names are relative to the current directory; paths in the output to the repository.
    monkeypatch.chdir(repo / "src")
    code, doc, _ = _review("guard/filter.py")
    assert code == 0  # the guard has no findings of the kept rules
    assert _elements(doc)["prompt-guard"]["files"] == ["src/guard/filter.py"]
    # A file outside the repository and a directory are input errors.
    code, _, err = run_cli("review", "../../elsewhere.py")
    assert code == 2 and "outside the repository" in err
    code, _, err = run_cli("review", "guard")
    assert code == 2 and "is a directory" in err
    code, _, err = run_cli("review", "--base", "main", "guard/filter.py")
    assert code == 2 and "either --base REV or FILEs" in err


def test_base_revision_deleted_and_renamed_files(repo: Path) -> None:
    (repo / "scripts").mkdir()
    git(repo, "mv", "src/retriever/index/build.py", "scripts/build_index.py")
    (repo / "src" / "guard" / "filter.py").unlink()
    commit_all(repo, "move the index builder, drop the filter")
    code, doc, _ = _review("--base", "main")
    files = {f["path"]: f for f in doc["changes"]["files"]}  # type: ignore[index]
    # A rename is its old path (the retriever's code) and its new one (outside any element).
    assert sorted(files) == [
        "scripts/build_index.py",
        "src/guard/filter.py",
        "src/retriever/index/build.py",
    ]
    assert files["src/guard/filter.py"]["deleted"] is True
    assert files["src/retriever/index/build.py"]["elements"] == ["support-assistant/retriever"]
    assert sorted(_elements(doc)) == ["prompt-guard", "retriever"]
    assert doc["unmapped"] == ["scripts/build_index.py"]
    assert code == 1
    # The default base is the merge base with main: the same change.
    assert _review()[1]["changes"]["files"] == doc["changes"]["files"]  # type: ignore[index]
    code, _, err = run_cli("review", "--base", "no-such-rev")
    assert code == 2 and "not a git revision" in err


def test_test_id_evidence_and_decision_evidence(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = _model().replace(
        'evidence=["tests/test_guardrail.py"]',
        'evidence=["tests/test_guardrail.py::test_blocks_injection", "https://example.org/x"]',
    )
    model += (
        'm.mitigated("TG-PI-001/answer-model", reason="Red-team suite blocks the payloads.",'
        ' evidence=["tests/redteam/**"])\n'
    )
    root = _make_repo(tmp_path / "repo", model)
    _write(root, {"tests/redteam/test_payloads.py": "def test_x():\n    pass\n"})
    monkeypatch.chdir(root)
    code, doc, _ = _review("tests/test_guardrail.py", "tests/redteam/test_payloads.py")
    assert code == 0
    assert [(e["owner_kind"], e["control"], e["items"]) for e in doc["evidence_changed"]] == [  # type: ignore[attr-defined]
        ("decision", "TG-PI-001/answer-model", ["tests/redteam/**"]),
        ("element", "guardrail.input_filter", ["tests/test_guardrail.py::test_blocks_injection"]),
    ]
    assert doc["unmapped"] == []


def test_markdown_is_stable_and_escapes_model_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hostile = "Retr*ever <script>alert(1)</script> | `x` @security-team [a](http://evil)"
    root = _make_repo(tmp_path / "repo", _model(name=hostile))
    monkeypatch.chdir(root)
    _touch(root, "src/retriever/search.py")
    _touch(root, "tests/test_guardrail.py")
    first = run_cli("review", "--as-of", DAY, "--format", "markdown")
    second = run_cli("review", "--as-of", DAY, "--format", "markdown")
    assert first == second
    code, md, _ = first
    assert code == 1
    assert "<script>" not in md and "@security-team" not in md
    assert "[a](http://evil)" not in md  # escaped: no link
    heading = next(line for line in md.splitlines() if line.startswith("### Retr"))
    assert heading == (
        "### Retr\\*ever &lt;script&gt;alert(1)&lt;/script&gt; \\| \\`x\\` &#64;security-team "
        "\\[a\\](http://evil) (`vector_store`) · Support assistant"
    )
    assert "- [ ] **Tenant isolation** (`authz.tenant_isolation`): MISSING" in md
    assert (
        "[TG-VEC-001/retriever](https://github.com/threatgraph/threatgraph/blob/main/"
        "threats/rules/vector/TG-VEC-001/rule.yaml)"
    ) in md
    assert "### Controls to re-verify (their evidence changed)" in md
    # Written to a file: the same bytes.
    code, _, _ = run_cli("review", "--as-of", DAY, "--format", "markdown", "-o", "review.md")
    assert (root / "review.md").read_text(encoding="utf-8") == md


def test_rule_links_name_a_ref_that_exists(monkeypatch: pytest.MonkeyPatch) -> None:
    # No release is tagged (git tag lists none): links go to the default branch, and to the
    # installed version's tag once that tag is recorded as released.
    from threatgraph import __version__
    from threatgraph.reports import review as review_mod

    assert review_mod.rule_ref() == "main"
    assert review_mod.rule_ref("9.9.9") == "main"
    monkeypatch.setattr(review_mod, "RELEASE_TAGS", frozenset({f"v{__version__}"}))
    assert review_mod.rule_ref() == f"v{__version__}"
    assert review_mod.rule_ref("9.9.9") == "main"


def test_recorded_release_tags_are_tags_of_this_repository() -> None:
    from threatgraph.reports.review import RELEASE_TAGS

    root = Path(__file__).resolve().parents[1]
    if not (root / ".git").exists():
        pytest.skip("not a git checkout")
    tags = set(git(root, "tag", "--list").split())
    assert tags >= RELEASE_TAGS, sorted(RELEASE_TAGS - tags)


def test_json_and_text_are_deterministic_across_runs_and_directories(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _touch(repo, "src/retriever/search.py")
    a = run_cli("review", "--as-of", DAY, "--format", "json")
    monkeypatch.chdir(repo / "src" / "retriever")
    b = run_cli("review", "--as-of", DAY, "--format", "json")
    assert a == b


def test_escaping_and_bad_code_patterns_are_input_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _make_repo(tmp_path / "repo", _model(code="../other-repo/**"))
    monkeypatch.chdir(root)
    code, _, err = run_cli("check", "--as-of", DAY)
    assert code == 2
    assert (
        "models/assistant.py:16: [code] element retriever: code pattern '../other-repo/**' " in err
    )
    assert "leaves the repository" in err
    code, _, err = run_cli("review", "src/app/main.py")
    assert code == 2 and "leaves the repository" in err
    for bad in ("/etc/passwd", "https://example.org/x", "src/[z-a].py"):
        (root / "models" / "assistant.py").write_text(_model(code=bad), encoding="utf-8")
        code, _, err = run_cli("check", "--as-of", DAY)
        assert code == 2, bad
        assert "models/assistant.py:16: [code]" in err


def test_check_warns_about_code_patterns_that_match_no_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _make_repo(tmp_path / "repo", _model(code="src/retriver/**"))
    monkeypatch.chdir(root)
    code, out, err = run_cli("check", "--as-of", DAY)
    assert code == 1  # findings as before: the warning does not change the gate
    assert (
        "warning: models/assistant.py:16: element retriever: code pattern 'src/retriver/**' "
        "matches no file (did you mean 'src/retriever/**'?)"
    ) in err
    assert err.count("matches no file") == 1  # the other elements' patterns match
    code, out, _ = run_cli("check", "--as-of", DAY, "--format", "json")
    notices = json.loads(out)["notices"]
    assert [n["message"] for n in notices if "code pattern" in n["message"]] == [
        "element retriever: code pattern 'src/retriver/**' matches no file "
        "(did you mean 'src/retriever/**'?)"
    ]
    # An untracked file counts (git ls-files --others), an ignored one does not.
    (root / ".gitignore").write_text("build/\n")
    (root / "models" / "assistant.py").write_text(_model(code="build/out.py"))
    _write(root, {"build/out.py": "x = 1\n"})
    _, _, err = run_cli("check", "--as-of", DAY)
    assert "'build/out.py' matches no file" in err
    (root / "models" / "assistant.py").write_text(_model(code="src/new/**"))
    _write(root, {"src/new/thing.py": "x = 1\n"})
    _, _, err = run_cli("check", "--as-of", DAY)
    assert "matches no file" not in err


def test_review_without_any_code_patterns_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = re.sub(r"\s*code=\[[^\]]*\],?", "", _model()).replace(", )", ")")
    assert "code=" not in model
    root = _make_repo(tmp_path / "repo", model)
    monkeypatch.chdir(root)
    code, out, _ = run_cli("review", "src/app/main.py")
    assert code == 0
    assert "no element of the models names its code" in out
    assert "  src/app/main.py" in out


# ------------------------------------------------------------------------------ codemap


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("src/retriever/**", ["src/retriever/a.py", "src/retriever/sub/b.py"]),
        ("src/retriever", ["src/retriever/a.py", "src/retriever/sub/b.py"]),
        ("./src/retriever/", ["src/retriever/a.py", "src/retriever/sub/b.py"]),
        ("src\\retriever\\*.py", ["src/retriever/a.py"]),
        ("src/retriever/*.py", ["src/retriever/a.py"]),
        ("src/**/views.py", ["src/views.py", "src/x/y/views.py"]),
        ("**/b.py", ["src/retriever/sub/b.py"]),
        ("*.md", ["README.md"]),
        ("src/re*", ["src/retriever/a.py", "src/retriever/sub/b.py", "src/retrieverx.py"]),
        ("src/retriever?.py", ["src/retrieverx.py"]),
        ("src/retrieve?", ["src/retriever/a.py", "src/retriever/sub/b.py"]),
        ("src/retriever[xy].py", ["src/retrieverx.py"]),
        ("src/retriever[!x].py", []),
        ("*/w.yml", [".github/w.yml"]),
        ("a[]]b", ["a]b"]),
        ("src/a/../views.py", ["src/views.py"]),
        (
            ".",
            sorted(
                [
                    ".github/w.yml",
                    "README.md",
                    "a]b",
                    "src/retriever/a.py",
                    "src/retriever/sub/b.py",
                    "src/retrieverx.py",
                    "src/views.py",
                    "src/x/y/views.py",
                ]
            ),
        ),
        ("SRC/**", []),
    ],
)
def test_glob_semantics(pattern: str, expected: list[str]) -> None:
    files = [
        "src/retriever/a.py",
        "src/retriever/sub/b.py",
        "src/retrieverx.py",
        "src/views.py",
        "src/x/y/views.py",
        ".github/w.yml",
        "README.md",
        "a]b",
    ]
    index = codemap.FileIndex(files)
    pat = codemap.compile_pattern(pattern)
    assert index.matching(pat) == expected
    assert index.any_match(pat) == bool(expected)
    assert [f for f in sorted(files) if pat.matches(f)] == expected


@pytest.mark.parametrize(
    "pattern",
    [
        "",
        "  ",
        "/abs/path",
        "~/x",
        "C:\\x",
        "https://x/y",
        "../x",
        "a/../../x",
        "src/[z-a].py",
        "**/a/**/b/**/c/**/d/**/e",
    ],
)
def test_bad_patterns(pattern: str) -> None:
    with pytest.raises(codemap.PatternError):
        codemap.compile_pattern(pattern)


def test_many_stars_do_not_backtrack() -> None:
    pat = codemap.compile_pattern("*a*a*a*a*a*a*a*a*a*a*a*a*b")
    start = time.perf_counter()
    assert not pat.matches("a" * 250 + ".py")
    pat2 = codemap.compile_pattern("**/x/**/y/**/z/**/w")
    assert not pat2.matches("/".join(["x", "y", "z"] * 30))
    assert time.perf_counter() - start < 1.0


def test_file_listing_git_and_walk(tmp_path: Path) -> None:
    root = tmp_path / "plain"
    _write(root, {"a/b.py": "", "c.txt": "", ".git-not/x": ""})
    (root / "link").symlink_to(root / "a", target_is_directory=True)
    listed = codemap.list_files(root).files
    assert listed == [".git-not/x", "a/b.py", "c.txt", "link"]  # no descent into the symlink

    repo = tmp_path / "repo"
    git_init(repo)
    _write(repo, {"kept.py": "", "gone.py": "", ".gitignore": "ignored/\n", "ignored/x.py": ""})
    commit_all(repo, "c")
    (repo / "gone.py").unlink()  # deleted in the work tree
    _write(repo, {"new.py": ""})  # untracked
    assert codemap.list_files(repo).files == [".gitignore", "kept.py", "new.py"]


def test_thousand_files_are_checked_quickly(tmp_path: Path) -> None:
    files = [f"pkg{i // 100}/mod{i % 10}/file{i}.py" for i in range(1000)]
    index = codemap.FileIndex(files)
    pats = [codemap.compile_pattern(f"pkg{i}/**") for i in range(10)]
    pats += [codemap.compile_pattern(f"pkg{i}/mod*/file{i}*.py") for i in range(10)]
    pats += [codemap.compile_pattern(f"missing{i}/**/*.py") for i in range(30)]
    start = time.perf_counter()
    hits = [index.any_match(p) for p in pats]
    elapsed = time.perf_counter() - start
    assert hits == [True] * 20 + [False] * 30
    assert elapsed < 0.5


def test_verify_reports_unmatched_and_problems(tmp_path: Path) -> None:
    from threatgraph.load.registry import load_paths

    root = _make_repo(tmp_path / "repo", _model(code="src/nowhere/*.py"))
    model_file = root / "models" / "assistant.py"
    [lm] = load_paths([str(model_file)])
    report = codemap.verify(lm.model, root)
    assert [(u.element, u.pattern) for u in report.unmatched] == [("retriever", "src/nowhere/*.py")]
    assert report.patterns == 4 and not report.problems

    model_file.write_text(_model(code="/abs"), encoding="utf-8")
    [lm] = load_paths([str(model_file)])
    report = codemap.verify(lm.model, root)
    assert [(Path(p.file).name, p.line, p.field) for p in report.problems] == [
        ("assistant.py", 16, "code")
    ]
    assert report.unmatched == []  # nothing is listed while a pattern is bad


# ------------------------------------------------------------------------------ the docs

DOCS = Path(__file__).resolve().parents[1] / "docs" / "code-review.md"


def _blocks(text: str, lang: str) -> list[str]:
    return re.findall(rf"^```{lang}\n(.*?)^```$", text, flags=re.S | re.M)


def test_docs_worked_example_matches_a_real_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The orders assistant of docs/code-review.md, run as the page describes."""
    doc = DOCS.read_text(encoding="utf-8")
    example = doc[doc.index("## Worked example") :]
    model = next(b for b in _blocks(example, "python") if b.startswith("from threatgraph"))
    root = tmp_path / "shop"
    git_init(root)
    _write(
        root,
        {
            "pyproject.toml": '[tool.threatgraph]\nmodels = ["models"]\nfail_on = "high"\n',
            "models/orders_assistant.py": model,
            "src/chat/api.py": "def ask(question):\n    ...\n",
            "src/guard/screen.py": "def screen(text):\n    return text\n",
            "src/retriever/search.py": "def search(query):\n    return []\n",
            "src/tools/orders/query.py": (
                "def lookup(db, order_id):\n"
                '    return db.execute("SELECT * FROM orders WHERE id = ?", (order_id,))\n'
            ),
            "tests/test_guard.py": "def test_blocks_injection():\n    assert True\n",
        },
    )
    commit_all(root, "base")
    git(root, "checkout", "-q", "-b", "llm-sql-filters")
    _touch(root, "src/tools/orders/query.py", "# splices the model's filter into the SQL\n")
    _touch(root, "tests/test_guard.py", "def test_blocks_unicode_tricks():\n    assert True\n")
    _write(root, {"docs/faq.md": "# FAQ\n"})
    monkeypatch.chdir(root)

    code, out, _ = run_cli("review", "--as-of", DAY)
    assert code == 1
    shown = next(b for b in _blocks(example, "text") if b.startswith("threatgraph review:"))
    # Lines that depend on the example and on TG-OUT-001 must be exactly as the page shows
    # them; the commit id differs per run and other rules may grow with the library.
    wanted = [
        line
        for line in shown.splitlines()
        if not line.startswith("threatgraph review:")
        and (
            "TG-OUT-001" in line
            or "Order query tool" in line
            or "Input guard" in line
            or line.strip()
            in {
                "changed: src/tools/orders/query.py",
                "evidence changed: tests/test_guard.py",
                "docs/faq.md",
                "Touched elements (1):",
                "Changed files no element of the models covers (1):",
                "Controls whose evidence changed, re-verify (1):",
                "FAIL: 2 open findings at or above 'high' on touched elements.",
                # What closes TG-OUT-001, worded as `check` words it.
                "missing, all needed: output.parameterised_queries, authz.least_privilege",
            }
        )
    ]
    assert len(wanted) >= 12, wanted
    for line in wanted:
        assert line in out.splitlines(), line
    assert shown.splitlines()[0].endswith("(merge base with main) .. working tree)")
    assert out.splitlines()[0].startswith("threatgraph review: 3 changed files (")

    code, md, _ = run_cli("review", "--as-of", DAY, "--format", "markdown")
    shown_md = next(b for b in _blocks(example, "markdown") if b.startswith("## threatgraph"))
    for line in shown_md.splitlines():
        if "TG-OUT-001" in line or line.startswith(("### ", "Declared at", "| Status")):
            assert line in md.splitlines(), line

    # The fix from the page: both controls declared with evidence; the review passes.
    fix = next(b for b in _blocks(example, "python") if b.startswith("order_tool = m.tool("))
    start = model.index("order_tool = m.tool(")
    end = model.index(")\n", model.index('code=["src/tools/orders/**"]')) + 2
    _write(root, {"models/orders_assistant.py": model[:start] + fix + model[end:]})
    _write(
        root,
        {
            "tests/test_orders_sql.py": "def test_model_text_is_bound():\n    pass\n",
            "infra/db/roles.sql": "-- read-only role for the order tool\n",
        },
    )
    code, doc_json, _ = _review()
    assert code == 0
    tool = _elements(doc_json)["order-query-tool"]
    assert {f["id"]: f["status"] for f in tool["findings"]}["TG-OUT-001/order-query-tool"] == (  # type: ignore[attr-defined]
        "mitigated"
    )
    states = {g["control"]: g["state"] for g in tool["checklist"]}  # type: ignore[attr-defined]
    assert states["output.parameterised_queries"] == "declared"
    assert states["authz.least_privilege"] == "declared"
    assert doc_json["model_files"] == ["models/orders_assistant.py"]
    reverify = {e["control"] for e in doc_json["evidence_changed"]}  # type: ignore[attr-defined]
    assert {"output.parameterised_queries", "authz.least_privilege"} <= reverify


# ------------------------------------------------------------------------------ pre-commit

ROOT = Path(__file__).resolve().parents[1]
SNAPSHOT = ("pyproject.toml", "README.md", "LICENSE", ".pre-commit-hooks.yaml", "src", "threats")


@pytest.mark.slow
@pytest.mark.skipif(
    importlib.util.find_spec("pre_commit") is None, reason="pre-commit is not installed"
)
def test_pre_commit_review_hook_gates_on_touched_elements(tmp_path: Path) -> None:
    """`pre-commit try-repo` with the threatgraph-review hook of this checkout."""
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    for name in SNAPSHOT:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, hooks / name, ignore=shutil.ignore_patterns("__pycache__"))
        elif src.is_file():
            shutil.copy2(src, hooks / name)
    git_init(hooks)
    rev = commit_all(hooks, "snapshot")
    consumer = _make_repo(tmp_path / "consumer", _model())
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "PRE_COMMIT"))}
    env.update({"PRE_COMMIT_HOME": str(tmp_path / "pc-home"), "PRE_COMMIT_COLOR": "never"})

    def try_repo(*files: str) -> tuple[int, str]:
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "pre_commit",
                "try-repo",
                str(hooks),
                "threatgraph-review",
                "--ref",
                rev,
                "--verbose",
                "--files",
                *files,
            ],
            cwd=consumer,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        return proc.returncode, proc.stdout + proc.stderr

    code, out = try_repo("src/retriever/search.py", "docs/index.md")
    assert code == 1, out
    assert "Retriever [vector_store] in Support assistant" in out
    assert "OPEN high TG-VEC-001/retriever" in out
    assert "FAIL: 1 open finding at or above 'high' on touched elements." in out
    code, out = try_repo("src/guard/filter.py", "docs/index.md")
    assert code == 0, out
    assert "Changed files no element of the models covers (1):\n  docs/index.md" in out
