"""Every code snippet in the docs runs, so the docs cannot drift from the code.

Fenced blocks in docs/*.md, README.md and models/README.md are checked by kind:

- ```python: a block that builds a model (``Model(`` or pytm's ``TM(``) is written to a file
  and loaded with ``threatgraph validate``; any other block must at least compile;
- ```yaml: ``threatgraph: 1`` models are validated, rules (a top-level ``match:``) are
  validated against the rule schema (a fragment without ``id``: its ``match`` and
  ``mitigations``), decisions files with the decisions loader, anything else must parse;
- ```toml: a ``[tool.threatgraph]`` table is validated with the config loader; ```json must
  parse (a baseline is loaded as one);
- ```sh, ```console, ```bash, ```shell and ```text: each line that is a ``threatgraph``
  command (with or without a ``$`` prompt) is run in a scratch workspace holding a copy of
  models/, and must not exit 2 (bad input or usage) or raise. Only the command before a shell
  operator (``|``, ``>``, ``&&``...) is run. Other lines (``make``, ``pip``...) are not run.

HTML comments right before a block (blank lines allowed) steer it; they do not render:

- ``<!-- not-run: reason -->``: skip the block (needs network, a git remote, a file the reader
  has and the docs do not show...). The reason is required.
- ``<!-- file: NAME -->``: also write the block to NAME in the page's workspace, so that
  later commands on the same page can use it (pages run top to bottom, one workspace each);
  ``<!-- append: NAME -->`` appends the block to that file, and the whole file is checked.
- ``<!-- check-output -->``: on a console block, the lines after each ``$ threatgraph ...``
  command must appear, in order, in what the command prints; ``...`` in a line matches any
  text, and the number of rules in a summary line is not compared (the library grows).
"""

from __future__ import annotations

import functools
import json
import os
import re
import shlex
import shutil
import signal
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from click.testing import CliRunner

from threatgraph.cli import cli
from threatgraph.engine.rules import Match, Mitigation, Rule
from threatgraph.load import decisions as decisions_mod
from threatgraph.load.python import ModelTimeout, time_limit
from threatgraph.settings import load_settings
from threatgraph.util.errors import InputError
from threatgraph.util.yamlsafe import parse_text

ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted(
    [p for p in (ROOT / "docs").glob("*.md")] + [ROOT / "README.md", ROOT / "models" / "README.md"]
)
COMMAND_TIMEOUT = 60.0
SHELL_LANGS = {"sh", "console", "bash", "shell", "text"}
FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})(?P<info>[^`]*)$")
MARKER = re.compile(
    r"^<!--\s*(?P<key>not-run|file|append|check-output)\s*(?::\s*(?P<value>.*?))?\s*-->$"
)
BUILDS_MODEL = re.compile(r"\b(Model|TM)\(")
SHELL_OPS = {"|", "||", "&", "&&", ";", ">", ">>", "<", "2>", "2>&1", "&>", "(", ")"}


@dataclass
class Block:
    """A fenced code block of a page."""

    page: Path
    line: int  # 1-based line of the opening fence
    lang: str
    text: str
    markers: dict[str, str] = field(default_factory=dict)

    @property
    def where(self) -> str:
        page = self.page.relative_to(ROOT) if self.page.is_relative_to(ROOT) else self.page
        return f"{page}:{self.line}"


def blocks(page: Path) -> list[Block]:
    """The page's fenced blocks with the markers right before each."""
    lines = page.read_text(encoding="utf-8").splitlines()
    out: list[Block] = []
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        fence, start = m.group("fence"), i
        lang = m.group("info").strip().split(" ")[0].lower() if m.group("info").strip() else ""
        body: list[str] = []
        i += 1
        indent = len(m.group("indent"))
        while i < len(lines) and not lines[i].strip().startswith(fence[0] * len(fence)):
            body.append(lines[i][indent:] if lines[i][:indent].isspace() else lines[i])
            i += 1
        markers: dict[str, str] = {}
        j = start - 1
        while j >= 0 and (not lines[j].strip() or MARKER.match(lines[j].strip())):
            mm = MARKER.match(lines[j].strip())
            if mm:
                markers.setdefault(mm.group("key"), (mm.group("value") or "").strip())
            j -= 1
        out.append(Block(page, start + 1, lang, "\n".join(body) + "\n", markers))
        i += 1
    return out


# -- running commands ------------------------------------------------------------------------
@dataclass
class Command:
    """One ``threatgraph`` command of a shell block, with the output the docs show for it."""

    argv: list[str]
    line: int
    shown: list[str]


def commands(block: Block) -> list[Command]:
    """The threatgraph commands of a shell block (continuation lines joined)."""
    out: list[Command] = []
    raw = block.text.splitlines()
    i = 0
    while i < len(raw):
        text, lineno = raw[i], block.line + 1 + i
        i += 1
        stripped = text.strip()
        prompt = stripped.startswith("$ ")
        if prompt:
            stripped = stripped[2:].strip()
        if not stripped.startswith("threatgraph ") and stripped != "threatgraph":
            if out and not prompt:
                out[-1].shown.append(text)
            continue
        while stripped.endswith("\\") and i < len(raw):
            stripped = stripped[:-1] + " " + raw[i].strip()
            i += 1
        lexer = shlex.shlex(stripped, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        lexer.commenters = "#"
        tokens: list[str] = []
        for tok in lexer:
            if tok in SHELL_OPS:
                break
            tokens.append(tok)
        out.append(Command(tokens[1:], lineno, []))
    return out


_RULE_COUNT = re.compile(r"\b\d+ (active )?rules\b")


def _matches(expected: str, actual: str) -> bool:
    # The library's rule count grows with every release; it is not part of what docs show.
    expected, actual = (_RULE_COUNT.sub("N rules", t.strip()) for t in (expected, actual))
    parts = [re.escape(p) for p in expected.split("...")]
    return re.fullmatch(".*".join(parts), actual) is not None


def check_output(cmd: Command, output: str) -> str | None:
    """None when every shown line appears, in order, in the output; else what is missing."""
    actual = output.splitlines()
    pos = 0
    for want in (s for s in cmd.shown if s.strip()):
        while pos < len(actual) and not _matches(want, actual[pos]):
            pos += 1
        if pos == len(actual):
            return f"shown line not in the output (in order): {want.strip()!r}"
        pos += 1
    return None


def run_command(cmd: Command, cwd: Path) -> tuple[int, str, BaseException | None]:
    """Run one command in-process in ``cwd``; (exit code, stdout+stderr, exception)."""
    old = Path.cwd()
    os.chdir(cwd)
    try:
        with time_limit(COMMAND_TIMEOUT):
            res = CliRunner().invoke(cli, cmd.argv, catch_exceptions=True)
    except ModelTimeout:
        return 1, "", TimeoutError(f"took longer than {COMMAND_TIMEOUT:.0f} s")
    finally:
        os.chdir(old)
    exc = res.exception if not isinstance(res.exception, SystemExit) else None
    return res.exit_code, res.output, exc


# -- checking blocks ---------------------------------------------------------------------------
def _input_error(exc: InputError) -> str:
    return "; ".join(f"{p.file}:{p.line}: [{p.field}] {p.message}" for p in exc.problems)


def check_model_file(path: Path, cwd: Path) -> str | None:
    code, out, exc = run_command(Command(["validate", str(path)], 0, []), cwd)
    if exc is not None or code != 0:
        return f"model does not validate (exit {code}): {out.strip() or exc!r}"
    return None


def check_block(block: Block, ws: Path) -> tuple[list[str], int]:
    """(problems, number of checks run) for one block; ``ws`` is the page's workspace."""
    problems: list[str] = []
    ran = 0
    name = block.markers.get("file") or block.markers.get("append")
    suffix = {"python": ".py", "yaml": ".yaml", "yml": ".yaml", "json": ".json"}.get(block.lang)
    target = ws / name if name else ws / f"snippet_{block.line}{suffix or '.txt'}"
    text = block.text
    if "append" in block.markers:
        if not target.is_file():
            return [f"<!-- append: {name} -->: no earlier block wrote {name}"], 0
        text = target.read_text(encoding="utf-8") + "\n" + block.text
    if name or suffix:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")

    if block.lang == "python":
        if BUILDS_MODEL.search(text):
            err = check_model_file(target, ws)
        else:
            try:
                compile(block.text, block.where, "exec")
                err = None
            except SyntaxError as exc:
                err = f"does not compile: {exc}"
        ran += 1
        if err:
            problems.append(err)
    elif block.lang in ("yaml", "yml"):
        ran += 1
        try:
            doc = parse_text(block.text, block.where)
        except InputError as exc:
            return [f"invalid YAML: {_input_error(exc)}"], ran
        if isinstance(doc, dict) and doc.get("threatgraph") == 1:
            err = check_model_file(target, ws)
            if err:
                problems.append(err)
        elif isinstance(doc, dict) and "match" in doc:
            # A whole rule (it has an id) against the rule schema; a fragment that shows only
            # a match (and maybe mitigations) against those parts of it.
            try:
                if "id" in doc:
                    Rule.model_validate(doc)
                else:
                    Match.model_validate(doc["match"])
                    for mit in doc.get("mitigations") or []:
                        Mitigation.model_validate(mit)
            except Exception as exc:  # pydantic's ValidationError, reported as text
                problems.append(f"rule does not validate: {exc}")
        elif isinstance(doc, dict) and decisions_mod.HEADER in doc:
            try:
                decisions_mod.load(target)
            except InputError as exc:
                problems.append(f"decisions file does not load: {_input_error(exc)}")
    elif block.lang == "toml":
        ran += 1
        try:
            doc = tomllib.loads(block.text)
        except tomllib.TOMLDecodeError as exc:
            return [f"invalid TOML: {exc}"], ran
        if "tool" in doc and "threatgraph" in doc["tool"]:
            cfg = ws / "_snippet_config" / "pyproject.toml"
            cfg.parent.mkdir(exist_ok=True)
            cfg.write_text(block.text, encoding="utf-8")
            try:
                load_settings(cfg)
            except InputError as exc:
                problems.append(f"config does not load: {_input_error(exc)}")
    elif block.lang == "json":
        ran += 1
        try:
            json.loads(block.text)
        except json.JSONDecodeError as exc:
            problems.append(f"invalid JSON: {exc}")
    elif block.lang in SHELL_LANGS:
        for cmd in commands(block):
            ran += 1
            code, out, exc = run_command(cmd, ws)
            where = f"line {cmd.line}: threatgraph {shlex.join(cmd.argv)}"
            if exc is not None:
                problems.append(f"{where}: raised {exc!r}")
            elif code not in (0, 1):
                problems.append(f"{where}: exit {code}: {out.strip()[-600:]}")
            elif "check-output" in block.markers:
                miss = check_output(cmd, out)
                if miss:
                    problems.append(f"{where}: {miss}\n--- actual output ---\n{out}")
    return problems, ran


def workspace(tmp: Path) -> Path:
    """A scratch directory with a copy of the reference models, as a reader's checkout has."""
    ws = tmp / "ws"
    shutil.copytree(ROOT / "models", ws / "models", ignore=shutil.ignore_patterns("__pycache__"))
    return ws


# -- the tests -----------------------------------------------------------------------------------
@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(ROOT)) for p in PAGES])
def test_page_snippets_run(page: Path, tmp_path: Path) -> None:
    ws = workspace(tmp_path)
    failures: list[str] = []
    for block in blocks(page):
        if "not-run" in block.markers:
            if not block.markers["not-run"]:
                failures.append(f"{block.where}: <!-- not-run: ... --> needs a reason")
            continue
        problems, _ = check_block(block, ws)
        failures += [f"{block.where} ({block.lang}): {p}" for p in problems]
    assert not failures, "\n\n".join(failures)


def test_snippets_are_found_and_run() -> None:
    # Guards the extraction itself: the docs hold many runnable blocks and commands.
    all_blocks = [b for p in PAGES for b in blocks(p)]
    langs = {b.lang for b in all_blocks}
    assert {"python", "yaml", "sh"} <= langs
    cmds = [c for b in all_blocks if b.lang in SHELL_LANGS for c in commands(b)]
    assert len(cmds) >= 20
    assert sum(1 for b in all_blocks if b.lang == "python" and BUILDS_MODEL.search(b.text)) >= 8


def test_extraction_and_markers(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "Intro\n\n<!-- not-run: needs a git remote -->\n```sh\nthreatgraph diff\n```\n\n"
        "<!-- file: m.yaml -->\n\n```yaml\nthreatgraph: 1\nmodel: {name: M}\n```\n\n"
        "<!-- check-output -->\n```console\n$ threatgraph check m.yaml | tail -1\n"
        "1 model, ... rules: 0 open (none), 0 mitigated, 0 accepted, 0 false positive.\n"
        "$ make demo\n```\n",
        encoding="utf-8",
    )
    got = blocks(page)
    assert [(b.lang, b.line, b.markers) for b in got] == [
        ("sh", 4, {"not-run": "needs a git remote"}),
        ("yaml", 10, {"file": "m.yaml"}),
        ("console", 16, {"check-output": ""}),
    ]
    (cmd,) = commands(got[2])
    assert cmd.argv == ["check", "m.yaml"] and cmd.line == 17 and len(cmd.shown) == 1
    ws = tmp_path / "ws"
    ws.mkdir()
    assert check_block(got[1], ws) == ([], 1) and (ws / "m.yaml").is_file()
    assert check_block(got[2], ws) == ([], 1)
    assert _matches("1 model, 12 rules: 0 open", "1 model, 103 rules: 0 open")
    # A wrong shown line, a bad model and a bad command are caught.
    got[2].text = got[2].text.replace("0 open", "7 open")
    assert "not in the output" in check_block(got[2], ws)[0][0]
    got[1].text = "threatgraph: 1\nmodel: {name: M}\nelements: [{kind: robot, name: R}]\n"
    assert "does not validate" in check_block(got[1], ws)[0][0]
    bad = Block(page, 1, "sh", "threatgraph check no-such-file.py\n")
    assert "exit 2" in check_block(bad, ws)[0][0]
    fragment = Block(page, 1, "yaml", "match:\n  element: {kind: robot}\n")
    assert "rule does not validate" in check_block(fragment, ws)[0][0]
    fragment.text = "match:\n  element: {kind: llm}\nmitigations: [{control: x, at: [on]}]\n"
    assert "rule does not validate" in check_block(fragment, ws)[0][0]
    fragment.text = "match:\n  element: {kind: llm}\n"
    assert check_block(fragment, ws) == ([], 1)


def test_time_limit_interrupts() -> None:
    with pytest.raises(ModelTimeout), time_limit(0.05):
        while True:
            pass


def test_time_limit_leaves_a_running_timer_alone() -> None:
    """Nested inside a limit already running (the one above, or a host program's), the
    inner limit sets nothing and the outer one still fires."""
    with pytest.raises(ModelTimeout), time_limit(0.1):
        with time_limit(60):
            pass
        assert 0 < signal.getitimer(signal.ITIMER_REAL)[0] <= 0.1
        while True:
            pass


# -- links -----------------------------------------------------------------------------------
LINK = re.compile(
    r"(?<!!)\[(?:[^\]\[]|\[[^\]]*\])*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)|!\[[^\]]*\]\(([^)\s]+)\)"
)
ANCHOR = re.compile(r'<a id="([^"]+)"></a>')
HEADING = re.compile(r"^#{1,6}\s+(.*?)\s*#*\s*$")
#: Pages that other parts of the docs already link to and that are still being written.
#: The test fails once one of them exists, so that the entry is removed.
PENDING: set[str] = set()


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: markup dropped, lowercase, punctuation removed."""
    text = ANCHOR.sub("", heading)
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text).replace("`", "")
    text = re.sub(r"[^\w\- ]", "", text.lower())
    return text.replace(" ", "-")


@functools.cache
def anchors(page: Path) -> frozenset[str]:
    """Every anchor of a Markdown page: headings (deduplicated as GitHub does) and <a id>."""
    out: set[str] = set()
    seen: dict[str, int] = {}
    in_fence = False
    for line in page.read_text(encoding="utf-8").splitlines():
        if FENCE.match(line):
            in_fence = not in_fence
            continue
        if in_fence:
            continue
        out.update(ANCHOR.findall(line))
        m = HEADING.match(line)
        if m:
            s = slug(m.group(1))
            n = seen.get(s, 0)
            seen[s] = n + 1
            out.add(s if n == 0 else f"{s}-{n}")
    return frozenset(out)


def links(page: Path) -> Iterator[tuple[int, str]]:
    """(line, target) of every Markdown link outside code blocks and code spans."""
    in_fence = False
    for lineno, line in enumerate(page.read_text(encoding="utf-8").splitlines(), 1):
        if FENCE.match(line):
            in_fence = not in_fence
            continue
        if in_fence:
            continue
        for m in LINK.finditer(re.sub(r"`[^`]*`", "", line)):
            yield lineno, m.group(1) or m.group(2)


def test_links_between_pages_resolve() -> None:
    broken: list[str] = []
    for page in PAGES:
        for lineno, target in links(page):
            if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto:
                continue
            path, _, frag = target.partition("#")
            dest = (page.parent / path).resolve() if path else page
            rel = dest.relative_to(ROOT).as_posix() if dest.is_relative_to(ROOT) else str(dest)
            if rel in PENDING:
                continue
            where = f"{page.relative_to(ROOT)}:{lineno}: {target}"
            if not dest.exists():
                broken.append(f"{where}: no such file")
            elif frag and dest.suffix == ".md" and frag not in anchors(dest):
                broken.append(f"{where}: no such anchor in {rel}")
    assert not broken, "\n".join(broken)


def test_pending_pages_are_still_missing() -> None:
    landed = sorted(p for p in PENDING if (ROOT / p).exists())
    assert not landed, f"these pages exist now; remove them from PENDING: {landed}"


def test_slug_and_anchors(tmp_path: Path) -> None:
    assert slug("Controls and evidence") == "controls-and-evidence"
    assert (
        slug("pytm's classic threats (`--pytm-threats`)") == "pytms-classic-threats---pytm-threats"
    )
    assert slug("Does a passing check mean we are HIPAA compliant?") == (
        "does-a-passing-check-mean-we-are-hipaa-compliant"
    )
    page = tmp_path / "p.md"
    page.write_text('# A\n## A\n```sh\n# not a heading\n```\n## <a id="x"></a>B\n', "utf-8")
    assert anchors(page) == {"a", "a-1", "x", "b"}
