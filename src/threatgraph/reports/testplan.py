"""The renderings of an adversarial test plan (``threatgraph testplan``): Markdown, JSON and
skeleton pytest files.

:func:`threatgraph.features.testplan.plan` computes the :class:`Plan`; this module only writes
it. Model text never becomes code: it reaches the skeletons only inside escaped docstrings and
sanitised comments, and every generated file is parsed before it is returned.
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import asdict
from pathlib import Path
from typing import Any

from threatgraph.features.testplan import BY_KEY, Plan, assign_files
from threatgraph.formats.markdown import code, escape
from threatgraph.version import __version__


def to_json(p: Plan) -> str:
    """:func:`document` as the JSON text ``testplan`` writes (testplan.json)."""
    return json.dumps(document(p), indent=2, ensure_ascii=False) + "\n"


def document(p: Plan) -> dict[str, Any]:
    """The plan as a JSON-ready document."""
    return {
        "schema_version": "1.0",
        "tool": {
            "name": "threatgraph",
            "version": __version__,
            "library_version": p.library_version,
        },
        "as_of": p.as_of,
        "tests": [asdict(t) for t in p.tests],
        "findings_without_tests": [{"finding": f, "reason": r} for f, r in p.skipped],
    }


def render_markdown(p: Plan) -> str:
    """The plan as Markdown (model text escaped)."""
    o = [
        "# Adversarial test plan",
        "",
        f"As of {p.as_of}; threatgraph {__version__}, threat library `{p.library_version}`. "
        f"{len(p.tests)} tests from open and mitigated findings. Each test names the finding it "
        "exercises and the control it evidences once it passes: cite the test as that "
        "control's evidence (see docs/testplan.md).",
        "",
    ]
    if not p.tests:
        o += ["No open or mitigated finding has an adversarial test to plan.", ""]
    model = None
    category = None
    for t in p.tests:
        if t.model != model:
            model, category = t.model, None
            o += [f"## Model {code(t.model)}", ""]
        if t.category != category:
            category = t.category
            o += [f"### {BY_KEY[t.category]['title']}", ""]
        o += [
            f"#### {code(t.id)}: {escape(t.title)}",
            "",
            f"- Finding: {code(t.finding)} ({t.finding_status}, {t.severity}): "
            f"{escape(t.rule_title)}",
            f"- Target: {escape(t.target)} ({t.target_kind}) at {code(t.location)}",
        ]
        if t.entry_points:
            o.append(f"- Entry points: {', '.join(escape(e) for e in t.entry_points)}")
        if len(t.route) > 1:
            o.append(f"- Route: {' → '.join(escape(r) for r in t.route)}")
        o += [
            f"- Test: {escape(t.attack)}",
            f"- Evidences: {code(t.control)}"
            + (
                " (declared: the test backs the claim)"
                if t.control_declared
                else " (not yet declared)"
            ),
            f"- Checks the finding's controls: {', '.join(escape(c) for c in t.checks)}",
        ]
        if t.file:
            o.append(f"- Skeleton: {code(t.file + '::' + t.function)}")
        o.append("")
    if p.skipped:
        o += ["## Findings without adversarial tests", ""]
        o += [
            "These findings are about contracts, configuration or process; their rules list no "
            "attack to run.",
            "",
        ]
        o += [f"- {code(fid)}: {escape(why)}" for fid, why in p.skipped]
        o.append("")
    return "\n".join(o).rstrip("\n") + "\n"


_SAFE_COMMENT = re.compile(r"[^A-Za-z0-9_.:/#+\-= ]")


def _comment(text: str) -> str:
    """Text safe on one comment line (ids only reach here, but never trust them)."""
    return _SAFE_COMMENT.sub("?", text)


def _docstring(text: str, indent: str = "") -> str:
    """A triple-quoted Python literal holding ``text``, indented for a function body.

    Backslashes and every double quote are escaped, so no model text can close the literal;
    control characters other than newlines become '?'.
    """
    clean = "".join(
        ch if ch == "\n" or (ord(ch) >= 32 and ch != "\x7f") else "?" for ch in text.rstrip()
    )
    body = clean.replace("\\", "\\\\")
    # Escape a quote that another quote follows (or that ends the text): no run of three
    # unescaped quotes can then form, and the closing delimiter stays the only one.
    out = []
    for i, ch in enumerate(body):
        nxt = body[i + 1] if i + 1 < len(body) else ""
        out.append('\\"' if ch == '"' and nxt in ('"', "") else ch)
    lines = "".join(out).split("\n")
    joined = "\n".join(indent + line if line else "" for line in lines)
    return f'{indent}"""{joined.lstrip()}\n{indent}"""'


def pytest_files(p: Plan, tests_dir: Path) -> dict[Path, str]:
    """Skeleton pytest files, one per finding, keyed by path; sets each test's ``file``
    (:func:`threatgraph.features.testplan.assign_files`)."""
    files: dict[Path, str] = {}
    for path, tests in assign_files(p, tests_dir).items():
        first = tests[0]
        rel = first.file
        module_doc = (
            f"Adversarial tests planned by threatgraph for finding {first.finding}.\n\n"
            f"Threat: {first.rule_title} ({first.severity}, {first.finding_status}).\n"
            f"Target: {first.target} ({first.target_kind}) at {first.location}.\n\n"
            "Fill in each test and remove its skip marker. Once a test passes, cite it as\n"
            "evidence of the control named above it, in the threat model, for example:\n"
            f'    control("{first.control}", evidence="{rel}::{first.function}")\n\n'
            f"Generated by threatgraph {__version__} (testplan, as of {p.as_of}); threatgraph\n"
            "never overwrites this file once it exists.\n"
        )
        lines = [_docstring(module_doc), "", "import pytest", ""]
        for t in tests:
            doc = (
                f"{t.title}.\n\n"
                f"What to do: {t.attack}\n"
                + (f"Entry points: {', '.join(t.entry_points)}.\n" if t.entry_points else "")
                + (f"Route: {' -> '.join(t.route)}.\n" if len(t.route) > 1 else "")
                + f"Pass when the attack fails against {t.target}; the finding's controls: "
                f"{', '.join(t.checks)}.\n"
                f"Finding: {t.finding}. Evidences: {t.control}.\n"
            )
            reason = f"planned adversarial test for {t.finding}, not written yet"
            lines += [
                "",
                f"# threatgraph: finding={_comment(t.finding)} control={_comment(t.control)}",
                f"@pytest.mark.skip(reason={reason!r})",
                f"def {t.function}() -> None:",
                _docstring(doc, "    "),
                "    raise NotImplementedError",
                "",
            ]
        source = "\n".join(lines).rstrip("\n") + "\n"
        ast.parse(source)  # a generated file must always be valid Python (nothing runs)
        files[path] = source
    return files
