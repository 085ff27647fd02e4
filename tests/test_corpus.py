"""The corpus of broken inputs (tests/corpus/): every case through the CLI, messages tested.

Each case is a file (or a rule or config directory) that threatgraph must refuse with exit
code 2 and one ``error: FILE:LINE: [FIELD] MESSAGE`` line naming the file, the line (when the
problem has one) and the field (when known), with no traceback, and without writing any
output: `check -o` and `report -o` run into a directory that already holds an earlier report,
which must come out byte-for-byte unchanged. OTM and pytm cases also go through
`import otm|pytm -o`.

A few cases are generated at test time instead of committed: a file over the size limit (a
sparse file, so nothing big is written), 10,000-character names and ids, and JSON nested
100,000 levels deep. See tests/corpus/README.md for the layout.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from threatgraph.cli import cli
from threatgraph.util.yamlsafe import MAX_BYTES

CORPUS = Path(__file__).resolve().parent / "corpus"
VALID = CORPUS / "valid" / "model.yaml"
AS_OF = "2026-06-01"


@dataclass(frozen=True)
class Case:
    """One broken input and the error it must give."""

    path: str  # relative to tests/corpus (generated cases: relative to the tmp dir)
    kind: str  # model | rules | config | config-found | decisions | baseline | otm | pytm |
    # pytm-import (`import pytm` only: a file the other commands read as data, rightly)
    line: int | None  # None: a whole-file problem, reported without a line
    message: str  # a substring of the message
    field: str | None = None
    file: str | None = None  # the file the message names, when it is not ``path``
    make: Callable[[Path], None] | None = None  # writes a generated case

    @property
    def id(self) -> str:
        return self.path


def _sparse(size: int) -> Callable[[Path], None]:
    def make(p: Path) -> None:
        with p.open("wb") as fh:
            fh.truncate(size)  # a hole: no disk blocks, no time

    return make


def _text(text: str) -> Callable[[Path], None]:
    def make(p: Path) -> None:
        p.write_text(text, encoding="utf-8")

    return make


DEEP = "x = " + "-" * 100_000 + "1\n"  # CPython's parser answers with MemoryError


def _deep_dir(p: Path) -> None:
    """A directory to search holding deeply nested Python (a DSL file and a pytm file)."""
    p.mkdir()
    (p / "model.py").write_text("from threatgraph import Model\nm = Model('x')\n" + DEEP)
    (p / "pytm_model.py").write_text("import pytm\n" + DEEP)


def _fifo(p: Path) -> None:
    os.mkfifo(p)  # read naively, this blocks until a writer comes (never)


def _link(target: str) -> Callable[[Path], None]:
    def make(p: Path) -> None:
        p.symlink_to(target)  # stat says 0 bytes for /dev/zero, which never ends

    return make


def _tree(files: dict[str, str | Callable[[Path], None]]) -> Callable[[Path], None]:
    """A directory of files: text, or a maker (a FIFO, a symlink) per relative path."""

    def make(p: Path) -> None:
        for rel, content in files.items():
            f = p / rel
            f.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, str):
                f.write_text(content, encoding="utf-8")
            else:
                content(f)

    return make


MIB = "A" * (1024 * 1024)


def _alias_text(header: str, item: str, count: int) -> Callable[[Path], None]:
    """One 1 MiB string and ``count`` aliases of it: a small file, a huge expanded text."""
    first = item.replace("TEXT", f"&text {MIB}")
    rest = item.replace("TEXT", "*text")
    return _text(header + first + rest * count)


def _merge_bomb(p: Path) -> None:
    keys = ", ".join(f"k{i}: 1" for i in range(5_000))
    aliases = ", ".join(["*base"] * 1_001)
    p.write_text(
        "threatgraph: 1\nmodel: {name: M}\n"
        f"x-base: &base {{{keys}}}\nx-all: {{<<: [{aliases}]}}\n"
    )


UNIX_ONLY = hasattr(os, "mkfifo")


def _big_pytm(p: Path) -> None:
    """A pytm file of 330 KB (past the 256 KB the registry once read to sniff), raising at
    its end."""
    filler = '"""' + "A long description of the model. " * 10_000 + '"""\n'
    p.write_text(
        "from pytm import TM, Actor\n\ntm = TM('Big')\nuser = Actor('User')\n"
        + filler
        + "raise RuntimeError('end of the big model')\n"
    )


LONG = "N" * 10_000
ALL_OF_IT = (
    "threatgraph: 1\nmodel: {name: Long}\nelements:\n  - {id: user, name: User, kind: actor}\n"
)

CASES: list[Case] = [
    # -- YAML models ----------------------------------------------------------------------
    Case(
        "models-yaml/syntax-unclosed.yaml", "model", 6, "invalid YAML: while parsing a flow mapping"
    ),
    Case(
        "models-yaml/syntax-tab.yaml", "model", 5, "invalid YAML: while scanning for the next token"
    ),
    Case("models-yaml/not-a-mapping.yaml", "model", 1, "a model file must be a mapping"),
    Case("models-yaml/no-header.yaml", "model", 2, "missing 'threatgraph: 1'", "threatgraph"),
    Case("models-yaml/wrong-version.yaml", "model", 1, "Input should be 1", "threatgraph"),
    Case("models-yaml/wrong-type-list.yaml", "model", 4, "should be a valid list", "elements"),
    Case(
        "models-yaml/wrong-type-bool.yaml",
        "model",
        8,
        "should be a valid boolean",
        "elements.0.internet_facing",
    ),
    Case(
        "models-yaml/unknown-kind.yaml",
        "model",
        6,
        "'lmm' is not allowed here (did you mean 'llm'?)",
        "elements.1.kind",
    ),
    Case(
        "models-yaml/unknown-control.yaml",
        "model",
        5,
        "unknown control 'crypto.tsl' (did you mean 'crypto.tls'",
        "controls",
    ),
    Case(
        "models-yaml/unknown-field.yaml",
        "model",
        10,
        "unknown field (typo?)",
        "elements.0.boundry",
    ),
    Case(
        "models-yaml/dangling-flow.yaml",
        "model",
        8,
        "unknown flow target 'chat-modle' (did you mean 'chat-model'? an id derives",
        "to",
    ),
    Case("models-yaml/duplicate-id.yaml", "model", 7, "duplicate element id 'chat'", "id"),
    Case("models-yaml/duplicate-key.yaml", "model", 8, "duplicate key 'kind'"),
    Case("models-yaml/boundary-cycle.yaml", "model", 5, "part of a parent cycle", "parent"),
    Case("models-yaml/self-flow.yaml", "model", 7, "flow from 'agent' to itself", "to"),
    Case("models-yaml/empty.yaml", "model", 1, "empty file: expected a threatgraph model"),
    Case("models-yaml/only-comments.yaml", "model", 1, "empty file"),
    Case("models-yaml/binary.yaml", "model", 3, "binary file (contains NUL bytes)"),
    Case("models-yaml/latin1.yaml", "model", 3, "not valid UTF-8 text"),
    Case("models-yaml/alias-bomb.yaml", "model", 8, "aliases expand to more than"),
    Case("models-yaml/deep-nesting.yaml", "model", 4, "nesting deeper than 64 levels"),
    # a model id names report directories and SRA files: "x/../../y" let `sra -o` write outside
    Case(
        "models-yaml/model-id-traversal.yaml",
        "model",
        1,
        "model id 'x/../../../escaped' is not a valid id",
        "model.id",
    ),
    # regression (fuzzing): a control character YAML forbids was reported without a line
    Case("models-yaml/control-char.yaml", "model", 5, "character U+0001 is not allowed"),
    # regression (fuzzing): 'controls: 1' crashed the loader (TypeError)
    Case(
        "models-yaml/controls-not-a-list.yaml",
        "model",
        8,
        "unknown field (typo?)",
        "boundaries.0.controls",
    ),
    # model text printed on a terminal or CI log: escapes shown, no line of its own
    Case(
        "models-yaml/terminal-escape-key.yaml",
        "model",
        3,
        "unknown field (typo?)",
        "elements\\x1b[2J\\n::error::x",
    ),
    Case("models-yaml/python-tag.yaml", "model", 4, "unsupported tag 'tag:yaml.org,2002:python/"),
    Case("models-yaml/python-name-tag.yaml", "model", 3, "could not determine a constructor"),
    # regressions: PyYAML's constructors raised ValueError (a traceback) on these
    Case("models-yaml/bad-date.yaml", "model", 9, "invalid timestamp value '2026-02-30'"),
    Case("models-yaml/bad-int-tag.yaml", "model", 9, "invalid int value 'ninety'"),
    Case("models-yaml/bom-crlf.yaml", "model", 5, "unknown field (typo?)", "elements.0.colour"),
    Case("models-yaml/rtl-override-id.yaml", "model", 5, "is not a valid id", "id"),
    Case("models-yaml/zero-width-ref.yaml", "model", 8, "unknown flow target 'ch\\u200dat'", "to"),
    Case(
        "models-yaml/nfkc-kind.yaml",
        "model",
        5,
        "is not allowed here; one of 'actor'",
        "elements.0.kind",
    ),
    Case("models-yaml/surrogate-escape.yaml", "model", 3, "invalid Unicode character escape"),
    Case(
        "models-yaml/evidence-escape.yaml",
        "model",
        9,
        "evidence path '../../../../../etc/passwd' leaves the repository (through '..')",
        "evidence",
    ),
    Case("models-yaml/evidence-nul.yaml", "model", 9, "a NUL character", "evidence"),
    # a hostile glob could walk a big repository over and over (CI stalls)
    Case(
        "models-yaml/evidence-double-stars.yaml",
        "model",
        9,
        "has more than 2 '**' segments",
        "evidence",
    ),
    Case("generated/huge.yaml", "model", None, "the limit is", make=_sparse(MAX_BYTES + 1)),
    Case(
        "generated/long-name.yaml",
        "model",
        5,
        "String should have at most 200 characters",
        "elements.1.name",
        make=_text(ALL_OF_IT + f"  - {{id: chat, name: {LONG}, kind: llm}}\n"),
    ),
    Case(
        "generated/long-id.yaml",
        "model",
        5,
        "element id 'cccc",
        "id",
        make=_text(ALL_OF_IT + f"  - {{id: {'c' * 10_000}, name: Chat, kind: llm}}\n"),
    ),
    Case(
        "generated/big-with-error-at-the-end.yaml",
        "model",
        5_005,
        "is not allowed here",
        "elements.5001.kind",
        make=_text(
            ALL_OF_IT
            + "".join(f"  - {{id: e{i}, name: E{i}, kind: app}}\n" for i in range(5_000))
            + "  - {id: last, name: Last, kind: lmm}\n"
        ),
    ),
    # aliases repeating one long string: small on disk, gigabytes once expanded
    Case(
        "generated/alias-text.yaml",
        "model",
        5,
        "aliases expand to more than 67108864 characters of text",
        make=_alias_text(
            "threatgraph: 1\nmodel: {name: M}\nelements:\n  - {id: u, name: U, kind: actor}\n",
            "  - {id: x, name: X, kind: app, description: TEXT}\n",
            64,
        ),
    ),
    Case(
        "generated/merge-bomb.yaml",
        "model",
        4,
        "merge keys ('<<') expand to more than 5000000 nodes",
        make=_merge_bomb,
    ),
    # special files: refused without being read (a FIFO would block, /dev/zero never end)
    *(
        [
            Case("generated/fifo.yaml", "model", None, "not a regular file (a FIFO", make=_fifo),
            Case("generated/fifo.py", "model", None, "not a regular file (a FIFO", make=_fifo),
            Case(
                "generated/dev-zero.json",
                "model",
                None,
                "not a regular file (a device)",
                make=_link("/dev/zero"),
            ),
        ]
        if UNIX_ONLY
        else []
    ),
    # -- JSON models ----------------------------------------------------------------------
    Case("models-json/syntax-trailing-comma.json", "model", 6, "invalid JSON: Expecting value"),
    Case("models-json/not-an-object.json", "model", 1, "a model file must be a mapping"),
    Case("models-json/wrong-type.json", "model", 5, "should be a valid list", "flows"),
    Case(
        "models-json/unknown-field.json",
        "model",
        6,
        "unknown field (typo?)",
        "elements.0.internet_faceing",
    ),
    Case("models-json/duplicate-key.json", "model", 7, "invalid JSON: duplicate key 'kind'"),
    Case("models-json/dangling-flow.json", "model", 6, "unknown flow source 'nobody'", "from"),
    Case(
        "models-json/unknown-kind.json",
        "model",
        5,
        "'database' is not allowed here (did you mean 'dataset'",
        "elements.0.kind",
    ),
    Case("models-json/surrogate.json", "model", 5, "a string holds a lone surrogate"),
    Case("models-json/surrogate-description.json", "model", 5, "a string holds a lone surrogate"),
    Case("models-json/surrogate-reversed-pair.json", "model", 6, "a string holds a lone surrogate"),
    Case(
        "models-json/bom-crlf.json",
        "model",
        5,
        "'root' is not allowed here; one of 'untrusted'",
        "elements.0.trust",
    ),
    Case("models-json/empty.json", "model", 1, "empty file"),
    Case(
        "models-json/nan.json",
        "model",
        1,
        "finite number",
        "elements.0.vendor.review_interval_days",
    ),
    Case("models-json/deep-nesting.json", "model", 3, "nesting deeper than 64 levels"),
    Case(
        "generated/very-deep.json",
        "model",
        2,
        "nesting deeper than 64 levels",
        make=_text('{"threatgraph": 1,\n "model": ' + "[" * 100_000 + "]" * 100_000 + "}\n"),
    ),
    Case(
        "generated/long-name.json",
        "model",
        1,
        "String should have at most 200 characters",
        "model.name",
        make=_text('{"threatgraph": 1, "model": {"name": "' + LONG + '"}}\n'),
    ),
    # -- Python DSL models ----------------------------------------------------------------
    Case("models-python/syntax-error.py", "model", 4, "syntax error: '(' was never closed"),
    Case("models-python/raises.py", "model", 6, "model raised KeyError: 'zone'"),
    Case("models-python/no-model.py", "model", 1, "the file builds no threatgraph Model"),
    Case("models-python/sys-exit.py", "model", 6, "model file called exit(3)"),
    Case(
        "models-python/system-exit-message.py",
        "model",
        4,
        "model file called exit('configuration missing')",
    ),
    Case("models-python/recursion.py", "model", 5, "model raised RecursionError"),
    Case("models-python/import-error.py", "model", 3, "model raised ModuleNotFoundError"),
    Case(
        "models-python/unknown-kind.py",
        "model",
        5,
        "'lmm' is not allowed here (did you mean 'llm'?)",
        "kind",
    ),
    Case(
        "models-python/unknown-control.py",
        "model",
        5,
        "unknown control 'guardrail.input_filtre'",
        "controls",
    ),
    Case(
        "models-python/unknown-argument.py",
        "model",
        4,
        "unknown argument 'internet_faceing' (did you mean 'internet_facing'?)",
        "internet_faceing",
    ),
    Case("models-python/dangling-flow.py", "model", 6, "unknown flow target 'Chat bot'", "to"),
    # a name of the wrong type used to fail inside slugify with a confusing TypeError
    Case("models-python/wrong-type.py", "model", 4, "Input should be a valid string", "name"),
    Case(
        "models-python/surrogate.py", "model", 5, "a string holds a lone surrogate", "description"
    ),
    Case(
        "generated/binary.py",
        "model",
        2,
        "binary file",
        make=lambda p: p.write_bytes(b"from threatgraph import Model\n\x00\x01"),
    ),
    # regression: CPython's parser raises MemoryError on this (a traceback before)
    Case(
        "generated/deep-nesting.py",
        "model",
        None,
        "cannot compile: nested too deeply",
        make=_text("from threatgraph import Model\nm = Model('x')\n" + DEEP),
    ),
    # the same in a directory search (the static look at each .py file crashed)
    Case(
        "generated/deep-dir",
        "model",
        None,
        "cannot compile: nested too deeply",
        file="generated/deep-dir/model.py",
        make=_deep_dir,
    ),
    Case(
        "generated/long-name.py",
        "model",
        3,
        "String should have at most 200 characters",
        "name",
        make=_text(f'from threatgraph import Model\nm = Model("Long")\nm.llm("{LONG}")\n'),
    ),
    # -- rule directories -----------------------------------------------------------------
    Case(
        "rules/syntax",
        "rules",
        6,
        "invalid YAML: while scanning a quoted scalar",
        file="rules/syntax/rules/corpus/TG-CRP-001/rule.yaml",
    ),
    Case(
        "rules/unknown-field",
        "rules",
        6,
        "unknown field (typo?)",
        "severty",
        file="rules/unknown-field/rules/corpus/TG-CRP-002/rule.yaml",
    ),
    Case(
        "rules/surrogate-escape",
        "rules",
        2,
        "invalid Unicode character escape code",
        file="rules/surrogate-escape/rules/corpus/TG-CRP-009/rule.yaml",
    ),
    Case(
        "rules/unknown-control",
        "rules",
        11,
        "unknown control 'guardrail.input_filtr' (did you mean 'guardrail.input_filter'",
        "mitigations.0.control",
        file="rules/unknown-control/rules/corpus/TG-CRP-003/rule.yaml",
    ),
    Case(
        "rules/python-tag",
        "rules",
        10,
        "unsupported tag 'tag:yaml.org,2002:python/object/apply:os.system'",
        file="rules/python-tag/rules/corpus/TG-CRP-004/rule.yaml",
    ),
    Case(
        "rules/unknown-kind",
        "rules",
        12,
        "'lmm' is not allowed here (did you mean 'llm'?)",
        "match.element.kind.0",
        file="rules/unknown-kind/rules/corpus/TG-CRP-005/rule.yaml",
    ),
    Case(
        "rules/duplicate-id",
        "rules",
        1,
        "duplicate rule id 'TG-PI-001'",
        "id",
        file="rules/duplicate-id/rules/corpus/TG-PI-001/rule.yaml",
    ),
    Case(
        "rules/empty",
        "rules",
        1,
        "a rule file must be a mapping",
        file="rules/empty/rules/corpus/TG-CRP-007/rule.yaml",
    ),
    Case(
        "rules/two-matches",
        "rules",
        10,
        "match takes exactly one of 'element', 'flow', 'path'",
        "match",
        file="rules/two-matches/rules/corpus/TG-CRP-008/rule.yaml",
    ),
    Case(
        "rules/bad-severity",
        "rules",
        6,
        "'severe' is not allowed here; one of 'info'",
        "severity",
        file="rules/bad-severity/rules/corpus/TG-CRP-009/rule.yaml",
    ),
    Case(
        "rules/alias-bomb",
        "rules",
        9,
        "aliases expand to more than",
        file="rules/alias-bomb/rules/corpus/TG-CRP-010/rule.yaml",
    ),
    Case(
        "rules/short-description",
        "rules",
        4,
        "at least 40 characters",
        "description",
        file="rules/short-description/rules/corpus/TG-CRP-011/rule.yaml",
    ),
    Case(
        "rules/bad-reference",
        "rules",
        9,
        "references must look like scheme:ID@edition",
        "references",
        file="rules/bad-reference/rules/corpus/TG-CRP-012/rule.yaml",
    ),
    Case(
        "rules/rationale-uncited",
        "rules",
        10,
        "rationale for atlas:AML.T0051.000@5.6.0, which the rule does not cite",
        "rationale",
        file="rules/rationale-uncited/rules/corpus/TG-CRP-013/rule.yaml",
    ),
    Case(
        "rules/bad-predicates",
        "rules",
        5,
        "unknown field (typo?)",
        "predicates.outsiders.trust.at_mots",
        file="rules/bad-predicates/predicates.yaml",
    ),
    Case(
        "rules/bad-controls",
        "rules",
        7,
        "String should match pattern",
        "controls.1.id",
        file="rules/bad-controls/controls.yaml",
    ),
    *(
        [
            Case(
                "generated/rules-dev-zero",
                "rules",
                None,
                "not a regular file (a device)",
                file="generated/rules-dev-zero/rules/corpus/TG-CRP-099/rule.yaml",
                make=_tree({"rules/corpus/TG-CRP-099/rule.yaml": _link("/dev/zero")}),
            ),
            Case(
                "generated/rules-fifo-controls",
                "rules",
                None,
                "not a regular file (a FIFO",
                file="generated/rules-fifo-controls/controls.yaml",
                make=_tree({"controls.yaml": _fifo}),
            ),
        ]
        if UNIX_ONLY
        else []
    ),
    # -- configuration --------------------------------------------------------------------
    Case("config/pyproject-syntax/pyproject.toml", "config", 5, "invalid TOML"),
    Case(
        "config/pyproject-unknown-key/pyproject.toml",
        "config",
        6,
        "unknown key (did you mean 'fail_on'?)",
        "tool.threatgraph.fail-on",
    ),
    Case(
        "config/pyproject-wrong-type/pyproject.toml",
        "config",
        3,
        "should be a valid integer",
        "tool.threatgraph.max_acceptance_days",
    ),
    Case(
        "config/pyproject-not-table/pyproject.toml",
        "config",
        5,
        "[tool.threatgraph] must be a table",
    ),
    Case(
        "config/toml-bad-value/.threatgraph.toml",
        "config",
        3,
        "'severe' is not allowed here; one of 'info', 'low', 'medium', 'high' or 'critical'",
        "fail_on",
    ),
    Case("config/toml-unknown-nested/.threatgraph.toml", "config", 6, "unknown key", "report"),
    Case(
        "config/toml-bad-disable/.threatgraph.toml",
        "config",
        3,
        "give the reason for disabling TG-PI-001",
        "disable",
    ),
    Case(
        "config/toml-disable-unknown-rule/.threatgraph.toml",
        "config",
        4,
        "disabled rule 'TG-PI-999' does not exist",
        "disable",
    ),
    # regression (fuzzing): a key written with an escape got no line
    Case(
        "config/toml-escaped-key/.threatgraph.toml",
        "config",
        2,
        "unknown key (did you mean 'fail_on'?)",
        "fail\\ton",
    ),
    Case("config/toml-binary/.threatgraph.toml", "config", 1, "invalid TOML"),
    Case(
        "config/toml-surrogate/.threatgraph.toml",
        "config",
        5,
        "invalid TOML: Escaped character is not a Unicode scalar value",
    ),
    Case("config/toml-latin1/.threatgraph.toml", "config", 1, "config is not UTF-8 text"),
    Case(
        "config/pyproject-found-upward/sub",
        "config-found",
        3,
        "should be a valid boolean",
        "tool.threatgraph.strict",
        file="config/pyproject-found-upward/pyproject.toml",
    ),
    # paths from the configuration stay inside the repository (the command line may leave)
    Case(
        "config/toml-output-climbs/.threatgraph.toml",
        "config",
        3,
        "output '../../../../../../threatgraph-escaped' climbs out of the repository",
        "output",
    ),
    Case(
        "config/pyproject-rules-root/pyproject.toml",
        "config",
        7,
        "rules '/' is absolute",
        "tool.threatgraph.rules",
    ),
    Case(
        "config/toml-decisions-absolute/.threatgraph.toml",
        "config",
        2,
        "decisions '/etc/threatgraph-decisions.yaml' is absolute",
        "decisions",
    ),
    Case(
        "config/toml-baseline-climbs/.threatgraph.toml",
        "config",
        4,
        "baseline '../../../../../../tmp/baseline.json' climbs out of the repository",
        "baseline",
    ),
    Case(
        "generated/config-link/.threatgraph.toml",
        "config",
        2,
        "decisions 'outside/etc/passwd' resolves outside the repository (through a symlink)",
        "decisions",
        make=lambda p: _tree(
            {
                "outside": _link("/"),
                ".threatgraph.toml": '# a symlink out\ndecisions = ["outside/etc/passwd"]\n',
            }
        )(p.parent),
    ),
    Case(
        "config/toml-bad-format/.threatgraph.toml",
        "config",
        3,
        "unknown format 'htlm' (did you mean 'html'?)",
        "formats",
    ),
    # a dotted key under [tool] is found at its line too
    Case(
        "config/pyproject-dotted-key/pyproject.toml",
        "config",
        2,
        "'severe' is not allowed here; one of 'info'",
        "tool.threatgraph.fail_on",
    ),
    *(
        [
            Case(
                "generated/fifo-config.toml",
                "config",
                None,
                "not a regular file (a FIFO",
                make=_fifo,
            )
        ]
        if UNIX_ONLY
        else []
    ),
    # -- decisions files ------------------------------------------------------------------
    Case("decisions/syntax.yaml", "decisions", 6, "invalid YAML"),
    Case("decisions/surrogate.json", "decisions", 7, "a string holds a lone surrogate"),
    Case(
        "decisions/no-header.yaml", "decisions", 1, "not a decisions file", "threatgraph-decisions"
    ),
    Case("decisions/unknown-key.yaml", "decisions", 2, "unknown key (typo?)", "decision"),
    Case(
        "decisions/unknown-field.yaml",
        "decisions",
        9,
        "unknown field (typo?)",
        "decisions.0.expiry",
    ),
    Case(
        "decisions/bad-status.yaml",
        "decisions",
        4,
        "'ignored' is not allowed here; one of 'accepted'",
        "decisions.0.status",
    ),
    Case("decisions/bad-date.yaml", "decisions", 8, "invalid timestamp value '2026-02-30'"),
    Case("decisions/not-a-list.yaml", "decisions", 2, "must be a list of decisions", "decisions"),
    Case(
        "decisions/item-not-mapping.yaml",
        "decisions",
        3,
        "a decision must be a mapping",
        "decisions.0",
    ),
    Case(
        "decisions/sets-location.yaml",
        "decisions",
        3,
        "'location' is set by threatgraph",
        "decisions.0.location",
    ),
    Case("decisions/bom-crlf.yaml", "decisions", 8, "valid date", "decisions.0.expires"),
    Case("decisions/empty.yaml", "decisions", 1, "not a decisions file", "threatgraph-decisions"),
    Case(
        "generated/alias-text-decisions.yaml",
        "decisions",
        7,
        "aliases expand to more than 67108864 characters of text",
        make=_alias_text(
            "threatgraph-decisions: 1\ndecisions:\n",
            "  - finding: TG-PI-001/chat-model\n    status: accepted\n    owner: sec\n"
            "    expires: 2026-09-01\n    reason: TEXT\n",
            64,
        ),
    ),
    *(
        [Case("generated/fifo-decisions.yaml", "decisions", None, "(a FIFO", make=_fifo)]
        if UNIX_ONLY
        else []
    ),
    # -- baseline files -------------------------------------------------------------------
    Case("baseline/syntax.json", "baseline", 5, "invalid JSON: Expecting ',' delimiter"),
    Case(
        "baseline/wrong-version.json",
        "baseline",
        1,
        "not a threatgraph baseline",
        "threatgraph-baseline",
    ),
    Case("baseline/unknown-key.json", "baseline", 3, "unknown key", "finding"),
    Case("baseline/surrogate.json", "baseline", 5, "a string holds a lone surrogate"),
    Case(
        "baseline/entry-missing-id.json",
        "baseline",
        5,
        "needs string 'model' and 'id'",
        "findings.1",
    ),
    Case("baseline/not-a-list.json", "baseline", 3, "must be a list", "findings"),
    Case(
        "baseline/id-not-string.json", "baseline", 4, "needs string 'model' and 'id'", "findings.0"
    ),
    Case(
        "baseline/empty.json", "baseline", 1, "not a threatgraph baseline", "threatgraph-baseline"
    ),
    Case("baseline/binary.json", "baseline", 3, "binary file"),
    *(
        [
            Case(
                "generated/dev-zero-baseline.json",
                "baseline",
                None,
                "not a regular file (a device)",
                make=_link("/dev/zero"),
            )
        ]
        if UNIX_ONLY
        else []
    ),
    # -- pytm model files -----------------------------------------------------------------
    Case("pytm/raises.py", "pytm", 7, "pytm model raised RuntimeError: the model's generator"),
    Case("pytm/no-tm.py", "pytm", 1, "the file builds no pytm TM"),
    Case("pytm/exits.py", "pytm", 7, "model file called exit(4)"),
    Case("pytm/syntax.py", "pytm", 4, "syntax error: '(' was never closed"),
    Case("pytm/unknown-kind.py", "pytm", 5, "unknown kind 'lmm'", "threatgraph.kind"),
    Case("pytm/unknown-field.py", "pytm", 5, "unknown field (typo?)", "internet_faceing"),
    Case("pytm/surrogate.py", "pytm", 5, "a string holds a lone surrogate", "name"),
    Case("pytm/two-tms.py", "pytm", 4, "the file builds 2 pytm TM objects"),
    Case("pytm/recursion.py", "pytm", 5, "pytm model raised RecursionError"),
    # a YAML model that is also Python: `import pytm` ran it (check reads it as YAML, rightly)
    Case(
        "pytm/yaml-polyglot.yaml",
        "pytm-import",
        None,
        "not a Python file: only .py files are run as model code (this file was not run)",
    ),
    # regression: a pytm file past the 256 KB once read to sniff went to the DSL loader
    Case(
        "generated/big-pytm.py",
        "pytm",
        6,
        "pytm model raised RuntimeError: end of the big model",
        make=_big_pytm,
    ),
    # -- OTM files ------------------------------------------------------------------------
    Case("otm/syntax.json", "otm", 5, "invalid JSON: Expecting property name"),
    Case("otm/missing-version.json", "otm", 1, "missing 'otmVersion'", "otmVersion"),
    Case("otm/unsupported-version.json", "otm", 2, "unsupported otmVersion '9.9.9'", "otmVersion"),
    Case(
        "otm/dangling-dataflow.json",
        "otm",
        12,
        "dataflow destination 'database' is not a component",
        "destination",
    ),
    Case("otm/duplicate-zone.json", "otm", 6, "duplicate trust zone id 'tz'", "id"),
    Case("otm/wrong-type.json", "otm", 4, "'components' must be a list", "components"),
    Case("otm/surrogate.json", "otm", 6, "a string holds a lone surrogate"),
    # A rejected component is reported once: the dataflow that uses it adds no error.
    Case("otm/unknown-kind.json", "otm", 9, "unknown kind 'quantum-thing'", "kind"),
    Case("otm/syntax.otm.yaml", "otm", 8, "invalid YAML"),
    Case("otm/duplicate-key.json", "otm", 4, "invalid JSON: duplicate key 'name'"),
    Case("otm/not-an-object.json", "otm", 1, "an OTM file must be an object"),
    # regression (fuzzing): a list where an id goes was a TypeError (unhashable)
    Case(
        "otm/list-as-id.json",
        "otm",
        8,
        "parent.trustZone must be a trust zone id (a string)",
        "parent",
    ),
    Case("otm/deep.json", "otm", 3, "nesting deeper than 64 levels"),
]


@pytest.fixture(autouse=True, scope="module")
def _builtin_library_once() -> Iterator[None]:
    """Load the built-in library once for the module (some 100 CLI runs would reload it).

    Runs with custom rule directories or disabled rules still load for real: those are
    the cases about the library.
    """
    from threatgraph import pipeline
    from threatgraph.engine import library

    real = library.load_library
    builtin = real()

    def load(
        extra_dirs: Sequence[str | Path] = (),
        disabled: dict[str, str] | None = None,
        include_builtin: bool = True,
    ) -> library.Library:
        if not extra_dirs and not disabled and include_builtin:
            return builtin
        return real(extra_dirs, disabled, include_builtin)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(library, "load_library", load)
        mp.setattr(pipeline, "load_library", load)
        yield


def _prepare(case: Case, tmp_path: Path) -> tuple[Path, Path]:
    """(the input to pass, the file the message must name)."""
    if case.make is not None:
        p = tmp_path / case.path
        p.parent.mkdir(parents=True, exist_ok=True)
        case.make(p)
        return p, tmp_path / (case.file or case.path)
    p = CORPUS / case.path
    assert p.exists(), f"corpus file missing: {p}"
    return p, CORPUS / (case.file or case.path)


def _commands(case: Case, target: Path, out: Path) -> list[list[str]]:
    """The CLI runs of one case: check -o, report -o, and import for OTM/pytm files."""
    tail = ["--as-of", AS_OF]
    valid = str(VALID)
    if case.kind == "pytm-import":
        return [["import", "pytm", str(target), "-o", str(out / "imported.yaml")]]
    if case.kind in ("model", "otm", "pytm"):
        inputs = [str(target)]
    elif case.kind == "config-found":
        inputs = [valid]
    else:
        inputs = [valid]
        flag = {"rules": "--rules", "config": "--config", "decisions": "--decisions"}
        tail += [flag.get(case.kind, "--baseline"), str(target)]
    runs = [
        ["check", *inputs, "--format", "json", "-o", str(out / "findings.json"), *tail],
        ["report", *inputs, "-o", str(out / "report"), *tail],
    ]
    if case.kind in ("otm", "pytm"):
        runs.append(["import", case.kind, str(target), "-o", str(out / "imported.yaml")])
    return runs


def _snapshot(directory: Path) -> dict[str, bytes]:
    return {
        p.relative_to(directory).as_posix(): p.read_bytes()
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


def test_corpus_has_at_least_40_committed_cases_of_every_kind() -> None:
    committed = [c for c in CASES if c.make is None]
    assert len(committed) >= 40
    kinds = {c.path.split("/", 1)[0] for c in committed}
    assert kinds >= {
        "models-yaml",
        "models-json",
        "models-python",
        "rules",
        "config",
        "decisions",
        "baseline",
        "pytm",
        "otm",
    }
    # every committed corpus file or case directory is in the table (none forgotten)
    listed = {c.path for c in committed}
    on_disk = (
        {
            p.relative_to(CORPUS).as_posix()
            for d in sorted(CORPUS.iterdir())
            if d.is_dir() and d.name not in ("valid",)
            for p in sorted(d.iterdir())
            if d.name not in ("rules", "config")
        }
        | {f"rules/{p.name}" for p in (CORPUS / "rules").iterdir()}
        | {
            (f"config/{p.name}/" + next(q.name for q in p.iterdir() if q.is_file()))
            if p.name != "pyproject-found-upward"
            else f"config/{p.name}/sub"
            for p in (CORPUS / "config").iterdir()
        }
    )
    assert on_disk == listed


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_broken_input_exits_2_with_file_line_and_message(
    case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target, named = _prepare(case, tmp_path)
    if case.kind == "config-found":
        monkeypatch.chdir(target)
    out = tmp_path / "out"
    earlier = {"findings.json": b'{"earlier": true}\n', "report/corpus/report.md": b"# earlier\n"}
    for rel, content in earlier.items():
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        (out / rel).write_bytes(content)
    where = f"error: {named}:{case.line}: " if case.line else f"error: {named}: "
    for args in _commands(case, target, out):
        res = CliRunner().invoke(cli, args)
        shown = f"$ threatgraph {' '.join(args)}\n{res.output}"
        assert isinstance(res.exception, SystemExit), shown + repr(res.exception)
        assert res.exit_code == 2, shown
        assert "Traceback" not in res.output, shown
        lines = [ln for ln in res.stderr.splitlines() if ln.startswith(where)]
        assert lines, f"no line starting {where!r}\n{shown}"
        if case.field:
            lines = [ln for ln in lines if ln.startswith(f"{where}[{case.field}] ")]
            assert lines, f"no [{case.field}] at {where!r}\n{shown}"
        assert any(case.message in ln for ln in lines), shown
        assert all(len(ln) < 1000 for ln in res.stderr.splitlines()), "messages stay short"
        assert _snapshot(out) == earlier, f"output changed\n{shown}"


@pytest.mark.parametrize(
    "rel",
    ["models-python/recursion.py", "models-yaml/alias-bomb.yaml"],
)
def test_real_process_prints_no_traceback(rel: str, tmp_path: Path) -> None:
    """The console entry point itself, in a fresh interpreter (its own recursion limit)."""
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    env.pop("THREATGRAPH_DEBUG", None)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "threatgraph",
            "check",
            str(CORPUS / rel),
            "-o",
            str(tmp_path / "x"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=env,
    )
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    assert proc.stderr.startswith(f"error: {CORPUS / rel}:")
    assert not (tmp_path / "x").exists()
