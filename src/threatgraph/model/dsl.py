"""The Python DSL: a builder that records where each thing was declared.

Example::

    from threatgraph import Model

    m = Model("Clinical notes assistant", owner="ml-platform@example.org")
    clinic = m.boundary("Clinic network", trust="internal")
    notes = m.data("Patient notes", classification="phi")
    app = m.app("Notes assistant", inside=clinic, controls=["authn.sso_mfa"])
    llm = m.llm("Hosted LLM", provider=m.vendor("Acme AI"))
    m.flow(app, llm, "prompt", data=[notes], protocol="https")
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from threatgraph.model.schema import (
    Authn,
    Boundary,
    ControlRef,
    DataAsset,
    Decision,
    Element,
    Flow,
    Location,
    ModelInfo,
    SystemModel,
)
from threatgraph.util.errors import InputError, Problem
from threatgraph.util.hints import choice_message, shown, suggest
from threatgraph.util.safetext import LONE_SURROGATE, lone_surrogate_in

_PKG_DIR = str(Path(__file__).resolve().parents[1])

# Models built while a model file runs are collected here (per thread) by the loader.
_collect = threading.local()


def start_collecting() -> list[Model]:
    """Collect every Model built on this thread from now on (the loader runs a model file)."""
    built: list[Model] = []
    _collect.models = built
    return built


def stop_collecting() -> None:
    """Stop collecting Models on this thread."""
    _collect.models = None


def _caller() -> Location:
    """The first stack frame outside the threatgraph package: the model file's line."""
    frame = sys._getframe(1)
    while frame is not None:
        filename = frame.f_code.co_filename
        if not filename.startswith(_PKG_DIR):
            return Location(file=filename, line=frame.f_lineno)
        frame = frame.f_back  # type: ignore[assignment]
    return Location(file="<unknown>", line=0)


@dataclass(frozen=True)
class Ref:
    """A handle to something declared in a Model; pass it to flows, boundaries, data lists."""

    id: str
    name: str
    what: str

    def __str__(self) -> str:
        return self.id


RefLike = Ref | str


class UnknownMethod(InputError, AttributeError):
    """A Model method that does not exist (``m.vectorstore(...)``), with the file and line.

    Also an AttributeError, so ``hasattr`` and ``getattr(m, name, default)`` keep working.
    """


def _ref(value: RefLike) -> str:
    return value.id if isinstance(value, Ref) else str(value)


def _refs(values: Iterable[RefLike] | RefLike | None) -> list[str]:
    if values is None:
        return []
    if isinstance(values, (Ref, str)):
        return [_ref(values)]
    return [_ref(v) for v in values]


def control(id: str, evidence: Sequence[str] | str = (), note: str | None = None) -> ControlRef:
    """A control citing evidence: ``control("crypto.tls", "infra/tls.tf")`` in ``controls=``."""
    ev = [evidence] if isinstance(evidence, str) else list(evidence)
    return ControlRef(id=id, evidence=ev, note=note, location=_caller())


class Model:
    """Builder for one AI system model. Call :meth:`build` (the loader does) for the result."""

    def __init__(
        self,
        name: str,
        *,
        id: str = "",
        owner: str | None = None,
        description: str | None = None,
        version: str | None = None,
        controls: Iterable[str | ControlRef] = (),
        operations: Mapping[str, Any] | None = None,
    ) -> None:
        self._location = loc = _caller()
        self._info: dict[str, Any] = {
            "name": name,
            "id": id,
            "owner": owner,
            "description": description,
            "version": version,
            "operations": dict(operations) if operations is not None else None,
            "controls": [
                c if isinstance(c, ControlRef) else {"id": c, "location": loc} for c in controls
            ],
        }
        self._boundaries: list[dict[str, Any]] = []
        self._data: list[dict[str, Any]] = []
        self._elements: list[dict[str, Any]] = []
        self._flows: list[dict[str, Any]] = []
        self._decisions: list[dict[str, Any]] = []
        # Misuse found while the model file runs, reported with build()'s other problems.
        self._problems: list[Problem] = []
        sink = getattr(_collect, "models", None)
        if sink is not None:
            sink.append(self)

    def __getattr__(self, name: str) -> Any:
        """Only for names Model lacks: say which methods exist, instead of a bare AttributeError."""
        if name.startswith("_"):  # copy, pickle and friends probe for these
            raise AttributeError(name)
        methods = sorted(n for n in dir(type(self)) if not n.startswith("_"))
        loc = _caller()
        raise UnknownMethod(
            [
                Problem(
                    loc.file,
                    loc.line,
                    f"Model has no method {shown(name)}{suggest(name, methods)}; "
                    f"its methods are {', '.join(methods)}",
                )
            ]
        )

    # -- declarations -------------------------------------------------------------------
    def _handle(self, kind: str, record: dict[str, Any]) -> Ref:
        from threatgraph.model.schema import slugify

        name = record["name"]
        # A name of the wrong type is reported by build() with its line; no slug for it here.
        rid = record.get("id") or (slugify(name) if isinstance(name, str) else "")
        return Ref(id=rid, name=name, what=kind)

    def boundary(
        self,
        name: str,
        *,
        trust: str,
        inside: RefLike | None = None,
        id: str = "",
        description: str | None = None,
    ) -> Ref:
        """A trust boundary; ``inside`` nests it in another boundary."""
        rec = {
            "id": id,
            "name": name,
            "trust": trust,
            "parent": _ref(inside) if inside else None,
            "description": description,
            "location": _caller(),
        }
        self._boundaries.append(rec)
        return self._handle("boundary", rec)

    def data(
        self,
        name: str,
        *,
        classification: str,
        id: str = "",
        description: str | None = None,
        carried_as: str | None = None,
        records: int | None = None,
    ) -> Ref:
        """A data asset with its classification (public, internal, confidential, pii, phi...);
        ``carried_as`` says where a secret travels (context, header, environment, vault);
        ``records`` how many individuals' records it covers."""
        rec = {
            "id": id,
            "name": name,
            "classification": classification,
            "description": description,
            "carried_as": carried_as,
            "records": records,
            "location": _caller(),
        }
        self._data.append(rec)
        return self._handle("data", rec)

    def element(
        self,
        kind: str,
        name: str,
        *,
        inside: RefLike | None = None,
        controls: Iterable[str | ControlRef] = (),
        stores: Iterable[RefLike] = (),
        processes: Iterable[RefLike] = (),
        trained_on: Iterable[RefLike] = (),
        provider: RefLike | None = None,
        id: str = "",
        **attrs: Any,
    ) -> Ref:
        """Any element kind; the kind-named methods (``m.llm(...)``) call this."""
        loc = _caller()
        if isinstance(attrs.get("oversees"), list):
            # oversees=[{"element": coder, "role": "approve"}]: the element may be a Ref.
            attrs["oversees"] = [
                {**o, "element": _ref(o["element"])}
                if isinstance(o, dict) and isinstance(o.get("element"), Ref)
                else o
                for o in attrs["oversees"]
            ]
        rec: dict[str, Any] = {
            "id": id,
            "name": name,
            "kind": kind,
            "boundary": _ref(inside) if inside is not None else None,
            "controls": [
                c if isinstance(c, ControlRef) else {"id": c, "location": loc} for c in controls
            ],
            "stores": _refs(stores),
            "processes": _refs(processes),
            "trained_on": _refs(trained_on),
            "provider": _ref(provider) if provider is not None else None,
            "location": loc,
            **attrs,
        }
        self._elements.append(rec)
        return self._handle(kind, rec)

    def actor(self, name: str, **kw: Any) -> Ref:
        """A person or organisation that uses the system."""
        return self.element("actor", name, **kw)

    def app(self, name: str, **kw: Any) -> Ref:
        """An application or service."""
        return self.element("app", name, **kw)

    def process(self, name: str, **kw: Any) -> Ref:
        """A process or job."""
        return self.element("process", name, **kw)

    def datastore(self, name: str, **kw: Any) -> Ref:
        """A database, bucket or file store."""
        return self.element("datastore", name, **kw)

    def llm(self, name: str, **kw: Any) -> Ref:
        """A large language model endpoint."""
        return self.element("llm", name, **kw)

    def ml_model(self, name: str, **kw: Any) -> Ref:
        """A predictive ML model (classifier, scorer, vision model...)."""
        return self.element("ml_model", name, **kw)

    def agent(self, name: str, **kw: Any) -> Ref:
        """An LLM agent that plans and calls tools."""
        return self.element("agent", name, **kw)

    def tool(self, name: str, **kw: Any) -> Ref:
        """A tool an agent can call (set ``mcp=True`` for an MCP server)."""
        return self.element("tool", name, **kw)

    def mcp_server(self, name: str, **kw: Any) -> Ref:
        """A tool served over the Model Context Protocol."""
        kw.setdefault("mcp", True)
        return self.element("tool", name, **kw)

    def vector_store(self, name: str, **kw: Any) -> Ref:
        """A vector/embedding store used for retrieval."""
        return self.element("vector_store", name, **kw)

    def memory(self, name: str, **kw: Any) -> Ref:
        """Agent or conversation memory."""
        return self.element("memory", name, **kw)

    def training_pipeline(self, name: str, **kw: Any) -> Ref:
        """A training or fine-tuning pipeline."""
        return self.element("training_pipeline", name, **kw)

    def dataset(self, name: str, **kw: Any) -> Ref:
        """A dataset (training, evaluation, labelling...)."""
        return self.element("dataset", name, **kw)

    def feature_store(self, name: str, **kw: Any) -> Ref:
        """A feature store."""
        return self.element("feature_store", name, **kw)

    def model_registry(self, name: str, **kw: Any) -> Ref:
        """A model registry or artifact store."""
        return self.element("model_registry", name, **kw)

    def guardrail(self, name: str, **kw: Any) -> Ref:
        """A guardrail or content filter in front of or behind a model."""
        return self.element("guardrail", name, **kw)

    def external_content(self, name: str, **kw: Any) -> Ref:
        """Content from outside: web pages, email, tickets, uploads (``content=...``)."""
        return self.element("external_content", name, **kw)

    def vendor(
        self,
        name: str,
        *,
        services: Sequence[str] = (),
        certifications: Iterable[dict[str, Any]] = (),
        baa: dict[str, Any] | bool | None = None,
        clauses: Sequence[str] = (),
        breach_notification_days: int | None = None,
        trains_on_customer_data: bool | None = None,
        last_assessment: date | str | None = None,
        review_interval_days: int = 365,
        subprocessors: Iterable[RefLike] = (),
        verification: dict[str, Any] | None = None,
        contingency_notice_hours: int | None = None,
        none: Sequence[str] = (),
        **kw: Any,
    ) -> Ref:
        """A third-party vendor and what is known of it (certifications, BAA, contract).

        An argument left out is unknown; ``baa=False`` (or ``none=["baa"]``) records that the
        vendor signs no BAA.
        """
        absent = list(none)
        if baa is True:
            baa = {}
        elif baa is False:
            baa = None
            if "baa" not in absent:
                absent.append("baa")
        profile = {
            "services": list(services),
            "certifications": list(certifications),
            "baa": baa,
            "clauses": list(clauses),
            "breach_notification_days": breach_notification_days,
            "trains_on_customer_data": trains_on_customer_data,
            "last_assessment": last_assessment,
            "review_interval_days": review_interval_days,
            "subprocessors": _refs(subprocessors),
            "verification": verification,
            "contingency_notice_hours": contingency_notice_hours,
            "none": absent,
        }
        return self.element("vendor", name, vendor=profile, **kw)

    def flow(
        self,
        source: RefLike,
        target: RefLike,
        name: str = "",
        *,
        data: Iterable[RefLike] = (),
        protocol: str | None = None,
        operation: str | None = None,
        encrypted: bool | None = None,
        authenticated: Authn | bool | None = None,
        controls: Iterable[str | ControlRef] = (),
        id: str = "",
        description: str | None = None,
        physical: bool | None = None,
    ) -> Ref:
        """A data flow from ``source`` to ``target`` carrying ``data``.

        ``operation`` says what the flow does to its target (read, write, call, response,
        event); rules use it, e.g. a response to our own request is not an inbound call.
        ``physical=True``: a capture in the room (speech to a microphone), not a network flow.
        ``authenticated`` says whose credential authenticates it: ``"user"`` (a person's
        sign-in or session, also passed on by an app), ``"service"`` (the calling program's
        own identity), ``"both"`` or ``"none"``.
        """
        loc = _caller()
        rec = {
            "id": id,
            "name": name,
            "from": _ref(source),
            "to": _ref(target),
            "data": _refs(data),
            "protocol": protocol,
            "operation": operation,
            "encrypted": encrypted,
            "authenticated": authenticated,
            "controls": [
                c if isinstance(c, ControlRef) else {"id": c, "location": loc} for c in controls
            ],
            "description": description,
            "physical": physical,
            "location": loc,
        }
        self._flows.append(rec)
        return Ref(id=id or f"{_ref(source)}->{_ref(target)}", name=name, what="flow")

    def accept(
        self,
        finding: str,
        *,
        reason: str | None = None,
        owner: str | None = None,
        expires: date | str | None = None,
        ticket: str | None = None,
        decided: date | str | None = None,
    ) -> None:
        """Accept the risk of a finding until ``expires``.

        ``reason``, ``owner`` and ``expires`` are required; they default to None only so
        that a missing one is reported with the file and line (and all of them at once),
        rather than as Python's TypeError.
        """
        given = {"reason": reason, "owner": owner, "expires": expires}
        missing = [k for k, v in given.items() if v is None]
        if missing:
            loc = _caller()
            self._problems.append(
                Problem(
                    loc.file,
                    loc.line,
                    f"m.accept({shown(str(finding))}) is missing "
                    f"{' and '.join(k + '=' for k in missing)}: an accepted risk needs a "
                    "reason, an owner who answers for it and an expiry date "
                    "(expires='YYYY-MM-DD') after which it is reviewed again",
                )
            )
            return
        self._decisions.append(
            {
                "finding": finding,
                "status": "accepted",
                "reason": reason,
                "owner": owner,
                "expires": expires,
                "ticket": ticket,
                "date": decided,
                "location": _caller(),
            }
        )

    def false_positive(self, finding: str, *, reason: str, owner: str | None = None) -> None:
        """Mark a finding as a false positive, with the reason."""
        self._decisions.append(
            {
                "finding": finding,
                "status": "false_positive",
                "reason": reason,
                "owner": owner,
                "location": _caller(),
            }
        )

    def mitigated(
        self, finding: str, *, reason: str, evidence: Sequence[str], owner: str | None = None
    ) -> None:
        """Record that a finding is mitigated by something the model cannot express."""
        self._decisions.append(
            {
                "finding": finding,
                "status": "mitigated",
                "reason": reason,
                "evidence": list(evidence),
                "owner": owner,
                "location": _caller(),
            }
        )

    # -- result -------------------------------------------------------------------------
    def build(self) -> SystemModel:
        """The validated SystemModel (ids assigned later by ``finalize``)."""
        problems: list[Problem] = list(self._problems)

        def make(cls: type[Any], rec: dict[str, Any]) -> Any:
            loc: Location = rec["location"]
            if cls is ModelInfo:
                rec = {k: v for k, v in rec.items() if k != "location"}
            # A Python str can hold what no file can: a lone surrogate is not text, and
            # every report, terminal and file encoding would fail on it later.
            bad = lone_surrogate_in({k: v for k, v in rec.items() if k != "location"})
            if bad is not None:
                problems.append(Problem(loc.file, loc.line, LONE_SURROGATE, bad or None))
                return None
            try:
                return cls.model_validate(rec)
            except ValidationError as exc:
                for e in exc.errors():
                    field = ".".join(str(p) for p in e["loc"]) or None
                    msg = choice_message(e) or e["msg"]
                    if e["type"] == "extra_forbidden" and len(e["loc"]) == 1:
                        name = str(e["loc"][0])
                        msg = f"unknown argument {name!r}{suggest(name, cls.model_fields)}"
                    problems.append(Problem(loc.file, loc.line, msg, field))
                return None

        boundaries = [make(Boundary, r) for r in self._boundaries]
        data = [make(DataAsset, r) for r in self._data]
        elements = [make(Element, r) for r in self._elements]
        flows = [make(Flow, r) for r in self._flows]
        decisions = [make(Decision, r) for r in self._decisions]
        info = make(ModelInfo, {**self._info, "location": self._location})

        if problems:
            raise InputError(problems)
        return SystemModel(
            model=info,
            boundaries=boundaries,
            data=data,
            elements=elements,
            flows=flows,
            decisions=decisions,
            location=self._location,
        )
