"""Fixed wording shared by the Markdown and HTML renderings of the risk analysis."""

from __future__ import annotations

METHOD = (
    "Method: the system is described as a threat model (components, trust boundaries, data "
    "with its classification, flows, vendors and declared controls). threatgraph matched that "
    "model against its versioned library of AI and classic threats; each match is a finding "
    "with the controls that would mitigate it, marked present or missing where the model "
    "declares them. Dates (certificate expiry, BAA terms, vendor reviews, risk acceptances) "
    "are evaluated as of the analysis date. Likelihood and impact are rated per finding from "
    "the model, with the reason for each, as section 4 explains."
)

LIMITATIONS = (
    "This analysis covers what the threat model describes, as of the analysis date. It cannot "
    "see components, data flows or vendors the model leaves out, and it takes declared controls "
    "at their word: a control counts as present when the model declares it, and evidence is "
    "listed as cited, not verified here (threatgraph check verifies cited repository paths). "
    "The library's rules are a catalogue of known threats, not a proof that no other threat "
    "exists. The analysis supports, but does not replace, the organisation's judgement and its "
    "enterprise-wide risk analysis; producing it does not by itself make the system compliant "
    "with HIPAA. Re-run it whenever the model changes and at least by the next review date."
)

STATUS_TEXT = {
    "open": "open",
    "mitigated": "mitigated",
    "accepted": "accepted",
    "false_positive": "false positive",
}

EDITION_TEXT = {
    "2013": "45 CFR Part 164 Subpart C as in force (2013): specifications are required or "
    "addressable",
    "2025-proposed": "as HHS proposed to amend it (notice of proposed rulemaking, January 2025; "
    "a proposal, not law): no specification is addressable; multi-factor authentication and "
    "encryption are required; systems and data are restored within 72 hours; a compliance "
    "audit every 12 months; a technology asset inventory and network map; vulnerability scans "
    "every six months and a penetration test every year",
}

MATRIX_TEXT = (
    "Status: gap, an open critical or high finding of a rule citing the section (whatever the "
    "model declares); evidenced, a control that bears on it is declared with evidence and no "
    "finding citing it is open; declared, a control bears on it without evidence or with "
    "lower findings open (encryption in transit counts when a flow's protocol is encrypted); "
    "none, nothing in the model addresses it, which may be right for a standard met outside "
    "this system (facility access at a cloud provider, a sanction policy): say so in the "
    "sign-off. Standards are in bold; specifications are marked required or addressable."
)

RETENTION_TEXT = (
    "Keep this document, its exports and its sign-off until {until}: six years from its date "
    "or from when it was last in effect, whichever is later (45 CFR 164.316(b)(2)(i)). It is "
    "reproducible byte for byte from the model commit, the threat library and the register "
    "file it names."
)


def yes_no(value: bool) -> str:
    """'yes' or 'no'."""
    return "yes" if value else "no"
