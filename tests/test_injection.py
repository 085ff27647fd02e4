"""Injection-proof outputs: a model whose every name and description is a payload renders,
in every format, to exactly the structure of the same model with plain names.

The payloads carry HTML and JavaScript, DOT and Mermaid metacharacters, Markdown link, table
and code syntax, spreadsheet formulas, quotes, backslashes, line breaks, every C0 control
character, DEL, U+0085, U+2028/U+2029, bidirectional overrides and zero-width characters.
The "twin" model is identical except that each name is plain text. Two hostile models are
checked this way: one generated here (every payload, every control character) and
tests/fixtures/hostile/hostile.yaml (its twin replaces every name, description, owner, reason,
ticket and unknown protocol). Then, per format:

- HTML: the same elements and attributes (as parsed by html.parser), in the same order;
- Markdown: line by line, the same unescaped metacharacters (table pipes, link brackets,
  angle brackets, backticks, emphasis, headings): no payload adds markup or breaks a table,
  a code span or the Mermaid fence;
- DOT: the same text once every quoted string is taken out; `dot -Tsvg` accepts it without a
  warning, the SVG holds the same elements, and each name is drawn literally;
- Mermaid: the same text once every quoted label is taken out (no node, edge, click or
  directive from a name), and labels hold no raw quote or angle bracket;
- CSV: as many rows and cells, none starting a formula, none holding a line break;
- JSON and SARIF: valid JSON (the findings schema and SARIF 2.1.0), names kept exactly.
"""

from __future__ import annotations

import csv
import html.parser
import io
import itertools
import json
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from report_support import FINDINGS_SCHEMA, HAVE_DOT, HOSTILE, ROOT, SARIF_SCHEMA

from threatgraph.formats.reportset import render_reports
from threatgraph.formats.view import one_line
from threatgraph.model.schema import ENCRYPTED_PROTOCOLS, PLAINTEXT_PROTOCOLS
from threatgraph.pipeline import run
from threatgraph.util.yamlsafe import load_document

CONTROLS = "".join(chr(c) for c in range(0x20)) + "\x7f\x85\u2028\u2029"
PAYLOADS = [
    "<script>fetch('http://127.0.0.1:9/x')</script>",
    '<img src="http://127.0.0.1:9/i.png" onerror="alert(1)">',
    "</script><script>alert(1)</script><!--",
    "</title></style></textarea><svg onload=alert(1)>",
    '"]; n99 [label="PWNED" URL="http://127.0.0.1:9/"]; n1 -> n99; x [label="',
    "\\N \\G \\E \\T \\H \\L \\l \\r \\n \\\\ trailing \\",
    'a"] --> evil["PWNED"]; click evil "http://127.0.0.1:9/" %% ',
    "%%{init: {'securityLevel': 'loose'}}%% end; subgraph X; style n1 fill:red",
    "`code` | pipe | [link](javascript:alert(1)) ![i](http://127.0.0.1:9/i.png)",
    "**bold** _em_ # heading\n- list\n> quote\n```\nfence\n```",
    '=HYPERLINK("http://127.0.0.1:9/","x")',
    "+SUM(1) -1+2 @cmd \t=tab \r=cr",
    "'single' \"double\" `back` \\back\\slash\\",
    "{{7*7}} ${7*7} <%= 7 %> #quot; #35; &amp; &lt;b&gt; &#x3C;",
    "ctl" + CONTROLS + "end",
    "\u202eevil\u202c \u200b\u200d\ufeff zero\u2066width\u2069",
    "line one\nline two\r\nthree\u2028four\u2029five\x85six",
]
KINDS = ["actor", "app", "llm", "agent", "tool", "vector_store", "datastore", "memory"]


def _model(hostile: bool) -> dict[str, Any]:
    """The hostile model, or its twin with plain names (same ids, kinds, flows, data)."""
    n = iter(range(1000))

    def name(i: int) -> str:
        return PAYLOADS[i % len(PAYLOADS)] if hostile else f"Plain name {next(n)}"

    elements = [
        {
            "id": f"e{i}",
            "name": name(i + 9),
            "kind": kind,
            "boundary": "outside" if i == 0 else "inside",
            "description": name(i + 3),
            **({"stores": ["d1"]} if kind in ("vector_store", "datastore", "memory") else {}),
        }
        for i, kind in enumerate(KINDS)
    ]
    flows = [
        {"from": f"e{i}", "to": f"e{i + 1}", "name": name(i + 5), "data": ["d0"]}
        for i in range(len(KINDS) - 1)
    ]
    flows.append({"from": "e2", "to": "e6", "name": name(11), "data": ["d1"], "protocol": "http"})
    return {
        "threatgraph": 1,
        "model": {"id": "inj", "name": name(0), "owner": name(1), "description": name(2)},
        "boundaries": [
            {"id": "outside", "name": name(4), "trust": "untrusted"},
            {"id": "inside", "name": name(6), "trust": "internal", "description": name(7)},
        ],
        "data": [
            {"id": "d0", "name": name(10), "classification": "pii"},
            {"id": "d1", "name": name(12), "classification": "secret"},
        ],
        "elements": elements,
        "flows": flows,
        "decisions": [
            {
                "finding": "TG-SEC-008/e2",
                "status": "accepted",
                "reason": name(13),
                "owner": name(14),
                "ticket": name(10),
                "date": "2026-05-01",
                "expires": "2027-04-01",
            }
        ],
    }


TEXT_KEYS = frozenset({"name", "description", "owner", "reason", "ticket", "protocol"})
KNOWN_PROTOCOLS = ENCRYPTED_PROTOCOLS | PLAINTEXT_PROTOCOLS


def _plain_twin(doc: Any) -> Any:
    """``doc`` with every display text replaced by plain words (ids and facts unchanged)."""
    n = itertools.count()

    def walk(value: Any, key: str | None = None) -> Any:
        if isinstance(value, dict):
            return {k: walk(v, k) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v, key) for v in value]
        if key in TEXT_KEYS and isinstance(value, str):
            if key == "protocol":  # a known protocol decides findings: keep it
                return value if value in KNOWN_PROTOCOLS else f"plain{next(n)}"
            return f"Plain text {next(n)}"
        return value

    return walk(doc)


def _docs(source: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(hostile model, plain twin) for a source: the generated model or hostile.yaml."""
    if source == "generated":
        return _model(True), _model(False)
    doc = json.loads(json.dumps(load_document(HOSTILE), default=str))
    return doc, _plain_twin(doc)


def _render(tmp: Path, name: str, doc: dict[str, Any]) -> dict[str, str]:
    src = tmp / f"{name}.json"
    src.write_text(json.dumps(doc), encoding="utf-8")
    result = run([src], as_of=date(2026, 6, 1))
    out = Path("/nonexistent-report-dir")
    formats = ["markdown", "html", "json", "sarif", "csv", "dot", "mermaid"]
    # No Graphviz in the HTML page: layout coordinates differ with label widths.
    with mock.patch("threatgraph.formats.render.find_renderer", return_value=None):
        files, _ = render_reports(result, out, formats, repo_root=ROOT)
    return {p.name: str(c) for p, c in files.items()}


@dataclass(frozen=True)
class Pair:
    """The files of the hostile model and of its plain twin, and the hostile model."""

    hostile: dict[str, str]
    plain: dict[str, str]
    doc: dict[str, Any]

    def names(
        self, sections: tuple[str, ...] = ("boundaries", "data", "elements", "flows")
    ) -> list[str]:
        """The hostile model's names as the formats show them (on one line)."""
        out = [self.doc["model"]["name"]]
        for section in sections:
            out += [x["name"] for x in self.doc.get(section, [])]
        return sorted({one_line(x) for x in out if one_line(x)})


@pytest.fixture(scope="module", params=["generated", "hostile.yaml"])
def pair(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Pair:
    tmp = tmp_path_factory.mktemp("injection")
    hostile, plain = _docs(request.param)
    return Pair(_render(tmp, "hostile", hostile), _render(tmp, "plain", plain), hostile)


# -- HTML ---------------------------------------------------------------------------------
def _html_skeleton(page: str) -> list[tuple[str, tuple[str, ...]]]:
    found: list[tuple[str, tuple[str, ...]]] = []

    class P(html.parser.HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            found.append((tag, tuple(sorted(k for k, _ in attrs))))

        def handle_endtag(self, tag: str) -> None:
            found.append(("/" + tag, ()))

        def handle_comment(self, data: str) -> None:
            found.append(("!--", ()))

    P(convert_charrefs=True).feed(page)
    return found


def test_html_has_the_structure_of_the_plain_twin(pair: Pair) -> None:
    hostile, plain = pair.hostile, pair.plain
    assert _html_skeleton(hostile["report.html"]) == _html_skeleton(plain["report.html"])
    page = hostile["report.html"]
    assert "<script>fetch" not in page and "<img" not in page and "<svg onload" not in page
    assert not re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", page)  # no raw control chars


# -- Markdown -----------------------------------------------------------------------------
_MD_META = re.compile(r"[|\[\]<>`*_#~$]|^\s*(?:[-+>]|\d+\.)\s|&")


def _md_skeleton(line: str) -> list[str]:
    """The Markdown metacharacters of a line not escaped (by a backslash or an entity)."""
    return _MD_META.findall(re.sub(r"\\.|&(?:[a-z]+|#\d+|#x[0-9a-f]+);", "", line))


def test_markdown_has_the_structure_of_the_plain_twin(pair: Pair) -> None:
    hostile, plain = pair.hostile, pair.plain
    h, p = hostile["report.md"].splitlines(), plain["report.md"].splitlines()
    assert len(h) == len(p)
    fence = False
    for a, b in zip(h, p, strict=True):
        if a.startswith("```"):
            fence = not fence
            assert a == b  # the fence lines are ours
            continue
        if fence:
            continue  # the Mermaid source: checked below as Mermaid
        assert _md_skeleton(a) == _md_skeleton(b), (a, b)
    assert hostile["report.md"].count("```") == plain["report.md"].count("```")


# -- DOT ----------------------------------------------------------------------------------
_DOT_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')


def test_dot_has_the_structure_of_the_plain_twin(pair: Pair) -> None:
    hostile, plain = pair.hostile, pair.plain
    assert _DOT_STRING.sub('""', hostile["diagram.dot"]) == _DOT_STRING.sub(
        '""', plain["diagram.dot"]
    )
    for quoted in _DOT_STRING.findall(hostile["diagram.dot"]):
        assert not re.search(r"[\x00-\x1f\x7f\u2028\u2029]", quoted), quoted


def _svg(dot: str) -> ET.Element:
    proc = subprocess.run(
        ["dot", "-Tsvg"], input=dot.encode("utf-8"), capture_output=True, timeout=60, check=False
    )
    assert proc.returncode == 0 and not proc.stderr.strip(), proc.stderr.decode()
    # Graphviz's own output, parsed only to read it back.
    return ET.fromstring(proc.stdout)


def _shape(svg: ET.Element) -> list[str]:
    """The SVG's tags in document order, a run of text elements counted as one."""
    out: list[str] = []
    for e in svg.iter():
        if not (e.tag.endswith("}text") and out and out[-1] == e.tag):
            out.append(e.tag)
    return out


@pytest.mark.skipif(not HAVE_DOT, reason="Graphviz dot is not installed")
def test_dot_is_accepted_and_draws_each_name_literally(pair: Pair) -> None:
    hostile, plain = pair.hostile, pair.plain
    svg, twin = _svg(hostile["diagram.dot"]), _svg(plain["diagram.dot"])
    # Long names are wrapped at spaces, so a label may have more lines than its twin's:
    # the same elements, but for the number of lines of text in a row.
    assert _shape(svg) == _shape(twin)
    assert not any(k.startswith("on") for e in svg.iter() for k in e.attrib)
    # The lines of one label, joined again where they were wrapped.
    texts = [" ".join((t.text or "") for t in g if t.tag.endswith("}text")) for g in svg.iter()]
    drawn = pair.names(("boundaries", "elements", "flows"))
    assert len(drawn) > 5
    for name in drawn:
        assert any(name in t for t in texts), name


# -- Mermaid ------------------------------------------------------------------------------
_MMD_LABEL = re.compile(r'"[^"]*"')


def _mermaid_sources(files: dict[str, str]) -> Iterator[str]:
    yield files["diagram.mmd"]
    yield from re.findall(r"```mermaid\n(.*?)\n```", files["report.md"], flags=re.S)


def test_mermaid_has_the_structure_of_the_plain_twin(pair: Pair) -> None:
    hostile, plain = pair.hostile, pair.plain
    pairs = list(zip(_mermaid_sources(hostile), _mermaid_sources(plain), strict=True))
    assert pairs
    for h, p in pairs:
        assert _MMD_LABEL.sub('""', h) == _MMD_LABEL.sub('""', p)
        for lab in _MMD_LABEL.findall(h):
            inner = lab[1:-1].replace("<br/>", "")
            assert not set(inner) & set('"<>\n\r`'), lab
        assert "%%{" not in h and "click" not in _MMD_LABEL.sub("", h).replace("click n", "")


# -- CSV ----------------------------------------------------------------------------------
def test_csv_has_the_shape_of_the_plain_twin_and_no_formula(pair: Pair) -> None:
    hostile, plain = pair.hostile, pair.plain
    h = list(csv.reader(io.StringIO(hostile["findings.csv"])))
    p = list(csv.reader(io.StringIO(plain["findings.csv"])))
    assert [len(r) for r in h] == [len(r) for r in p]
    for row in h[1:]:
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell
            assert not re.search(r"[\x00-\x1f\x7f\u2028\u2029]", cell), cell


# -- JSON and SARIF -----------------------------------------------------------------------
def test_json_and_sarif_are_valid_and_keep_names(pair: Pair) -> None:
    import jsonschema

    hostile = pair.hostile
    doc = json.loads(hostile["findings.json"])
    if FINDINGS_SCHEMA.is_file():
        jsonschema.validate(doc, json.loads(FINDINGS_SCHEMA.read_text()))
    sarif = json.loads(hostile["findings.sarif"])
    jsonschema.validate(sarif, json.loads(SARIF_SCHEMA.read_text()))
    assert doc["models"][0]["name"] == pair.doc["model"]["name"]  # data, kept exactly
    # every message is plain text with no raw control character (JSON escapes them all)
    for text in (hostile["findings.json"], hostile["findings.sarif"]):
        assert not re.search(r"[\x00-\x1f]", text.replace("\n", ""))


def test_one_line_fast_path_never_skips_a_control_character() -> None:
    # one_line skips its regular expression for printable text: that is only sound while
    # every character the expression replaces is non-printable.
    from threatgraph.formats.view import _CONTROL_CHARS, one_line

    leaky = [c for c in map(chr, range(0x30000)) if _CONTROL_CHARS.match(c) and c.isprintable()]
    assert leaky == []
    assert one_line("a\u2028b\u202ec\x85d") == "a b c d"


# -- every command: terminals, CI logs and Markdown --------------------------------------
#
# A custom rule, a custom control, a decisions file and a model whose every text field is
# one of these go through every command. Nothing may reach stdout or stderr raw: no escape
# sequence (colours, OSC 8 links), no C1 control, no bidirectional control, no line that
# GitHub Actions reads as a workflow command ('::' first, after blanks; '##[' anywhere).
# Markdown outputs hold none of the Markdown or HTML payloads raw either.

TERMINAL_PAYLOADS = [
    "\x1b[2J\x1b[31mred\x1b[0m",
    "\x1b]8;;http://127.0.0.1:9/\x1b\\click me\x1b]8;;\x1b\\",
    "\x9b31m C1 CSI \x85 NEL",
    "::error file=app.py,line=1::pwned",
    "::add-mask::hunter2",
    "  ::warning::indented",
    "line\n::stop-commands::token\n##[error]old syntax",
    "\u202eevil\u202c \u2066iso\u2069 \u200fmark",
    "a | table | breaker",
    "`code` and ``more``",
    "<script>alert(1)</script>",
    "[link](javascript:alert(1)) # not a heading",
]
_RAW = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]"
)
_COMMAND = re.compile(r"^\s*::|##\[", re.MULTILINE)


def _p(i: int) -> str:
    return TERMINAL_PAYLOADS[i % len(TERMINAL_PAYLOADS)]


def _hostile_tree(tmp: Path) -> dict[str, Path]:
    """A rule directory, a decisions file and a model, every text field a payload. JSON is
    YAML, so the rule files are written as JSON (escapes keep each payload exact)."""
    rules = tmp / "rules"
    rule_dir = rules / "hostile" / "TG-HOS-001"
    rule_dir.mkdir(parents=True)
    rule = {
        "id": "TG-HOS-001",
        "title": _p(0) + _p(3),
        "family": "hostile",
        "description": "\n".join(TERMINAL_PAYLOADS),
        "severity": "high",
        "likelihood": "high",
        "stride": ["tampering"],
        "references": ["cwe:CWE-20@4.16"],
        "match": {"element": {"kind": "llm"}},
        "mitigations": [{"control": "hostile.control", "why": _p(4) + _p(1)}],
        "detection": _p(6) + _p(3),
        "false_positives": _p(7) + _p(5),
    }
    (rule_dir / "rule.yaml").write_text(json.dumps(rule))
    control = {
        "id": "hostile.control",
        "title": _p(3) + _p(0),
        "category": "technical",
        "applies_to": ["llm"],
        "description": "\n".join(TERMINAL_PAYLOADS),
        "evidence": _p(4) + _p(6),
        "atlas": [],
        "references": ["cwe:CWE-20@4.16"],
        "review_questions": TERMINAL_PAYLOADS,
    }
    (rules / "controls.yaml").write_text(json.dumps({"controls": [control]}))
    n = itertools.count()
    model = {
        "threatgraph": 1,
        "model": {
            "id": "hostile",
            "name": _p(next(n)),
            "description": "\n".join(TERMINAL_PAYLOADS),
            "owner": _p(next(n)),
            "version": _p(next(n)),
        },
        "boundaries": [{"id": "cloud", "name": _p(next(n)), "trust": "third_party"}],
        "data": [{"id": "notes", "name": _p(next(n)), "classification": "phi"}],
        "elements": [
            {"id": "user", "name": _p(next(n)), "kind": "actor", "description": _p(next(n))},
            {"id": "app", "name": _p(next(n)), "kind": "app", "owner": _p(next(n))},
            {"id": "acme", "name": _p(next(n)), "kind": "vendor", "boundary": "cloud"},
            {
                "id": "llm",
                "name": _p(next(n)),
                "kind": "llm",
                "boundary": "cloud",
                "provider": "acme",
                "description": _p(next(n)),
            },
        ],
        "flows": [
            {"from": "user", "to": "app", "name": _p(next(n)), "data": ["notes"]},
            {"from": "app", "to": "llm", "name": _p(next(n)), "protocol": _p(next(n))},
        ],
        "decisions": [
            {
                "finding": "TG-PI-001/llm",
                "status": "accepted",
                "reason": _p(next(n)),
                "owner": _p(next(n)),
                "ticket": _p(next(n)),
                "date": "2026-01-10",
                "expires": "2026-06-30",
            }
        ],
    }
    path = tmp / "hostile.json"
    path.write_text(json.dumps(model))
    return {"rules": rules, "model": path}


def _assert_terminal_safe(what: str, text: str) -> None:
    raw = _RAW.search(text)
    assert raw is None, f"{what}: raw {raw.group()!r} in {text[max(raw.start() - 40, 0) :][:80]!r}"
    cmd = _COMMAND.search(text)
    assert cmd is None, f"{what}: workflow command at {text[cmd.start() :][:60]!r}"


def _assert_markdown_safe(what: str, md: str) -> None:
    _assert_terminal_safe(what, md)
    for payload in ("<script>", "`code`", "a | table", "[link](", "\u202e"):
        assert payload not in md, f"{what}: {payload!r} raw in the Markdown"


def test_every_command_keeps_hostile_text_out_of_terminals_and_markdown(tmp_path: Path) -> None:
    from workflow_util import run_cli

    t = _hostile_tree(tmp_path)
    model, rules = str(t["model"]), str(t["rules"])
    day = ("--as-of", "2026-06-01")
    out = tmp_path / "out"
    commands: list[tuple[str, ...]] = [
        ("check", model, "--rules", rules, *day),
        ("check", model, "--rules", rules, "--format", "json", *day),
        ("report", model, "--rules", rules, "-o", str(out / "report"), *day),
        ("validate", model, "--rules", rules),
        ("threats", "list", "--rules", rules),
        ("threats", "list", "--rules", rules, "--format", "json"),
        ("threats", "show", "TG-HOS-001", "--rules", rules),
        ("threats", "show", "TG-HOS-001", "--rules", rules, "--format", "json"),
        ("controls", "list", "--rules", rules),
        ("controls", "list", "--rules", rules, "--format", "json"),
        ("controls", "show", "hostile.control", "--rules", rules),
        ("controls", "show", "hostile.control", "--rules", rules, "--format", "json"),
        ("coverage", model, "--rules", rules, *day),
        ("coverage", model, "--rules", rules, "--format", "json", *day),
        ("testplan", model, "--rules", rules, *day),
        ("testplan", model, "--rules", rules, "--format", "json", *day),
        ("sra", model, "--rules", rules, "-o", str(out / "sra"), *day),
        ("export", "otm", model, "--rules", rules, *day),
        ("baseline", model, "--rules", rules, "-o", str(out / "baseline.json"), *day),
    ]
    seen: dict[str, str] = {}
    for args in commands:
        code, stdout, stderr = run_cli(*args)
        what = " ".join(args[:3])
        assert code in (0, 1), f"{what}: exit {code}: {stderr}"
        _assert_terminal_safe(f"{what} (stdout)", stdout)
        _assert_terminal_safe(f"{what} (stderr)", stderr)
        if "json" in args or args[:2] == ("export", "otm"):
            json.loads(stdout)  # still JSON, and the same value as the file would hold
        seen[" ".join(args)] = stdout
    # The payloads did reach the outputs, escaped: the test would see them raw otherwise.
    shown = seen[f"threats show TG-HOS-001 --rules {rules}"]
    assert "\\x1b[31mred" in shown and "\\x3a:error file=app.py" in shown
    assert "\\u202eevil" in seen[f"controls show hostile.control --rules {rules}"]
    otm = json.loads(seen[f"export otm {model} --rules {rules} --as-of 2026-06-01"])
    assert otm["project"]["name"] == _p(0)

    # Markdown, written to files or printed.
    mds = {p.name: p.read_text() for p in out.rglob("*.md")}
    assert {"report.md", "sra-hostile.md"} <= set(mds)
    mds["coverage"] = seen[f"coverage {model} --rules {rules} --as-of 2026-06-01"]
    mds["testplan"] = seen[f"testplan {model} --rules {rules} --as-of 2026-06-01"]
    for name, md in mds.items():
        _assert_markdown_safe(name, md.split("```mermaid")[0])  # Mermaid is tested above

    # import: a hostile OTM file to YAML on stdout, which loads as the same model.
    otm_file = tmp_path / "hostile.otm.json"
    otm_file.write_text(json.dumps(otm))
    code, stdout, stderr = run_cli("import", "otm", str(otm_file))
    assert code == 0, stderr
    _assert_terminal_safe("import otm (stdout)", stdout)
    _assert_terminal_safe("import otm (stderr)", stderr)
    via_stdout = tmp_path / "via-stdout.yaml"
    via_stdout.write_text(stdout)
    via_file = tmp_path / "via-file.yaml"
    assert run_cli("import", "otm", str(otm_file), "-o", str(via_file))[0] == 0
    assert load_document(via_stdout) == load_document(via_file)


def test_a_bad_input_error_message_is_terminal_safe(tmp_path: Path) -> None:
    from workflow_util import run_cli

    path = tmp_path / "bad.json"
    doc = {"threatgraph": 1, "model": {"name": "x"}, "elements": [{"name": "a", "kind": "llm"}]}
    doc["elements"][0]["\n::error::" + _p(0) + _p(7)] = 1  # an unknown field named like that
    path.write_text(json.dumps(doc))
    code, _, stderr = run_cli("check", str(path))
    assert code == 2 and "unknown field" in stderr
    _assert_terminal_safe("check (stderr)", stderr)


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_diff_markdown_escapes_a_file_name_with_a_pipe(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from workflow_util import commit_all, git, git_init, run_cli

    repo = tmp_path / "repo"
    git_init(repo)
    models = repo / "models"
    models.mkdir()
    name = "a|b `c` <i>.yaml"
    base = "threatgraph: 1\nmodel: {id: m, name: M}\nelements:\n  - {name: App, kind: app}\n"
    (models / name).write_text(base)
    (repo / ".threatgraph.toml").write_text('models = ["models"]\n')
    commit_all(repo, "base")
    git(repo, "checkout", "-q", "-b", "feature")
    (models / name).write_text(
        base + "  - {name: LLM, kind: llm}\nflows:\n  - {from: App, to: LLM}\n"
    )
    commit_all(repo, "head")
    monkeypatch.chdir(repo)
    code, md, stderr = run_cli("diff", "main", "--format", "markdown", "--as-of", "2026-06-01")
    assert code in (0, 1), stderr
    rows = [ln for ln in md.splitlines() if ln.startswith("| ") and "LLM" in ln]
    assert rows, md
    for row in rows:
        # As many cells as the header has: the name's '|' is escaped, not a cell border.
        assert len(re.split(r"(?<!\\)\|", row)) == 7, row
        assert "a\\|b \\`c\\` &lt;i&gt;.yaml" in row
    _assert_terminal_safe("diff (stdout)", md)
