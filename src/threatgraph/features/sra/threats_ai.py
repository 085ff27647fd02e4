"""Section 3 of the risk analysis, first part: the AI-specific threats called out.

Each category lists its findings or, when none fired, how many rules looked and what the
model lacks for them to apply.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from threatgraph.engine.library import Library
from threatgraph.engine.rules import Rule
from threatgraph.features.sra.common import kinds_of
from threatgraph.graph import Graph


@dataclass(frozen=True)
class Category:
    """An AI-specific threat category and what puts a finding in it.

    ``refs``: references (scheme:id prefixes) of rules in it; ``families``: rule families in
    it; ``phi_only``: only findings that touch PHI count.
    """

    key: str
    title: str
    refs: tuple[str, ...]
    families: tuple[str, ...]
    phi_only: bool
    about: str


#: AI-specific threat categories the analysis calls out, each with the references and rule
#: families that put a finding in it. ``phi_only``: only findings that touch PHI count.
AI_CATEGORIES: tuple[Category, ...] = (
    Category(
        key="prompt-injection-phi",
        title="Prompt injection that can leak or alter PHI",
        refs=("owasp-llm:LLM01", "atlas:AML.T0051", "owasp-asi:ASI01"),
        families=("prompt-injection",),
        phi_only=True,
        about="Instructions hidden in user input or retrieved content steer a model that "
        "sees PHI into revealing it or acting on it.",
    ),
    Category(
        key="model-inversion",
        title="Model inversion",
        refs=("owasp-ml:ML03", "atlas:AML.T0024.001", "nist-aml:NISTAML.032"),
        families=(),
        phi_only=False,
        about="An attacker reconstructs training records (or features of them) from a "
        "model's outputs.",
    ),
    Category(
        key="membership-inference",
        title="Membership inference",
        refs=(
            "owasp-ml:ML04",
            "atlas:AML.T0024.000",
            "nist-aml:NISTAML.033",
        ),
        families=(),
        phi_only=False,
        about="An attacker learns whether a given patient's record was in the training set, "
        "which by itself can disclose a diagnosis.",
    ),
    Category(
        key="phi-disclosure",
        title="PHI disclosed through models (memorisation, retrieval, prompts)",
        refs=("atlas:AML.T0057", "atlas:AML.T0024"),
        families=("disclosure",),
        phi_only=True,
        about="A model repeats records it was trained on, retrieval hands it records the user "
        "may not see, or prompts carry more PHI than the task needs to someone who keeps it.",
    ),
    Category(
        key="poisoning",
        title="Data and model poisoning",
        refs=(
            "owasp-llm:LLM04",
            "owasp-ml:ML02",
            "owasp-ml:ML10",
            "atlas:AML.T0020",
            "atlas:AML.T0018",
            # NIST AI 100-2 E2025 ids of data, backdoor, targeted and model poisoning.
            "nist-aml:NISTAML.011",
            "nist-aml:NISTAML.012",
            "nist-aml:NISTAML.013",
            "nist-aml:NISTAML.021",
            "nist-aml:NISTAML.023",
            "nist-aml:NISTAML.024",
            "nist-aml:NISTAML.026",
            "nist-aml:NISTAML.051",
        ),
        families=("poisoning",),
        phi_only=False,
        about="Tampered training, fine-tuning or retrieval data changes what a model says or "
        "does, including clinical content.",
    ),
    Category(
        key="vendor",
        title="Vendors and business associates",
        refs=(),
        families=("vendor",),
        phi_only=False,
        about="Third parties that host models or receive PHI without the agreements, "
        "attestations and monitoring HIPAA expects.",
    ),
)


def _ref_matches(ref: str, prefixes: Iterable[str]) -> bool:
    base = ref.rpartition("@")[0] or ref
    return any(base == p or base.startswith(p + ".") for p in prefixes)


def categories(rule: Rule, phi: bool) -> list[str]:
    """Keys of the categories a finding of ``rule`` belongs to."""
    return [
        c.key
        for c in AI_CATEGORIES
        if (rule.family in c.families or any(_ref_matches(r, c.refs) for r in rule.references))
        and (phi or not c.phi_only)
    ]


@dataclass
class Callout:
    """An AI-specific threat category and the findings in it."""

    key: str
    title: str
    about: str
    findings: list[str]
    rules: list[str]  # library rules that can raise it
    note: str


def _absent_kinds(lib: Library, rule_ids: list[str], g: Graph) -> str:
    """Kinds that the given rules need and the model lacks, as text ('' when unknown)."""
    missing: set[str] = set()
    for rid in rule_ids:
        m = lib.rule(rid).rule.match
        pred = m.element or (m.path.to if m.path else None)
        if m.flow is not None:
            pred = m.flow.target if m.primary == "target" else m.flow.source
        kinds = kinds_of(pred)
        if kinds and not any(g.by_kind.get(k) for k in kinds):
            missing |= {k.value for k in kinds}
    return " or ".join(sorted(missing)) + (" element" if missing else "")


def build(lib: Library, g: Graph, by_category: dict[str, list[str]]) -> list[Callout]:
    """The call-outs, given the finding ids in each category."""
    callouts = []
    for c in AI_CATEGORIES:
        rules = sorted(
            lr.rule.id
            for lr in lib.active
            if lr.rule.family in c.families
            or any(_ref_matches(ref, c.refs) for ref in lr.rule.references)
        )
        found = sorted(by_category[c.key])
        if found:
            note = ""
        elif not rules:
            note = "No rule in the library addresses this category."
        else:
            absent = _absent_kinds(lib, rules, g)
            note = (
                f"{len(rules)} rule(s) evaluated; none matched this model"
                + (f" (it has no {absent})" if absent else "")
                + "."
            )
        callouts.append(Callout(c.key, c.title, c.about, found, rules, note))

    return callouts
