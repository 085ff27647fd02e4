"""Whose credential authenticates a flow (``authenticated: user | service | both | none``).

A person's sign-in or session (``user``) tells the server which person asks; the calling
program's own identity (``service``) tells it which program asks. The rules about people's
accounts follow people's requests through front ends and gateways that pass the session on,
and stop where a program proves its own identity; v1's booleans keep loading.
"""

from __future__ import annotations

import copy
import json
import textwrap
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from threatgraph.cli import cli
from threatgraph.engine.evaluate import evaluate
from threatgraph.engine.library import Library, load_library
from threatgraph.engine.rules import FlowPred
from threatgraph.graph import build, to_networkx
from threatgraph.interop.modelyaml import model_data
from threatgraph.load.declarative import parse_model
from threatgraph.load.registry import load_paths
from threatgraph.model.schema import Flow, SystemModel, slugify
from threatgraph.model.validate import finalize
from threatgraph.util.errors import InputError

ROOT = Path(__file__).resolve().parents[1]
RULES = ROOT / "threats" / "rules"
DAY = date(2026, 12, 1)
Doc = dict[str, Any]


@pytest.fixture(scope="module")
def lib() -> Library:
    return load_library()


def _model(doc: Doc) -> SystemModel:
    return finalize(parse_model(copy.deepcopy(doc), "<test>"))


def _findings(doc: Doc, lib: Library, prefix: str = "") -> set[tuple[str, str]]:
    return {
        (f.rule.id, f.element)
        for f in evaluate(build(_model(doc)), lib, DAY)
        if f.rule.id.startswith(prefix)
    }


def _shop(forward: object = None, own: object = None) -> Doc:
    """TG-SEC-011's shop: a shopper asks a web front end, which asks the support chat that
    reads their orders; ``own`` marks the shopper's flow, ``forward`` the front end's."""
    doc: Doc = yaml.safe_load((RULES / "security/TG-SEC-011/positive-front-app.yaml").read_text())
    for f, mark in zip(doc["flows"], (own, forward), strict=False):
        if mark is not None:
            f["authenticated"] = mark
    return doc


# -- the field --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("declared", "protocol", "controls", "whose"),
    [
        (None, "https", [], "none"),
        (None, "mtls", [], "service"),
        (None, "https", ["authn.service_identity"], "service"),
        (None, "https", ["crypto.mtls"], "service"),
        (None, "https", ["authn.user_identity_propagation"], "user"),
        ("user", "https", [], "user"),
        ("user", "mtls", [], "both"),
        ("service", "https", ["authn.user_identity_propagation"], "both"),
        ("both", "https", [], "both"),
        ("none", "mtls", ["authn.service_identity"], "none"),
        (False, "mtls", [], "none"),
        (True, "https", [], "service"),  # a bare v1 true not read by its ends: v1's meaning
    ],
)
def test_whose_credential_from_the_field_protocol_and_controls(
    declared: object, protocol: str, controls: list[str], whose: str
) -> None:
    rec: Doc = {"from": "a", "to": "b", "protocol": protocol, "controls": controls}
    if declared is not None:
        rec["authenticated"] = declared
    fl = Flow.model_validate(rec)
    assert fl.authn == whose
    assert fl.is_authenticated is (whose != "none")


def _load(tmp_path: Path, flows: str) -> SystemModel:
    p = tmp_path / "m.yaml"
    p.write_text(
        textwrap.dedent(
            """\
            threatgraph: 1
            model: {name: M}
            elements:
              - {kind: actor, name: Person}
              - {kind: app, name: Front}
              - {kind: app, name: Back}
            flows:
            """
        )
        + textwrap.dedent(flows)
    )
    (lm,) = load_paths([p])
    return lm.model


def test_v1_booleans_are_read_by_the_flow_ends(tmp_path: Path) -> None:
    m = _load(
        tmp_path,
        """\
          - {from: person, to: front, name: sign in, authenticated: true}
          - {from: front, to: back, name: forward, authenticated: true}
          - {from: back, to: front, name: push, authenticated: false}
        """,
    )
    assert [f.authenticated for f in m.flows] == ["user", "service", "none"]
    # Only the guess between programs is worth a word: a person's sign-in is unambiguous.
    (note,) = m.notes
    assert note.location is not None and note.location.line == 9
    assert "'authenticated: service'" in note.message and "'user'" in note.message


def test_typed_values_load_without_notes(tmp_path: Path) -> None:
    m = _load(
        tmp_path,
        """\
          - {from: person, to: front, name: sign in, authenticated: user}
          - {from: front, to: back, name: forward, authenticated: both}
        """,
    )
    assert [f.authenticated for f in m.flows] == ["user", "both"]
    assert m.notes == []


def test_an_unknown_value_is_an_input_error_with_file_and_line(tmp_path: Path) -> None:
    with pytest.raises(InputError) as err:
        _load(tmp_path, "  - {from: person, to: front, name: sign in, authenticated: session}\n")
    (problem,) = err.value.problems
    assert problem.file.endswith("m.yaml") and problem.line == 8
    out = tmp_path / "out.json"
    res = CliRunner().invoke(
        cli, ["check", str(tmp_path / "m.yaml"), "--format", "json", "-o", str(out)]
    )
    assert res.exit_code == 2, res.output
    assert "m.yaml:8" in res.output and "Traceback" not in res.output
    assert not out.exists()


# -- the graph --------------------------------------------------------------------------------


def test_a_drawn_answer_is_authenticated_on_each_side_as_its_request() -> None:
    doc = _shop(forward="user", own="user")
    doc["flows"][1].pop("operation")
    doc["flows"].insert(2, {"from": "support-chat", "to": "web-front-end", "name": "answer"})
    g = build(_model(doc))
    fwd, answer = (
        g.ix.fpos["web-front-end--support-chat--forward-question"],
        g.ix.fpos["support-chat--web-front-end--answer"],
    )
    assert {fwd, answer} <= g.flow_flags["authenticated_user"]
    assert not {fwd, answer} & g.flow_flags["authenticated_service"]
    edges = {k: d for _, _, k, d in to_networkx(g).edges(keys=True, data=True)}
    assert edges["support-chat--web-front-end--answer"]["authenticated_as"] == "user"
    assert edges["support-chat--orders--look-up"]["authenticated_as"] == "none"
    assert edges["support-chat--orders--look-up"]["authenticated"] is False


def test_graphml_export_writes_whose_credential(tmp_path: Path) -> None:
    p = tmp_path / "shop.yaml"
    p.write_text(yaml.safe_dump(_shop(forward="both", own="user")))
    out = tmp_path / "shop.graphml"
    res = CliRunner().invoke(cli, ["export", "graphml", str(p), "-o", str(out)])
    assert res.exit_code == 0, res.output
    text = out.read_text()
    assert 'attr.name="authenticated_as"' in text
    assert ">both<" in text and ">user<" in text


def test_the_flow_predicate_asks_either_side() -> None:
    assert FlowPred.model_validate({"authenticated": False}).authenticated is False
    p = FlowPred.model_validate({"authenticated": {"service": False}}).authenticated
    assert not isinstance(p, bool) and p is not None and p.service is False and p.user is None
    with pytest.raises(ValueError, match="program"):
        FlowPred.model_validate({"authenticated": {"program": False}})


# -- the rules --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("own", "forward", "chat"),
    [
        # v1's true on a person's own flow is their sign-in: it is what account takeover attacks.
        (True, None, True),
        ("user", "user", True),
        # A program proving its own identity ends the chain: the chat's caller is a program.
        ("user", "service", False),
        ("user", "both", False),
        (None, "mtls", False),
    ],
)
def test_account_takeover_follows_sessions_not_program_identities(
    own: object, forward: object, chat: bool, lib: Library
) -> None:
    doc = _shop(own=own)
    if forward == "mtls":
        doc["flows"][1]["protocol"] = "mtls"
    elif forward is not None:
        doc["flows"][1]["authenticated"] = forward
    found = _findings(doc, lib, "TG-SEC-011")
    assert ("TG-SEC-011", "web-front-end") in found
    assert (("TG-SEC-011", "support-chat") in found) is chat


_ACTIVE = {"app", "process", "agent", "llm", "tool", "guardrail"}


def _signed_in(doc: Doc) -> Doc:
    """Every flow a person sends marked as their sign-in."""
    out = copy.deepcopy(doc)
    kinds = {e.get("id") or slugify(e["name"]): e["kind"] for e in out["elements"]}
    for f in out["flows"]:
        if kinds.get(f["from"]) == "actor":
            f["authenticated"] = "user"
    return out


def _through_gateway(doc: Doc, pick: Callable[[int], bool]) -> tuple[Doc, int]:
    """A gateway process put into the picked calls a person makes to a component, in the
    component's zone; both halves keep the flow's facts (its session among them)."""
    out = copy.deepcopy(doc)
    els = {e.get("id") or slugify(e["name"]): e for e in out["elements"]}
    flows: list[Doc] = []
    n = 0
    for i, f in enumerate(out.get("flows", [])):
        src, dst = els.get(f["from"]), els.get(f["to"])
        if not (
            src
            and dst
            and src["kind"] == "actor"
            and dst["kind"] in _ACTIVE
            and f.get("operation") == "call"
            and pick(i)
        ):
            flows.append(f)
            continue
        gid = f"gateway-{i}"
        gateway: Doc = {"kind": "process", "name": f"Gateway {i}", "id": gid}
        if dst.get("boundary"):
            gateway["boundary"] = dst["boundary"]
        out["elements"].append(gateway)
        flows += [{**f, "to": gid}, {**f, "from": gid}]
        n += 1
    out["flows"] = flows
    return out, n


def _people_calling() -> list[Path]:
    out = []
    for p in sorted(RULES.glob("*/*/*.yaml")):
        if p.name in ("rule.yaml", "expected.yaml"):
            continue
        doc = yaml.safe_load(p.read_text())
        if _through_gateway(doc, lambda _: True)[1]:
            out.append(p)
    return out


PEOPLE_CALLING = _people_calling()


def test_there_are_fixtures_where_people_call_a_component() -> None:
    assert len(PEOPLE_CALLING) >= 50


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_a_signed_in_request_through_a_gateway_gets_the_same_security_findings(
    data: st.DataObject, lib: Library
) -> None:
    path = data.draw(st.sampled_from(PEOPLE_CALLING))
    doc = _signed_in(yaml.safe_load(path.read_text()))
    picked = data.draw(st.sets(st.integers(0, len(doc["flows"]) - 1), min_size=1))
    redrawn, n = _through_gateway(doc, picked.__contains__)
    before = _findings(doc, lib, "TG-SEC-")
    after = {x for x in _findings(redrawn, lib, "TG-SEC-") if not x[1].startswith("gateway-")}
    assert before == after, (path.name, n)


# -- interop ----------------------------------------------------------------------------------


def test_yaml_round_trip_keeps_whose_credential() -> None:
    m = _model(_shop(forward="both", own="user"))
    back = _model(model_data(m))
    assert [f.authenticated for f in back.flows] == ["user", "both", None]


def test_otm_round_trip_keeps_whose_credential(tmp_path: Path) -> None:
    p = tmp_path / "shop.yaml"
    p.write_text(yaml.safe_dump(_shop(forward="both", own="user")))
    out = tmp_path / "shop.otm.json"
    res = CliRunner().invoke(cli, ["export", "otm", str(p), "-o", str(out), "--no-threats"])
    assert res.exit_code == 0, res.output
    flows = json.loads(out.read_text())["dataflows"]
    assert sorted(str(f["attributes"]["x-threatgraph"].get("authenticated")) for f in flows) == [
        "None",
        "both",
        "user",
    ]
    (back,) = load_paths([out])
    assert [f.authenticated for f in back.model.flows] == ["user", "both", None]


def test_pytm_import_reads_authenticates_source_as_the_requesters_own(tmp_path: Path) -> None:
    p = tmp_path / "tm.py"
    p.write_text(
        textwrap.dedent(
            """\
            from pytm import TM, Actor, Process, Server, Dataflow
            tm = TM("Sign-in")
            user = Actor("User")
            web = Server("Web")
            api = Process("API")
            a = Dataflow(user, web, "sign in")
            a.controls.authenticatesSource = True
            b = Dataflow(web, api, "forward")
            b.controls.authenticatesSource = True
            c = Dataflow(api, web, "answer")
            c.isResponse = True
            c.controls.authenticatesSource = True
            d = Dataflow(web, user, "page")
            d.isResponse = True
            d.controls.authenticatesSource = True
            """
        )
    )
    (lm,) = load_paths([p])
    # A response's credential is its requester's: the web server's for the answer, the
    # user's for the page.
    assert [f.authenticated for f in lm.model.flows] == ["user", "service", "service", "user"]
    assert lm.model.notes == []


def test_pytm_export_says_whether_the_source_proves_who_it_is() -> None:
    from threatgraph.interop.pytm_threats import rebuild
    from threatgraph.load.pytm_loader import LOCK

    models = [_model(_shop(own="user", forward=fwd)) for fwd in ("user", "service")]
    got: dict[tuple[int, str], bool] = {}
    with LOCK:
        for i, m in enumerate(models):
            src = rebuild(m, build(m))
            for obj in src.objects:
                fl = src.targets.get(id(obj))
                if isinstance(fl, Flow):
                    got[(i, fl.id)] = obj.controls.authenticatesSource
    # The shopper signs in; the front end passing the session on does not prove who it is.
    assert got[(0, "shopper--web-front-end--question")] is True
    assert got[(0, "web-front-end--support-chat--forward-question")] is False
    assert got[(1, "web-front-end--support-chat--forward-question")] is True
    assert got[(0, "support-chat--orders--look-up")] is False


def test_a_finding_says_whose_credential_its_flow_carries(lib: Library) -> None:
    doc = yaml.safe_load((RULES / "security/TG-SEC-003/positive-user-session.yaml").read_text())
    (f,) = [f for f in evaluate(build(_model(doc)), lib, DAY) if f.rule.id == "TG-SEC-003"]
    assert "authenticated by a person's sign-in only" in f.explanation
