"""pytm interop: loading pytm model files, and pytm's classic threat library (--pytm-threats)."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from threatgraph.cli import cli
from threatgraph.load.registry import discover, load_paths
from threatgraph.model.schema import Classification, Kind, Trust
from threatgraph.util.errors import InputError

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "fixtures" / "pytm" / "tm.py"


def line_of(text: str, needle: str, path: Path = FIXTURE) -> int:
    """1-based line of the first line of ``path`` containing ``needle``."""
    for i, line in enumerate(path.read_text().splitlines(), 1):
        if needle in line:
            return i
    raise AssertionError(f"{needle!r} not in {path}")


@pytest.fixture(scope="module")
def loaded():  # type: ignore[no-untyped-def]
    from threatgraph.engine.library import load_library

    lib = load_library()
    (lm,) = load_paths([FIXTURE], lib.controls.keys())
    return lm


def write(tmp_path: Path, name: str, body: str) -> Path:
    p = tmp_path / name
    p.write_text(textwrap.dedent(body))
    return p


# -- discovery ------------------------------------------------------------------------------


def test_pytm_file_is_claimed_by_the_pytm_format(tmp_path: Path) -> None:
    write(tmp_path, "dsl.py", "from threatgraph import Model\nm = Model('x')\n")
    write(tmp_path, "both.py", "import pytm\nfrom threatgraph import Model\n")
    other = write(tmp_path, "other.py", "import os\n")
    found = {p.name: fmt.name for p, fmt in discover([tmp_path])}
    assert found["dsl.py"] == "python"
    assert found.get("both.py") != "pytm"  # a threatgraph file that also imports pytm
    assert dict((p.name, f.name) for p, f in discover([FIXTURE])) == {"tm.py": "pytm"}
    assert other.name not in found


def test_searching_a_directory_runs_nothing(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    write(tmp_path, "tm.py", f"import pytm\nopen({str(marker)!r}, 'w').close()\n")
    assert [p.name for p, _ in discover([tmp_path])] == ["tm.py"]
    assert not marker.exists()


# -- conversion -----------------------------------------------------------------------------


def test_kinds_follow_the_mapping_table(loaded) -> None:  # type: ignore[no-untyped-def]
    kinds = {e.name: e.kind for e in loaded.model.elements}
    assert kinds == {
        "Customer": Kind.ACTOR,
        "Helpdesk SaaS": Kind.ACTOR,
        "Web Server": Kind.APP,
        "SQL Database": Kind.DATASTORE,
        "Real Identity Database": Kind.DATASTORE,
        "Ticket worker": Kind.PROCESS,
        "Indexers": Kind.PROCESS,
        "Notification lambda": Kind.PROCESS,
        "Assistant LLM": Kind.LLM,
        "Ticket agent": Kind.AGENT,
    }
    assert loaded.format == "pytm"
    assert loaded.model.model.name == "Support portal"
    assert "hypervisor" in (loaded.model.model.description or "")


def test_boundaries_nest_and_get_a_trust_level(loaded) -> None:  # type: ignore[no-untyped-def]
    b = {x.id: x for x in loaded.model.boundaries}
    assert b["server-db"].parent == "company-network"
    assert b["internet"].trust is Trust.UNTRUSTED
    assert b["company-network"].trust is Trust.INTERNAL
    assert b["ai-vendor"].trust is Trust.THIRD_PARTY
    el = loaded.model.element("sql-database")
    assert el.boundary == "server-db"


def test_data_classifications(loaded) -> None:  # type: ignore[no-untyped-def]
    d = {x.name: x.classification for x in loaded.model.data}
    assert d["Customer question"] is Classification.PII  # isPII wins over RESTRICTED
    assert d["Session token"] is Classification.SECRET  # isCredentials
    assert d["Knowledge base articles"] is Classification.PUBLIC
    assert d["Customer records"] is Classification.CONFIDENTIAL  # SENSITIVE
    # storesPII on a Datastore becomes data threatgraph rules can see.
    store = loaded.model.element("real-identity-database")
    held = next(x for x in loaded.model.data if x.id in store.stores)
    assert held.classification is Classification.PII


def test_control_flags_map_to_catalogue_controls(loaded) -> None:  # type: ignore[no-untyped-def]
    m = loaded.model
    assert m.element("web-server").control_ids() == {"infra.hardening", "output.encoding"}
    assert m.element("real-identity-database").control_ids() == {
        "infra.hardening",
        "crypto.at_rest",
    }
    assert m.element("ticket-worker").control_ids() == {"input.validation"}
    assert m.element("notification-lambda").control_ids() == {"authz.rbac"}
    assert m.element("sql-database").control_ids() == frozenset()
    flows = {f.name: f for f in m.flows}
    asks = flows["User asks a question"]
    assert asks.protocol == "https" and asks.encrypted is True
    assert "crypto.tls" in asks.control_ids()
    assert [m.element("customer").name, m.element("web-server").name] == ["Customer", "Web Server"]
    assert asks.data == ["customer-question", "session-token"]  # declaration order
    assert flows["Look up customer"].encrypted is None
    assert flows["Look up customer"].protocol == "mysql"


def test_every_object_points_at_the_line_that_built_it(loaded) -> None:  # type: ignore[no-untyped-def]
    text = FIXTURE.read_text()
    m = loaded.model
    assert m.element("web-server").location.line == line_of(text, 'web = Server("Web Server")')
    assert m.element("real-identity-database").location.line == line_of(text, "secret_db = ")
    flow = next(f for f in m.flows if f.name == "File ticket")
    assert flow.location.line == line_of(text, "worker_to_helpdesk = ")
    assert next(b for b in m.boundaries if b.id == "internet").location.line == line_of(
        text, 'internet = Boundary("Internet")'
    )
    assert m.location is not None and m.location.line == line_of(text, 'tm = TM("Support portal")')
    assert all(e.location and e.location.file == str(FIXTURE) for e in m.elements)


def test_loading_leaves_pytm_and_the_process_as_they_were(tmp_path: Path) -> None:
    from pytm import TM

    before_state = TM._state
    before_process, before_resolve = TM.__dict__["process"], TM.__dict__["resolve"]
    argv = sys.argv[:]
    random.seed(1234)
    expected = random.random()
    random.seed(1234)
    load_paths([FIXTURE])
    assert random.random() == expected  # TM() reseeds random; the loader restores it
    assert TM._state is before_state
    assert TM.__dict__["process"] is before_process
    assert TM.__dict__["resolve"] is before_resolve
    assert sys.argv == argv
    # Loading twice gives the same model: no state leaks from one load into the next.
    a = load_paths([FIXTURE])[0].model.model_dump(mode="json")
    b = load_paths([FIXTURE])[0].model.model_dump(mode="json")
    assert a == b


def test_process_and_argv_parsing_do_not_break_loading(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    p = write(
        tmp_path,
        "tm.py",
        """\
        import sys
        from pytm import TM, Actor, Server, Dataflow
        from pytm.pytm import get_args
        tm = TM("Unguarded")
        print("hello from the model")
        a = Actor("User")
        s = Server("API")
        Dataflow(a, s, "call")
        args = get_args()          # parses sys.argv, which the loader clears
        assert not args.report
        tm.process()               # unguarded: would parse argv, print and exit
        tm.resolve()
        sys.exit(0)
        """,
    )
    (lm,) = load_paths([p])
    assert [e.name for e in lm.model.elements] == ["User", "API"]
    out = capsys.readouterr()
    assert "hello from the model" not in out.out  # stdout stays clean for JSON output
    assert "hello from the model" in out.err


@pytest.mark.parametrize(
    ("body", "needle", "message"),
    [
        ("from pytm import TM\ntm = TM('x'\n", "tm = TM", "syntax error"),
        ("from pytm import TM\ntm = TM('x')\nraise ValueError('boom')\n", "raise", "boom"),
        ("import sys\nfrom pytm import TM\ntm = TM('x')\nsys.exit(3)\n", "sys.exit", "exit(3)"),
        ("from pytm import Actor\na = Actor('x')\n", None, "builds no pytm TM"),
        ("from pytm import TM\na = TM('x')\nb = TM('y')\n", "b = TM", "2 pytm TM objects"),
        (
            "from pytm import TM, Server\ntm = TM('x')\ns = Server('s', threatgraph={'kind': 7})\n",
            "s = Server",
            "kind",
        ),
        (
            "from pytm import TM, Server\ntm = TM('x')\ns = Server('s', threatgraph='app')\n",
            "s = Server",
            "must be a dict",
        ),
    ],
)
def test_bad_pytm_files_are_input_errors_with_a_line(
    tmp_path: Path, body: str, needle: str | None, message: str
) -> None:
    p = tmp_path / "tm.py"
    p.write_text(body)
    with pytest.raises(InputError) as exc:
        load_paths([p])
    problem = exc.value.problems[0]
    assert message in str(problem)
    assert problem.file == str(p)
    if needle is not None:
        assert problem.line == line_of(body, needle, p)


def test_threatgraph_keyword_overrides_kind_trust_and_controls(tmp_path: Path) -> None:
    p = write(
        tmp_path,
        "tm.py",
        """\
        from pytm import TM, Boundary, ExternalEntity, LLM, Dataflow
        tm = TM("Overrides")
        dmz = Boundary("Zone A", threatgraph={"trust": "partner"})
        feed = ExternalEntity(
            "News feed", threatgraph={"kind": "external_content", "content": "web"}
        )
        llm = LLM("Model", threatgraph={"controls": ["testing.prompt_injection_suite"]})
        llm.hasContentFiltering = True
        Dataflow(feed, llm, "articles")
        """,
    )
    (lm,) = load_paths([p])
    m = lm.model
    assert m.boundaries[0].trust is Trust.PARTNER
    feed = m.element("news-feed")
    assert feed.kind is Kind.EXTERNAL_CONTENT and feed.content == "web"
    assert m.element("model").control_ids() == {
        "guardrail.input_filter",
        "guardrail.output_filter",
        "testing.prompt_injection_suite",
    }


def test_unknown_control_in_an_override_is_reported_with_its_line(tmp_path: Path) -> None:
    from threatgraph.engine.library import load_library

    p = write(
        tmp_path,
        "tm.py",
        """\
        from pytm import TM, Server
        tm = TM("x")
        s = Server("S", threatgraph={"controls": ["crypto.tlss"]})
        """,
    )
    with pytest.raises(InputError) as exc:
        load_paths([p], load_library().controls.keys())
    assert exc.value.problems[0].line == 3
    assert "crypto.tls" in exc.value.problems[0].message  # the suggestion


# -- check and import on a pytm file ---------------------------------------------------------


def test_check_runs_on_a_pytm_file_without_edits() -> None:
    res = CliRunner().invoke(cli, ["check", str(FIXTURE), "--as-of", "2026-01-15"])
    assert res.exit_code == 1, res.output
    web_llm = line_of(FIXTURE.read_text(), 'assistant = LLM("Assistant LLM")')
    assert f"tm.py:{web_llm}: TG-PI-001 " in res.output  # the customer reaches the LLM
    assert "pytm:" not in res.output


def test_import_pytm_writes_a_yaml_model_that_loads_to_the_same_model(tmp_path: Path) -> None:
    out = tmp_path / "model.yaml"
    res = CliRunner().invoke(cli, ["import", "pytm", str(FIXTURE), "-o", str(out)])
    assert res.exit_code == 0, res.output
    assert "10 elements" in res.output
    text = out.read_text()
    assert text.startswith("# Converted from the pytm model")
    assert yaml.safe_load(text)["threatgraph"] == 1
    (orig,) = load_paths([FIXTURE])
    (back,) = load_paths([out])
    assert back.format == "yaml"
    assert back.model.model_dump(mode="json") == orig.model.model_dump(mode="json")
    again = tmp_path / "again.yaml"
    CliRunner().invoke(cli, ["import", "pytm", str(FIXTURE), "-o", str(again)])
    assert again.read_bytes() == out.read_bytes()


def test_import_pytm_errors_exit_2(tmp_path: Path) -> None:
    p = tmp_path / "tm.py"
    p.write_text("from pytm import TM\ntm = TM('x')\n1/0\n")
    res = CliRunner().invoke(cli, ["import", "pytm", str(p)])
    assert res.exit_code == 2
    assert f"{p}:3:" in res.output and "ZeroDivisionError" in res.output


# -- pytm's threat library -------------------------------------------------------------------


def _native_pytm_findings(path: Path) -> list[list[str]]:
    """What pytm itself finds for a model file, run in a separate interpreter."""
    code = (
        "import json, runpy, sys\n"
        "sys.argv = [sys.argv[1]]\n"
        "ns = runpy.run_path(sys.argv[0], run_name='not_main')\n"
        "tm = ns['tm']\n"
        "tm.check(); tm.resolve()\n"
        "print(json.dumps(sorted([f.threat_id, f.element.name] for f in tm.findings)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout)  # type: ignore[no-any-return]


def _run_json(*args: str) -> dict:  # type: ignore[type-arg]
    res = CliRunner().invoke(
        cli, ["check", *args, "--format", "json", "--as-of", "2026-01-15", "--fail-on", "critical"]
    )
    assert res.exit_code in (0, 1), res.output
    return json.loads(res.stdout)  # type: ignore[no-any-return]


def test_pytm_threats_match_what_pytm_itself_finds() -> None:
    doc = _run_json(str(FIXTURE), "--pytm-threats")
    pytm_side = [f for f in doc["findings"] if f["threat"].startswith("pytm:")]
    names = {}
    (lm,) = load_paths([FIXTURE])
    for e in lm.model.elements:
        names[e.id] = e.name
    for f in lm.model.flows:
        names[f.id] = f.name
    ours = sorted(
        [f["threat"].removeprefix("pytm:"), names[f["id"].split("/", 1)[1]]] for f in pytm_side
    )
    assert ours == _native_pytm_findings(FIXTURE)
    assert len(ours) > 50
    # Our own AI findings are still there, in the same report.
    assert any(f["threat"].startswith("TG-") for f in doc["findings"])


def test_pytm_findings_are_ordinary_findings(library) -> None:  # type: ignore[no-untyped-def]
    from threatgraph.features.lint import reference_exists

    doc = _run_json(str(FIXTURE), "--pytm-threats")
    by_id = {f["id"]: f for f in doc["findings"]}
    de01 = by_id["pytm:DE01/web-server--sql-database--look-up-customer"]
    assert de01["severity"] == "medium" and de01["status"] == "open"
    assert de01["element"] == "sql-database" and de01["flow"].endswith("look-up-customer")
    assert "cwe:CWE-319@4.16" in de01["references"]
    assert de01["location"]["line"] == line_of(FIXTURE.read_text(), "web_to_db = Dataflow")
    assert any("CAPEC-117" in n for n in de01["notes"])
    # A "Very High" pytm threat is critical here.
    inp02 = [f for f in doc["findings"] if f["threat"] == "pytm:INP02"]
    assert inp02 and all(f["severity"] == "critical" for f in inp02)
    # Every cited reference is in the reference index (or names pytm itself).
    for f in doc["findings"]:
        for ref in f["references"]:
            if not ref.startswith("pytm:"):
                assert reference_exists(ref, library.references) is None, ref
    # Checklists name catalogue controls, or one pseudo-item named after the pytm threat.
    for f in doc["findings"]:
        for m in f["mitigations"]:
            assert m["control"] in library.controls or m["control"] == f["threat"]
    # The web server encodes output (present) but does not sanitise input (missing).
    sc = by_id.get("pytm:INP29/web-server")
    assert sc is not None
    got = {m["control"]: m["present"] for m in sc["mitigations"]}
    assert got == {"output.encoding": True, "input.validation": False}


def test_pytm_threats_from_the_config_key(tmp_path: Path) -> None:
    cfg = tmp_path / ".threatgraph.toml"
    cfg.write_text("pytm_threats = true\n")
    doc = _run_json(str(FIXTURE), "--config", str(cfg))
    assert any(f["threat"].startswith("pytm:") for f in doc["findings"])
    doc = _run_json(str(FIXTURE), "--config", str(cfg), "--no-pytm-threats")
    assert not any(f["threat"].startswith("pytm:") for f in doc["findings"])


YAML_MODEL = """\
threatgraph: 1
model: {name: Chat}
boundaries:
  - {name: Internet, trust: untrusted}
  - {name: Corp, trust: internal}
data:
  - {name: Chat text, classification: pii}
elements:
  - {kind: actor, name: User, boundary: internet}
  - {kind: app, name: Chat app, boundary: corp}
  - {kind: llm, name: Model, boundary: corp, controls: [%s]}
flows:
  - {from: user, to: chat-app, name: message, protocol: https, data: [chat-text]}
  - {from: chat-app, to: model, name: prompt, protocol: http, data: [chat-text]}
"""


def test_pytm_threats_on_a_yaml_model_use_a_rebuilt_pytm_model(tmp_path: Path) -> None:
    bare = tmp_path / "bare.yaml"
    bare.write_text(YAML_MODEL % "")
    ids = {f["id"] for f in _run_json(str(bare), "--pytm-threats")["findings"]}
    assert "pytm:LLM01/model" in ids  # untrusted input reaches the LLM, no content filter
    assert "pytm:LLM08/model" in ids  # personal data, no output encoding
    assert "pytm:DE01/chat-app--model--prompt" in ids  # plain http
    assert "pytm:DR01/chat-app--model--prompt" in ids  # personal data over plain http
    assert "pytm:DR01/user--chat-app--message" not in ids  # https is encrypted
    guarded = tmp_path / "guarded.yaml"
    guarded.write_text(YAML_MODEL % "guardrail.input_filter")
    ids = {f["id"] for f in _run_json(str(guarded), "--pytm-threats")["findings"]}
    assert "pytm:LLM01/model" not in ids  # the declared control became pytm's flag


def test_decisions_apply_to_pytm_findings(tmp_path: Path) -> None:
    p = tmp_path / "m.yaml"
    p.write_text(
        YAML_MODEL % ""
        + "decisions:\n"
        + "  - {finding: pytm:LLM08/model, status: false_positive, reason: outputs are redacted}\n"
    )
    doc = _run_json(str(p), "--pytm-threats")
    f = next(x for x in doc["findings"] if x["id"] == "pytm:LLM08/model")
    assert f["status"] == "false_positive"


def test_every_pytm_threat_becomes_a_valid_rule(library) -> None:  # type: ignore[no-untyped-def]
    import pytm

    from threatgraph.engine.rules import Rule
    from threatgraph.interop.pytm_threats import PytmRule, build_rule
    from threatgraph.load.pytm_loader import pytm_state

    with pytm_state() as state:
        pytm.TM("probe")
        threats = list(pytm.TM._state.threats)
    del state
    assert len(threats) > 100
    for t in threats:
        rule, _rest = build_rule(t, library.references)
        assert isinstance(rule, PytmRule) and isinstance(rule, Rule)
        assert rule.id == f"pytm:{t.id}"
    assert not any(r.rule.id.startswith("pytm:") for r in library.rules)


def test_mapping_tables_name_real_pytm_fields_and_catalogue_controls(library) -> None:  # type: ignore[no-untyped-def]
    import pytm

    from threatgraph.load import pytm_map

    for cls in pytm_map.KIND_OF_CLASS:
        assert isinstance(getattr(pytm, cls), type), cls
    assert set(pytm_map.CLASS_OF_KIND) == set(Kind)
    flags = set(pytm.Controls.model_fields)
    for flag, controls in pytm_map.CONTROL_OF_FLAG.items():
        assert flag in flags, flag
        assert all(c in library.controls for c in controls)
    for cls, attrs in pytm_map.CONTROL_OF_ATTRIBUTE.items():
        for attr, controls in attrs.items():
            assert attr in getattr(pytm, cls).model_fields
            assert all(c in library.controls for c in controls)
    assert set(pytm_map.CLASSIFICATION_OF) == {c.name for c in pytm.Classification}


def test_boundary_trust_guess() -> None:
    from threatgraph.load.pytm_map import guess_trust

    assert guess_trust("Internet") is Trust.UNTRUSTED
    assert guess_trust("Third-party SaaS") is Trust.THIRD_PARTY
    assert guess_trust("Partner network") is Trust.PARTNER
    assert guess_trust("PCI vault") is Trust.RESTRICTED
    assert guess_trust("AWS VPC") is Trust.INTERNAL


def test_docs_list_every_mapping() -> None:
    import pytm

    from threatgraph.load import pytm_map

    doc = (ROOT / "docs" / "migrating-from-pytm.md").read_text()
    for cls, kind in pytm_map.KIND_OF_CLASS.items():
        assert f"| `{cls}`" in doc and f"`{kind.value}`" in doc, cls
    for flag, controls in pytm_map.CONTROL_OF_FLAG.items():
        assert f"`{flag}`" in doc and all(f"`{c}`" in doc for c in controls), flag
    # every unmapped flag is listed as not converted
    for flag in set(pytm.Controls.model_fields) - set(pytm_map.CONTROL_OF_FLAG):
        assert f"`{flag}`" in doc, flag
    interop = (ROOT / "docs" / "interop.md").read_text()
    for kind, cls in pytm_map.CLASS_OF_KIND.items():
        assert f"`{kind.value}`" in interop and f"`{cls}`" in interop


def test_output_does_not_depend_on_the_hash_seed(tmp_path: Path) -> None:
    """pytm keeps data in sets; the conversion and pytm's findings must not follow their order."""
    outputs = []
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        argv = [sys.executable, "-m", "threatgraph", "check", str(FIXTURE), "--pytm-threats"]
        out = subprocess.run(
            [*argv, "--format", "json", "--as-of", "2026-01-15"],
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
        assert out.returncode in (0, 1), out.stderr
        outputs.append(out.stdout)
    assert outputs[0] == outputs[1]


def test_pytm_findings_follow_the_findings_json_schema() -> None:
    import jsonschema

    schema = json.loads((ROOT / "docs" / "findings.schema.json").read_text())
    finding_schema = {"$defs": schema["$defs"], **schema["$defs"]["finding"]}
    validator = jsonschema.Draft202012Validator(finding_schema)
    doc = _run_json(str(FIXTURE), "--pytm-threats")
    pytm_side = [f for f in doc["findings"] if f["threat"].startswith("pytm:")]
    assert pytm_side
    for f in pytm_side:
        errors = [e.message for e in validator.iter_errors(f)]
        assert not errors, (f["id"], errors[:3])


def test_pytm_model_stuck_in_a_loop_is_stopped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("THREATGRAPH_MODEL_TIMEOUT", "0.2")
    p = write(
        tmp_path,
        "tm.py",
        """\
        from pytm import TM, Actor
        tm = TM("Loops")
        user = Actor("User")
        while True:
            pass
        """,
    )
    res = CliRunner().invoke(cli, ["check", str(p)])
    assert res.exit_code == 2
    assert f"{p}:4: model file still running after 0.2 s" in res.output


# -- loading stays linear -------------------------------------------------------------------


def _generated_pytm_file(tmp_path: Path, n: int) -> Path:
    """A pytm file of the bench's estate of ``n`` elements, plus objects made in a loop
    inside a function (another code object than the module's)."""
    sys.path.insert(0, str(ROOT / "bench"))
    import generate

    text = generate.to_pytm(generate.estate(n, seed=2))
    text += (
        "\n\ndef helpers(count):\n"
        "    made = [Process(f'Helper {i}') for i in range(count)]\n"
        "    return made\n\n\n"
        "HELPERS = helpers(3)\n"
    )
    p = tmp_path / "tm.py"
    p.write_text(text)
    return p


def test_each_object_of_a_large_pytm_file_gets_its_line_from_one_scan_per_code_object(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Lines come from one pass over each code object's line table, however many objects
    the file builds (reading each frame's f_lineno rescanned it per object: quadratic)."""
    from threatgraph.load import pytm_loader

    p = _generated_pytm_file(tmp_path, 3_000)
    scans: list[object] = []
    real = pytm_loader._code_lines

    def counting(code):  # type: ignore[no-untyped-def]
        scans.append(code)
        return real(code)

    monkeypatch.setattr(pytm_loader, "_code_lines", counting)
    (lm,) = load_paths([p])
    assert lm.format == "pytm"  # over 256 KB, where the registry once stopped reading
    assert p.stat().st_size > 256 * 1024
    m = lm.model
    # The module and the comprehension (its own code object on Python 3.11).
    assert 1 <= len(scans) <= 3, len(scans)
    assert len(m.elements) > 3_000 and len(m.flows) > 7_000

    text = p.read_text().splitlines()
    want: dict[str, list[int]] = {"e": [], "f": [], "d": [], "b": []}
    for i, line in enumerate(text, 1):
        head = line.split(" = ", 1)[0]
        if head[:1] in want and head[1:].isdigit():
            want[head[:1]].append(i)
    assert [e.location.line for e in m.elements[: len(want["e"])]] == want["e"]
    assert [f.location.line for f in m.flows] == want["f"]
    assert [d.location.line for d in m.data[: len(want["d"])]] == want["d"]
    assert [b.location.line for b in m.boundaries] == want["b"]
    loop_line = next(i for i, line in enumerate(text, 1) if "made = [Process(" in line)
    helpers = [e for e in m.elements if e.name.startswith("Helper ")]
    assert [e.location.line for e in helpers] == [loop_line] * 3
    assert m.location is not None
    assert m.location.line == next(i for i, ln in enumerate(text, 1) if ln.startswith("tm = TM("))


def test_the_pytm_loader_never_reads_a_frames_line_number() -> None:
    """f_lineno scans the line table from the start; the loader keeps f_lasti instead."""
    import ast

    from threatgraph.load import pytm_loader

    tree = ast.parse(Path(pytm_loader.__file__).read_text())
    reads = [
        n.lineno for n in ast.walk(tree) if isinstance(n, ast.Attribute) and n.attr == "f_lineno"
    ]
    assert reads == []


# -- pytm's threats do not depend on the run ------------------------------------------------


def test_pytm_threats_are_the_same_for_every_copy_of_a_pytm_file(tmp_path: Path) -> None:
    """40 copies of one file in one run: each gets exactly the findings of a run on one file
    (the first 8 lost their pytm objects to a 32-entry table and got 195 instead of 191)."""
    copies = tmp_path / "copies"
    copies.mkdir()
    for i in range(40):
        (copies / f"tm{i:02}.py").write_bytes(FIXTURE.read_bytes())
    alone = {
        f["id"]
        for f in _run_json(str(copies / "tm00.py"), "--pytm-threats")["findings"]
        if f["threat"].startswith("pytm:")
    }
    assert len(alone) > 150
    by_file: dict[str, set[str]] = {}
    for f in _run_json(str(copies), "--pytm-threats")["findings"]:
        if f["threat"].startswith("pytm:"):
            by_file.setdefault(f["location"]["file"], set()).add(f["id"])
    assert len(by_file) == 40
    for file, ids in sorted(by_file.items()):
        assert ids == alone, (file, sorted(alone ^ ids))


def test_pytm_code_keeps_no_state_between_models() -> None:
    """Loading pytm models and running pytm's engine on them leaves every module-level
    container of the pytm code as it was: what a later stage needs is on the model."""
    from threatgraph import graph as graph_mod
    from threatgraph.engine.library import load_library
    from threatgraph.interop import pytm_threats
    from threatgraph.load import plugins, pytm_loader, pytm_map

    def containers() -> dict[str, object]:
        out: dict[str, object] = {}
        for mod in (pytm_loader, pytm_threats, pytm_map, plugins):
            for name, value in vars(mod).items():
                if isinstance(value, (dict, list, set)):
                    out[f"{mod.__name__}.{name}"] = repr(value)
        return out

    lib = load_library()
    load_paths([FIXTURE], lib.controls.keys())  # first use may import lazily
    before = containers()
    for _ in range(3):
        (lm,) = load_paths([FIXTURE], lib.controls.keys())
        assert lm.pytm is not None and lm.pytm.original
        g = graph_mod.build(lm.model)
        assert pytm_threats.pytm_findings(lm, g, lib)
    assert containers() == before


# -- only .py files run ---------------------------------------------------------------------


POLYGLOT = """\
threatgraph: 1
model: {"name": "Polyglot", "description": __import__("pathlib").Path(%r).touch()}
elements: [{"id": "user", "name": "User", "kind": "actor"}]
"""


def test_the_polyglot_really_runs_as_python(tmp_path: Path) -> None:
    """The file the next tests use is a valid YAML model and Python that leaves a marker
    (so that they would notice it being run)."""
    marker = tmp_path / "ran"
    p = tmp_path / "model.yaml"
    p.write_text(POLYGLOT % str(marker))
    subprocess.run([sys.executable, str(p)], check=True, capture_output=True)
    assert marker.exists()
    assert yaml.safe_load(p.read_text())["model"]["name"] == "Polyglot"


def test_a_yaml_model_that_is_also_python_is_read_as_yaml_and_never_run(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    p = tmp_path / "model.yaml"
    p.write_text(POLYGLOT % str(marker))
    res = CliRunner().invoke(cli, ["check", str(p), "--as-of", "2026-01-15"])
    assert res.exit_code == 0, res.output
    res = CliRunner().invoke(cli, ["validate", str(p)])
    assert res.exit_code == 0, res.output
    assert not marker.exists()


@pytest.mark.parametrize("name", ["model.yaml", "model.yml", "model.json", "tm.txt", "tm"])
def test_import_pytm_runs_only_py_files(tmp_path: Path, name: str) -> None:
    marker = tmp_path / "ran"
    p = tmp_path / name
    if name == "model.yaml":
        p.write_text(POLYGLOT % str(marker))
    else:
        p.write_text(f"from pytm import TM\nopen({str(marker)!r}, 'w').close()\ntm = TM('x')\n")
    out = tmp_path / "out.yaml"
    res = CliRunner().invoke(cli, ["import", "pytm", str(p), "-o", str(out)])
    assert res.exit_code == 2, res.output
    assert f"error: {p}: not a Python file: only .py files are run" in res.stderr
    assert "Traceback" not in res.output
    assert not marker.exists() and not out.exists()


def test_every_loader_that_runs_code_refuses_a_file_not_named_py(tmp_path: Path) -> None:
    from threatgraph.load import python, pytm_loader

    marker = tmp_path / "ran"
    p = tmp_path / "model.yaml"
    p.write_text(POLYGLOT % str(marker))
    for run in (python.compile_model, python.load, pytm_loader.load):
        with pytest.raises(InputError) as err:
            run(p)  # type: ignore[operator]
        (problem,) = err.value.problems
        assert problem.file == str(p) and "not a Python file" in problem.message
    assert not marker.exists()
